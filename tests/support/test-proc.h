/* A process as tests measure it. */
#ifndef CONCLAVE_TEST_PROC_H
#define CONCLAVE_TEST_PROC_H

#include <sys/types.h>

/* The resident set of process pid, in KiB; -1 when it cannot be read. */
long process_rss_kb(pid_t pid);

#endif
