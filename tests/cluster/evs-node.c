/* An evs member for the multi-node tests, on Conclave's libevs (corosync 3
 * has none): joins the group named GROUP and reads commands from stdin:
 *   send COUNT   multicasts COUNT messages to its groups (evs_mcast_joined),
 *                dispatching and retrying on CS_ERR_TRY_AGAIN (the daemon
 *                holds it back while a member here has no room, itself
 *                included); prints "sent TOTAL"
 *   join COUNT   joins GROUP COUNT more times, one join a call, so that its
 *                messages name that many more groups; prints "joins TOTAL"
 *   quit
 * and prints what it is told:
 *   me NODEID
 *   confchg ring=NODE.SEQ members=N,... left=N,... joined=N,...
 *   msg NODEID INDEX
 *
 *   evs-node GROUP
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <corosync/evs.h>

struct test_message {
	unsigned int nodeid;
	unsigned long long index;
};

static evs_handle_t handle;
static struct evs_group group;
static unsigned int self;
static unsigned long long next_index;
static unsigned long long joins;

static void print_nodes(const char *name, const unsigned int *list, size_t n)
{
	printf(" %s=", name);
	for (size_t i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", list[i]);
}

static void on_confchg(hdb_handle_t h, const unsigned int *members, size_t n_members,
		       const unsigned int *left, size_t n_left, const unsigned int *joined, size_t n_joined,
		       const struct evs_ring_id *ring)
{
	printf("confchg ring=%u.%llu", ring->nodeid, ring->seq);
	print_nodes("members", members, n_members);
	print_nodes("left", left, n_left);
	print_nodes("joined", joined, n_joined);
	printf("\n");
}

static void on_deliver(hdb_handle_t h, unsigned int nodeid, const void *msg, size_t length)
{
	struct test_message m;

	if (length != sizeof(m)) {
		printf("msg %u BAD\n", nodeid);
		return;
	}
	memcpy(&m, msg, sizeof(m));
	printf("msg %u %llu%s\n", nodeid, m.index, m.nodeid == nodeid ? "" : " BAD");
}

static void send_messages(unsigned long long count)
{
	for (unsigned long long n = 0; n < count; n++) {
		struct test_message m = { self, next_index };
		struct iovec iov = { &m, sizeof(m) };
		cs_error_t err;

		while ((err = evs_mcast_joined(handle, EVS_TYPE_AGREED, &iov, 1)) == CS_ERR_TRY_AGAIN) {
			if (evs_dispatch(handle, CS_DISPATCH_ALL) != CS_OK) {
				printf("error dispatch\n");
				return;
			}
			usleep(1000);
		}
		if (err != CS_OK) {
			printf("error mcast %d\n", err);
			return;
		}
		next_index++;
	}
	printf("sent %llu\n", next_index);
}

static void join_again(unsigned long long count)
{
	for (unsigned long long n = 0; n < count; n++) {
		cs_error_t err = evs_join(handle, &group, 1);

		if (err != CS_OK) {
			printf("error join %d\n", err);
			return;
		}
		joins++;
	}
	printf("joins %llu\n", joins);
}

int main(int argc, char **argv)
{
	evs_callbacks_t callbacks = { .evs_deliver_fn = on_deliver, .evs_confchg_fn = on_confchg };
	unsigned int members[64];
	size_t n_members = 64;
	char line[128];
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(group.key)) {
		fprintf(stderr, "usage: evs-node GROUP\n");
		return 2;
	}
	memcpy(group.key, argv[1], strlen(argv[1]));
	if (evs_initialize(&handle, &callbacks) != CS_OK || evs_fd_get(handle, &fd) != CS_OK ||
	    evs_membership_get(handle, &self, members, &n_members) != CS_OK ||
	    evs_join(handle, &group, 1) != CS_OK) {
		printf("error initialize\n");
		return 1;
	}
	joins = 1;
	printf("me %u\n", self);
	fflush(stdout);
	for (;;) {
		struct pollfd fds[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
					 { .fd = fd, .events = POLLIN } };
		unsigned long long count;

		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			return 1;
		if (fds[1].revents && evs_dispatch(handle, CS_DISPATCH_ALL) != CS_OK)
			return 1;
		if (fds[0].revents) {
			if (fgets(line, sizeof(line), stdin) == NULL || strncmp(line, "quit", 4) == 0)
				break;
			if (sscanf(line, "send %llu", &count) == 1)
				send_messages(count);
			else if (sscanf(line, "join %llu", &count) == 1)
				join_again(count);
			else
				printf("error command %s", line);
		}
		fflush(stdout);
	}
	evs_finalize(handle);
	return 0;
}
