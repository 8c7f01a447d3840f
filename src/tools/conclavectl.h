/* What conclavectl's subcommands share. Each subcommand lives in a file of
 * its own (conclavectl-NAME.c) and is run with the arguments after its name. */
#ifndef CONCLAVE_CONCLAVECTL_H
#define CONCLAVE_CONCLAVECTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <corosync/cfg.h>
#include <corosync/corotypes.h>

/* Exit statuses; conclavectl(8) documents them. The quorum subcommand also
 * exits 2 for "not quorate", as corosync-quorumtool does. */
enum {
	CONCLAVECTL_EXIT_OK = 0,
	CONCLAVECTL_EXIT_FAILED = 1,     /* the daemon refused or failed the operation */
	CONCLAVECTL_EXIT_USAGE = 2,      /* bad command line or value */
	CONCLAVECTL_EXIT_NO_SERVICE = 3, /* conclaved cannot be reached or lacks the service */
};

struct conclavectl_command {
	const char *name;
	const char *usage; /* "usage: conclavectl NAME ..." lines */
	int usage_status;  /* the exit status of a usage error */
	int (*run)(int argc, char **argv);
};

extern const struct conclavectl_command conclavectl_cmap_command;
extern const struct conclavectl_command conclavectl_quorum_command;
extern const struct conclavectl_command conclavectl_cpg_command;
extern const struct conclavectl_command conclavectl_cfg_command;
extern const struct conclavectl_command conclavectl_call_command;
extern const struct conclavectl_command conclavectl_monitor_command;

/* Prints why (when not NULL) and the command's usage on stderr; returns the
 * command's usage_status. */
int conclavectl_usage_error(const struct conclavectl_command *command, const char *why);

/* --help or -h as the only argument: prints the usage on stdout. */
bool conclavectl_help_asked(const struct conclavectl_command *command, int argc, char **argv);

/* A few words on what err means for a connection or a call. */
const char *conclavectl_error_text(cs_error_t err);

/* Reports a failed connection to a service, with the socket the libraries
 * looked for and whether CONCLAVE_SOCKET named it; returns EXIT_NO_SERVICE. */
int conclavectl_cannot_connect(const char *service, cs_error_t err);

/* Bytes as corosync-cmapctl -b and corosync-cpgtool print them: printable
 * ASCII as it is, a backslash as "\\", anything else as "\xHH". */
void conclavectl_print_escaped(FILE *out, const void *bytes, size_t len);

/* The escapes conclavectl_print_escaped writes, "\\" and "\xHH", read back
 * into out (room for strlen(text) bytes); false for another escape. */
bool conclavectl_parse_escaped(const char *text, uint8_t *out, size_t *len);

/* The address of a corosync_cfg_node_address_t, whose bytes are not
 * aligned for a struct sockaddr. */
struct sockaddr_storage;
void conclavectl_node_sockaddr(const corosync_cfg_node_address_t *addr, struct sockaddr_storage *ss);

/* A node's addresses as corosync-cfgtool -a prints them, separated by
 * spaces, into buf; false (buf empty) when the daemon knows none. */
bool conclavectl_node_addresses(corosync_cfg_handle_t cfg, unsigned int nodeid, char *buf, size_t size);

/* Blocks SIGINT and SIGTERM and returns a signalfd that reads them, or -1. */
int conclavectl_stop_signals_fd(void);

/* Parses a whole decimal number in [min, max], as corosync's tools do. */
bool conclavectl_parse_number(const char *text, long long min, long long max, long long *out);

/* For a cmap key PREFIX<number>.<rest> (nodelist.node.3.nodeid, say), the
 * number and where the rest starts; false for any other key. */
bool conclavectl_key_index(const char *key, const char *prefix, unsigned int *index, const char **rest);

#endif
