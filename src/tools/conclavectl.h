/* What conclavectl's subcommands in other files share with its main. */
#ifndef CONCLAVE_CONCLAVECTL_H
#define CONCLAVE_CONCLAVECTL_H

enum {
	CONCLAVECTL_EXIT_OK = 0,
	CONCLAVECTL_EXIT_FAILED = 1,
	CONCLAVECTL_EXIT_USAGE = 2,
	CONCLAVECTL_EXIT_NO_SERVICE = 3,
};

/* Prints why (when not NULL) and the usage on stderr; EXIT_USAGE. */
int conclavectl_usage_error(const char *why);

/* conclavectl cpg: argv holds the arguments after "cpg". */
int conclavectl_cpg(int argc, char **argv);

#endif
