/* A cpg member for the multi-node tests, on whichever libcpg.so.4 the
 * dynamic linker finds (built without a run path): corosync's by default,
 * Conclave's under LD_LIBRARY_PATH, so that one scenario runs on both.
 * It joins GROUP (model V1, initial totem confchg) and then reads commands
 * from stdin, one a line:
 *   send COUNT SIZE   multicasts COUNT messages of SIZE bytes (at least 16),
 *                     retrying on CS_ERR_TRY_AGAIN; prints "tryagain" at the
 *                     first CS_ERR_TRY_AGAIN of the command, "sent TOTAL" at its end
 *   pause             stops dispatching (events wait in the library's channel)
 *   resume            dispatches again
 *   flow              prints "flow N" (cpg_flow_control_state_get)
 *   members           prints "members N:P,..." (cpg_membership_get)
 *   iterate           prints "iterate N:P,..." (cpg_iteration_*, this group)
 *   local             prints "local NODEID" (cpg_local_get)
 *   quit              leaves and exits
 * Events are printed as they are dispatched:
 *   me NODEID PID
 *   confchg members=N:P,... left=N:P:R,... joined=N:P:R,...
 *   totem RINGNODE.SEQ members=N,...
 *   msg NODEID PID INDEX SIZE [BAD]
 *
 *   cpg-node GROUP
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cpg.h>

struct test_message {
	uint32_t magic, nodeid;
	uint64_t index;
};

#define MAGIC 0x4e475043u /* "CPGN" */

static cpg_handle_t handle;
static struct cpg_name group;
static unsigned int self;
static uint64_t next_index;
static uint8_t *buffer;
static int paused;

static void print_addresses(const char *name, const struct cpg_address *list, size_t n, int with_reason)
{
	printf(" %s%s", name, name[0] ? "=" : "");
	for (size_t i = 0; i < n; i++) {
		printf("%s%u:%u", i ? "," : "", list[i].nodeid, list[i].pid);
		if (with_reason)
			printf(":%u", list[i].reason);
	}
}

static void on_confchg(cpg_handle_t h, const struct cpg_name *g, const struct cpg_address *members,
		       size_t n_members, const struct cpg_address *left, size_t n_left,
		       const struct cpg_address *joined, size_t n_joined)
{
	printf("confchg");
	print_addresses("members", members, n_members, 0);
	print_addresses("left", left, n_left, 1);
	print_addresses("joined", joined, n_joined, 1);
	printf("\n");
	fflush(stdout);
}

static void on_totem(cpg_handle_t h, struct cpg_ring_id ring, uint32_t n, const uint32_t *nodes)
{
	printf("totem %u.%llu members=", ring.nodeid, (unsigned long long)ring.seq);
	for (uint32_t i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", nodes[i]);
	printf("\n");
	fflush(stdout);
}

static void on_deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid, uint32_t pid, void *msg,
		       size_t length)
{
	struct test_message m;
	int good = length >= sizeof(m);

	if (good) {
		memcpy(&m, msg, sizeof(m));
		good = m.magic == MAGIC && m.nodeid == nodeid;
		for (size_t i = sizeof(m); good && i < length; i++)
			good = ((uint8_t *)msg)[i] == (uint8_t)(m.index + i);
	}
	printf("msg %u %u %llu %zu%s\n", nodeid, pid, good ? (unsigned long long)m.index : 0ull, length,
	       good ? "" : " BAD");
}

static cs_error_t dispatch(void)
{
	cs_error_t err = cpg_dispatch(handle, CS_DISPATCH_ALL);

	fflush(stdout);
	return err;
}

static void send_messages(unsigned long long count, size_t size)
{
	int told = 0;

	for (unsigned long long n = 0; n < count; n++) {
		struct test_message m = { MAGIC, self, next_index };
		struct iovec iov = { buffer, size };
		cs_error_t err;

		memcpy(buffer, &m, sizeof(m));
		for (size_t i = sizeof(m); i < size; i++)
			buffer[i] = (uint8_t)(next_index + i);
		while ((err = cpg_mcast_joined(handle, CPG_TYPE_AGREED, &iov, 1)) == CS_ERR_TRY_AGAIN) {
			struct timespec pause = { 0, 1000000 };

			if (!told) {
				printf("tryagain\n");
				fflush(stdout);
				told = 1;
			}
			if (!paused && dispatch() != CS_OK && dispatch() != CS_ERR_TRY_AGAIN)
				break;
			nanosleep(&pause, NULL);
		}
		if (err != CS_OK) {
			printf("error mcast %d\n", err);
			return;
		}
		next_index++;
	}
	printf("sent %llu\n", (unsigned long long)next_index);
}

static void print_members(void)
{
	struct cpg_address list[CPG_MEMBERS_MAX];
	int n = CPG_MEMBERS_MAX;
	cs_error_t err = cpg_membership_get(handle, &group, list, &n);

	if (err != CS_OK) {
		printf("error members %d\n", err);
		return;
	}
	printf("members");
	print_addresses("", list, (size_t)n, 0);
	printf("\n");
}

static void print_iteration(void)
{
	cpg_iteration_handle_t it;
	struct cpg_iteration_description_t d;
	cs_error_t err = cpg_iteration_initialize(handle, CPG_ITERATION_ONE_GROUP, &group, &it);
	int first = 1;

	if (err != CS_OK) {
		printf("error iterate %d\n", err);
		return;
	}
	printf("iterate ");
	while (cpg_iteration_next(it, &d) == CS_OK) {
		printf("%s%u:%u", first ? "" : ",", d.nodeid, d.pid);
		first = 0;
	}
	printf("\n");
	cpg_iteration_finalize(it);
}

static void print_flow(void)
{
	cpg_flow_control_state_t state;
	cs_error_t err = cpg_flow_control_state_get(handle, &state);

	if (err != CS_OK)
		printf("error flow %d\n", err);
	else
		printf("flow %d\n", (int)state);
}

/* False on quit or end of input. */
static int command(const char *line)
{
	unsigned long long count;
	size_t size;
	unsigned int nodeid;

	if (sscanf(line, "send %llu %zu", &count, &size) == 2 && size >= sizeof(struct test_message) &&
	    size <= 1024 * 1024)
		send_messages(count, size);
	else if (strncmp(line, "members", 7) == 0)
		print_members();
	else if (strncmp(line, "iterate", 7) == 0)
		print_iteration();
	else if (strncmp(line, "local", 5) == 0 && cpg_local_get(handle, &nodeid) == CS_OK)
		printf("local %u\n", nodeid);
	else if (strncmp(line, "pause", 5) == 0)
		paused = 1;
	else if (strncmp(line, "resume", 6) == 0)
		paused = 0;
	else if (strncmp(line, "flow", 4) == 0)
		print_flow();
	else if (strncmp(line, "quit", 4) == 0)
		return 0;
	else
		printf("error command %s", line);
	fflush(stdout);
	return 1;
}

int main(int argc, char **argv)
{
	cpg_model_v1_data_t model = {
		.model = CPG_MODEL_V1,
		.cpg_deliver_fn = on_deliver,
		.cpg_confchg_fn = on_confchg,
		.cpg_totem_confchg_fn = on_totem,
		.flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
	};
	char line[256];
	cs_error_t err;
	int fd;

	if (argc != 2 || strlen(argv[1]) >= CPG_MAX_NAME_LENGTH) {
		fprintf(stderr, "usage: cpg-node GROUP\n");
		return 2;
	}
	group.length = (uint32_t)strlen(argv[1]);
	memcpy(group.value, argv[1], group.length);
	buffer = malloc(1024 * 1024);
	for (int attempt = 0; (err = cpg_model_initialize(&handle, CPG_MODEL_V1, (cpg_model_data_t *)&model,
							  NULL)) == CS_ERR_LIBRARY &&
			      attempt < 100;
	     attempt++)
		usleep(100000);
	if (buffer == NULL || err != CS_OK || cpg_local_get(handle, &self) != CS_OK ||
	    cpg_fd_get(handle, &fd) != CS_OK) {
		printf("error initialize %d\n", err);
		return 1;
	}
	printf("me %u %u\n", self, (unsigned)getpid());
	while ((err = cpg_join(handle, &group)) == CS_ERR_TRY_AGAIN)
		usleep(10000);
	if (err != CS_OK) {
		printf("error join %d\n", err);
		return 1;
	}
	fflush(stdout);
	for (;;) {
		struct pollfd fds[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
					 { .fd = paused ? -1 : fd, .events = POLLIN } };

		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			return 1;
		if (fds[1].revents && (err = dispatch()) != CS_OK) {
			printf("error dispatch %d\n", err);
			return 1;
		}
		if (fds[0].revents && (fgets(line, sizeof(line), stdin) == NULL || !command(line)))
			break;
	}
	cpg_leave(handle, &group);
	cpg_finalize(handle);
	free(buffer);
	return 0;
}
