/* conclavectl: the command line of conclaved, one subcommand per corosync
 * tool: cmap (corosync-cmapctl), quorum (corosync-quorumtool), cpg
 * (corosync-cpgtool) and cfg (corosync-cfgtool), each with its tool's
 * output. See conclavectl(8). This file holds main and what the subcommands
 * share. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "conclavectl.h"
#include "cv-wire.h"

static const struct conclavectl_command *const COMMANDS[] = {
	&conclavectl_cmap_command, &conclavectl_quorum_command, &conclavectl_cpg_command,
	&conclavectl_cfg_command,  &conclavectl_call_command,   &conclavectl_monitor_command,
};

#define N_COMMANDS (sizeof(COMMANDS) / sizeof(COMMANDS[0]))

static const char GENERAL_USAGE[] = "       conclavectl --version\n"
				    "       conclavectl --help\n"
				    "Run conclavectl COMMAND --help for one command's options.\n";

static void print_all_usages(FILE *out)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		fputs(COMMANDS[i]->usage, out);
	fputs(GENERAL_USAGE, out);
}

int conclavectl_usage_error(const struct conclavectl_command *command, const char *why)
{
	if (why != NULL)
		fprintf(stderr, "conclavectl: %s\n", why);
	fputs(command->usage, stderr);
	return command->usage_status;
}

bool conclavectl_help_asked(const struct conclavectl_command *command, int argc, char **argv)
{
	if (argc != 1 || (strcmp(argv[0], "--help") != 0 && strcmp(argv[0], "-h") != 0))
		return false;
	fputs(command->usage, stdout);
	return true;
}

const char *conclavectl_error_text(cs_error_t err)
{
	switch (err) {
	case CS_ERR_LIBRARY:
		return "cannot reach conclaved";
	case CS_ERR_NOT_SUPPORTED:
		return "conclaved does not offer it";
	case CS_ERR_ACCESS:
		return "conclaved refuses this user";
	case CS_ERR_TRY_AGAIN:
		return "conclaved has too many connections; try again";
	default:
		return "failed";
	}
}

int conclavectl_cannot_connect(const char *service, cs_error_t err)
{
	const char *from_env = getenv(CV_SOCKET_ENV);

	fprintf(stderr, "conclavectl: cannot connect to the %s service: %s (%s)\n", service,
		conclavectl_error_text(err), cs_strerror(err));
	if (from_env != NULL && from_env[0] != '\0')
		fprintf(stderr, "conclavectl: the socket is %s, from %s\n", from_env, CV_SOCKET_ENV);
	else
		fprintf(stderr, "conclavectl: the socket is %s, the default (%s is not set)\n",
			CV_DEFAULT_SOCKET_PATH, CV_SOCKET_ENV);
	return CONCLAVECTL_EXIT_NO_SERVICE;
}

void conclavectl_print_escaped(FILE *out, const void *bytes, size_t len)
{
	const unsigned char *p = bytes;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\\')
			fputs("\\\\", out);
		else if (p[i] >= ' ' && p[i] < 0x7f)
			fputc(p[i], out);
		else
			fprintf(out, "\\x%02X", p[i]);
	}
}

void conclavectl_node_sockaddr(const corosync_cfg_node_address_t *addr, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, addr->address, sizeof(addr->address));
}

static bool format_address(const corosync_cfg_node_address_t *addr, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	const void *in;

	conclavectl_node_sockaddr(addr, &ss);
	if (ss.ss_family == AF_INET6)
		in = &((const struct sockaddr_in6 *)&ss)->sin6_addr;
	else if (ss.ss_family == AF_INET)
		in = &((const struct sockaddr_in *)&ss)->sin_addr;
	else
		return false;
	return inet_ntop(ss.ss_family, in, buf, (socklen_t)size) != NULL;
}

bool conclavectl_node_addresses(corosync_cfg_handle_t cfg, unsigned int nodeid, char *buf, size_t size)
{
	corosync_cfg_node_address_t addrs[CFG_MAX_LINKS];
	size_t used = 0;
	int n = 0;

	buf[0] = '\0';
	if (corosync_cfg_get_node_addrs(cfg, nodeid, CFG_MAX_LINKS, &n, addrs) != CS_OK)
		return false;
	for (int i = 0; i < n && i < CFG_MAX_LINKS; i++) {
		char text[INET6_ADDRSTRLEN];

		if (!format_address(&addrs[i], text, sizeof(text)))
			continue;
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i != 0 ? " " : "", text);
		if (used >= size)
			break;
	}
	return true;
}

bool conclavectl_parse_number(const char *text, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (end == text || *end != '\0' || errno != 0 || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool conclavectl_key_index(const char *key, const char *prefix, unsigned int *index, const char **rest)
{
	size_t n = strlen(prefix);
	const char *digits = key + n;
	char *end;
	unsigned long v;

	if (strncmp(key, prefix, n) != 0 || *digits < '0' || *digits > '9')
		return false;
	errno = 0;
	v = strtoul(digits, &end, 10);
	if (errno != 0 || v > UINT_MAX || *end != '.')
		return false;
	*index = (unsigned int)v;
	*rest = end + 1;
	return true;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool conclavectl_parse_escaped(const char *text, uint8_t *out, size_t *len)
{
	size_t n = 0;

	for (const char *p = text; *p != '\0'; n++) {
		if (p[0] != '\\') {
			out[n] = (uint8_t)*p++;
		} else if (p[1] == '\\') {
			out[n] = '\\';
			p += 2;
		} else if (p[1] == 'x' && hex_digit(p[2]) >= 0 && hex_digit(p[3]) >= 0) {
			out[n] = (uint8_t)(hex_digit(p[2]) * 16 + hex_digit(p[3]));
			p += 4;
		} else {
			return false;
		}
	}
	*len = n;
	return true;
}

int conclavectl_stop_signals_fd(void)
{
	sigset_t signals;

	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &signals, NULL) != 0)
		return -1;
	return signalfd(-1, &signals, SFD_CLOEXEC);
}

static int run_bare(void)
{
	fprintf(stderr, "conclavectl: a command is needed:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fputs(COMMANDS[i]->usage, stderr);
	fputs(GENERAL_USAGE, stderr);
	return CONCLAVECTL_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return run_bare();
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		print_all_usages(stdout);
		return CONCLAVECTL_EXIT_OK;
	}
	if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("conclavectl (Conclave) %s, corosync %s API\n", CONCLAVE_VERSION,
		       CONCLAVE_API_VERSION);
		return CONCLAVECTL_EXIT_OK;
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[1], COMMANDS[i]->name) != 0)
			continue;
		if (conclavectl_help_asked(COMMANDS[i], argc - 2, argv + 2))
			return CONCLAVECTL_EXIT_OK;
		return COMMANDS[i]->run(argc - 2, argv + 2);
	}
	fprintf(stderr, "conclavectl: unknown command '%s'\n", argv[1]);
	print_all_usages(stderr);
	return CONCLAVECTL_EXIT_USAGE;
}
