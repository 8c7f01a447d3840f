#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

const char SINGLE_NODE_CONFIG[] =
	"totem {\n\tversion: 2\n\tcluster_name: test\n}\n"
	"nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tname: node1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n"
	"quorum {\n\tprovider: corosync_votequorum\n}\n";

const char INQUORATE_THREE_NODE_CONFIG[] =
	"totem {\n\tversion: 2\n\tcluster_name: three\n}\n"
	"nodelist {\n"
	"\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n"
	"\tnode {\n\t\tnodeid: 2\n\t\tring0_addr: 192.0.2.2\n\t\tquorum_votes: 2\n\t}\n"
	"\tnode {\n\t\tnodeid: 3\n\t\tring0_addr: 192.0.2.3\n\t}\n"
	"}\n"
	"quorum {\n\tprovider: corosync_votequorum\n}\n";

int test_child_start(struct test_child *c, void (*run)(const char *arg, int commands, int reports),
		     const char *arg, char ready)
{
	int down[2], up[2];
	char reply;

	if (pipe(down) < 0 || pipe(up) < 0) {
		perror("pipe");
		return -1;
	}
	c->pid = fork();
	if (c->pid < 0) {
		perror("fork");
		return -1;
	}
	if (c->pid == 0) {
		close(down[1]);
		close(up[0]);
		run(arg, down[0], up[1]);
		_exit(100);
	}
	close(down[0]);
	close(up[1]);
	c->to_child = down[1];
	c->from_child = up[0];
	if (read(c->from_child, &reply, 1) != 1 || reply != ready) {
		fprintf(stderr, "test child %d did not report '%c'\n", (int)c->pid, ready);
		return -1;
	}
	return 0;
}

bool fd_readable_within(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r == 1 && (pfd.revents & (POLLIN | POLLHUP)) != 0;
}
