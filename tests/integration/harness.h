/* What integration tests share besides the daemon (test-daemon.h): a
 * single-node configuration, and client processes driven over pipes. */
#ifndef CONCLAVE_TEST_HARNESS_H
#define CONCLAVE_TEST_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "test-daemon.h"

/* A single node (nodeid 1, 127.0.0.1) with the votequorum provider. */
extern const char SINGLE_NODE_CONFIG[];
/* Node 1 (1 vote, this one) of three; node 2 (2 votes) and node 3 (1 vote)
 * are not running: 1 of 4 expected votes, inquorate. */
extern const char INQUORATE_THREE_NODE_CONFIG[];

/* A client process of a test, driven over two pipes. */
struct test_child {
	pid_t pid;
	int to_child;   /* the test's commands */
	int from_child; /* the child's reports */
};

/* Forks a child that runs run(arg, commands fd, reports fd), which must not
 * return, and waits for the child's first report byte, which must be
 * `ready`. Returns 0, or -1 after printing why. */
int test_child_start(struct test_child *c, void (*run)(const char *arg, int commands, int reports),
		     const char *arg, char ready);

/* Waits up to timeout_ms for fd to become readable; returns true if it did. */
bool fd_readable_within(int fd, int timeout_ms);

#endif
