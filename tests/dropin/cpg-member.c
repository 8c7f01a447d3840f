/* A process in a cpg group, for corosync-cpgtool to find: joins the group
 * named by argv[1], prints "joined" once its own join is delivered, and stays
 * a member until its standard input closes. It is built without a run path,
 * so it runs on whichever libcpg.so.4 the dynamic linker finds: Debian's by
 * default, Conclave's under LD_LIBRARY_PATH. */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <corosync/cpg.h>

static bool joined;

static void on_confchg(cpg_handle_t handle, const struct cpg_name *group, const struct cpg_address *members,
		       size_t n_members, const struct cpg_address *left, size_t n_left,
		       const struct cpg_address *joined_list, size_t n_joined)
{
	for (size_t i = 0; i < n_joined; i++)
		if (joined_list[i].pid == (uint32_t)getpid())
			joined = true;
}

static bool stdin_closed(void)
{
	char buf[64];

	return read(STDIN_FILENO, buf, sizeof(buf)) <= 0;
}

static int serve(cpg_handle_t handle)
{
	struct pollfd fds[2] = { { .fd = STDIN_FILENO, .events = POLLIN }, { .events = POLLIN } };

	if (cpg_fd_get(handle, &fds[1].fd) != CS_OK)
		return 1;
	for (;;) {
		if (poll(fds, 2, -1) < 0)
			return 1;
		if (fds[0].revents && stdin_closed())
			return 0;
		if (fds[1].revents && cpg_dispatch(handle, CS_DISPATCH_ALL) != CS_OK)
			return 1;
		if (joined) {
			printf("joined\n");
			fflush(stdout);
			joined = false;
		}
	}
}

int main(int argc, char **argv)
{
	cpg_callbacks_t callbacks = { .cpg_confchg_fn = on_confchg };
	struct cpg_name group;
	cpg_handle_t handle;
	unsigned int local_nodeid;
	cs_error_t err;
	int status;

	if (argc != 2 || strlen(argv[1]) > CPG_MAX_NAME_LENGTH) {
		fprintf(stderr, "usage: cpg-member GROUP\n");
		return 2;
	}
	group.length = strlen(argv[1]);
	memcpy(group.value, argv[1], group.length);
	err = cpg_initialize(&handle, &callbacks);
	if (err != CS_OK) {
		fprintf(stderr, "cpg-member: cpg_initialize: error %d\n", err);
		return 1;
	}
	err = cpg_join(handle, &group);
	if (err != CS_OK) {
		fprintf(stderr, "cpg-member: cpg_join: error %d\n", err);
		return 1;
	}
	/* Debian's libcpg exports this one without a version, and ours with one:
	 * a program built against Conclave must still run on corosync's. */
	err = cpg_local_get(handle, &local_nodeid);
	if (err != CS_OK) {
		fprintf(stderr, "cpg-member: cpg_local_get: error %d\n", err);
		return 1;
	}
	status = serve(handle);
	cpg_finalize(handle);
	return status;
}
