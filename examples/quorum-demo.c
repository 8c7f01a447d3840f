/* A short tour of the quorum and votequorum APIs, written against corosync's
 * public headers only: it builds unchanged against corosync's libraries.
 *
 * It prints this node's vote count, starts a quorum tracker, changes the
 * expected votes to the value given on the command line, and prints the
 * notifications that change produces.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include <corosync/corotypes.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>

static void print_quorum(quorum_handle_t handle, uint32_t quorate, uint64_t ring_seq,
			 uint32_t view_list_entries, uint32_t *view_list)
{
	printf("quorum notification: %s, ring seq %" PRIu64 ", members:", quorate ? "quorate" : "NOT quorate",
	       ring_seq);
	for (uint32_t i = 0; i < view_list_entries; i++)
		printf(" %" PRIu32, view_list[i]);
	printf("\n");
}

static void print_expected(votequorum_handle_t handle, uint64_t context, uint32_t expected_votes)
{
	printf("votequorum notification: expected votes are now %" PRIu32 "\n", expected_votes);
}

static void print_info(votequorum_handle_t handle)
{
	struct votequorum_info info;
	cs_error_t err = votequorum_getinfo(handle, 0, &info);

	if (err != CS_OK) {
		printf("votequorum_getinfo: %s\n", cs_strerror(err));
		return;
	}
	printf("node %u: votes %u, expected %u, total %u, quorum %u, %s\n", info.node_id, info.node_votes,
	       info.node_expected_votes, info.total_votes, info.quorum,
	       (info.flags & VOTEQUORUM_INFO_QUORATE) ? "quorate" : "NOT quorate");
}

static int fail(const char *what, cs_error_t err)
{
	fprintf(stderr, "%s: %s\n", what, cs_strerror(err));
	return 1;
}

static void dispatch_until_quiet(quorum_handle_t q, votequorum_handle_t vq)
{
	struct pollfd fds[2] = { { .events = POLLIN }, { .events = POLLIN } };

	quorum_fd_get(q, &fds[0].fd);
	votequorum_fd_get(vq, &fds[1].fd);
	while (poll(fds, 2, 200) > 0) {
		if (fds[0].revents)
			quorum_dispatch(q, CS_DISPATCH_ALL);
		if (fds[1].revents)
			votequorum_dispatch(vq, CS_DISPATCH_ALL);
	}
}

int main(int argc, char **argv)
{
	quorum_callbacks_t quorum_callbacks = { .quorum_notify_fn = print_quorum };
	votequorum_callbacks_t vq_callbacks = { .votequorum_expectedvotes_notify_fn = print_expected };
	unsigned int expected = argc > 1 ? (unsigned int)strtoul(argv[1], NULL, 10) : 1;
	quorum_handle_t q;
	votequorum_handle_t vq;
	uint32_t quorum_type;
	cs_error_t err;

	if ((err = quorum_initialize(&q, &quorum_callbacks, &quorum_type)) != CS_OK)
		return fail("quorum_initialize", err);
	if ((err = votequorum_initialize(&vq, &vq_callbacks)) != CS_OK)
		return fail("votequorum_initialize", err);

	print_info(vq);
	printf("tracking quorum (quorum type %s)\n",
	       quorum_type == QUORUM_SET ? "QUORUM_SET" : "QUORUM_FREE");
	if ((err = quorum_trackstart(q, CS_TRACK_CHANGES)) != CS_OK)
		return fail("quorum_trackstart", err);
	if ((err = votequorum_trackstart(vq, 0, CS_TRACK_CHANGES_ONLY)) != CS_OK)
		return fail("votequorum_trackstart", err);
	dispatch_until_quiet(q, vq);

	printf("setting expected votes to %u\n", expected);
	err = votequorum_setexpected(vq, expected);
	printf("votequorum_setexpected: %s\n", cs_strerror(err));
	dispatch_until_quiet(q, vq);
	print_info(vq);

	quorum_finalize(q);
	votequorum_finalize(vq);
	return 0;
}
