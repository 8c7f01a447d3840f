/* A quorum and votequorum client on whichever libquorum.so.5 and
 * libvotequorum.so.8 the dynamic linker finds (corosync's, or Conclave's
 * under LD_LIBRARY_PATH), tracking both. One line on stdout per event:
 *
 *   quorum quorate=Q members=A,B,...            libquorum's notification
 *   vq-nodelist ring=N.S members=A,B,...        votequorum's nodelist notification
 *   vq-quorum quorate=Q nodes=A:STATE,...       votequorum's quorum notification
 *   vq-expected E                               votequorum's expected votes notification
 *   getquorate Q                                reply to "getquorate"
 *   info ID STATE VOTES EXPECTED HIGHEST TOTAL QUORUM FLAGS QDEVICE_VOTES QDEVICE_NAME
 *                                               reply to "info ID" (name "-" when empty)
 *   result CALL CODE                            cs_error_t of a call below
 *   error WHAT CODE
 *
 * Commands on stdin, one a line: "getquorate", "info NODEID",
 * "setexpected VOTES", "setvotes NODEID VOTES", "register NAME",
 * "unregister NAME", "update OLD NEW", "poll NAME CAST_VOTE" (with the ring
 * id of the last nodelist notification), "poll-stale NAME CAST_VOTE" (with
 * a ring id one behind it), "master_wins NAME ALLOW", "quit".
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <corosync/quorum.h>
#include <corosync/votequorum.h>

static quorum_handle_t qh;
static votequorum_handle_t vqh;
static votequorum_ring_id_t last_ring;

static void print_ids(const uint32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", ids[i]);
}

static void on_quorum(quorum_handle_t h, uint32_t quorate, uint64_t ring_seq, uint32_t n, uint32_t *members)
{
	(void)h;
	(void)ring_seq;
	printf("quorum quorate=%u members=", quorate);
	print_ids(members, n);
	printf("\n");
	fflush(stdout);
}

static void on_vq_quorum(votequorum_handle_t h, uint64_t context, uint32_t quorate, uint32_t n,
			 votequorum_node_t nodes[])
{
	(void)h;
	(void)context;
	printf("vq-quorum quorate=%u nodes=", quorate);
	for (uint32_t i = 0; i < n; i++)
		printf("%s%u:%u", i ? "," : "", nodes[i].nodeid, nodes[i].state);
	printf("\n");
	fflush(stdout);
}

static void on_vq_nodelist(votequorum_handle_t h, uint64_t context, votequorum_ring_id_t ring, uint32_t n,
			   uint32_t members[])
{
	(void)h;
	(void)context;
	last_ring = ring;
	printf("vq-nodelist ring=%u.%" PRIu64 " members=", ring.nodeid, ring.seq);
	print_ids(members, n);
	printf("\n");
	fflush(stdout);
}

static void on_vq_expected(votequorum_handle_t h, uint64_t context, uint32_t expected)
{
	(void)h;
	(void)context;
	printf("vq-expected %u\n", expected);
	fflush(stdout);
}

static void fail(const char *what, cs_error_t err)
{
	printf("error %s %d\n", what, (int)err);
	fflush(stdout);
}

static void result(const char *call, cs_error_t err)
{
	printf("result %s %d\n", call, (int)err);
}

/* The calls that change votequorum's state: 1 when line was one. */
static int change(const char *line)
{
	char a[256], b[256];
	unsigned x, y;
	votequorum_ring_id_t stale;

	if (sscanf(line, "setexpected %u", &x) == 1)
		result("setexpected", votequorum_setexpected(vqh, x));
	else if (sscanf(line, "setvotes %u %u", &x, &y) == 2)
		result("setvotes", votequorum_setvotes(vqh, x, y));
	else if (sscanf(line, "register %255s", a) == 1)
		result("register", votequorum_qdevice_register(vqh, a));
	else if (sscanf(line, "unregister %255s", a) == 1)
		result("unregister", votequorum_qdevice_unregister(vqh, a));
	else if (sscanf(line, "update %255s %255s", a, b) == 2)
		result("update", votequorum_qdevice_update(vqh, a, b));
	else if (sscanf(line, "poll-stale %255s %u", a, &x) == 2) {
		stale = last_ring;
		stale.seq--;
		result("poll", votequorum_qdevice_poll(vqh, a, x, stale));
	} else if (sscanf(line, "poll %255s %u", a, &x) == 2)
		result("poll", votequorum_qdevice_poll(vqh, a, x, last_ring));
	else if (sscanf(line, "master_wins %255s %u", a, &x) == 2)
		result("master_wins", votequorum_qdevice_master_wins(vqh, a, x));
	else
		return 0;
	return 1;
}

static int command(char *line)
{
	unsigned nodeid;

	if (strncmp(line, "quit", 4) == 0)
		return 0;
	if (strncmp(line, "getquorate", 10) == 0) {
		int quorate = -1;
		cs_error_t err = quorum_getquorate(qh, &quorate);

		if (err != CS_OK)
			fail("getquorate", err);
		else
			printf("getquorate %d\n", quorate);
	} else if (sscanf(line, "info %u", &nodeid) == 1) {
		struct votequorum_info i;
		cs_error_t err = votequorum_getinfo(vqh, nodeid, &i);

		if (err != CS_OK)
			fail("info", err);
		else
			printf("info %u %u %u %u %u %u %u %u %u %s\n", i.node_id, i.node_state, i.node_votes,
			       i.node_expected_votes, i.highest_expected, i.total_votes, i.quorum, i.flags,
			       i.qdevice_votes, i.qdevice_name[0] ? i.qdevice_name : "-");
	} else if (!change(line)) {
		printf("error unknown-command 0\n");
	}
	fflush(stdout);
	return 1;
}

int main(void)
{
	quorum_callbacks_t qcb = { .quorum_notify_fn = on_quorum };
	votequorum_callbacks_t vcb = { .votequorum_quorum_notify_fn = on_vq_quorum,
				       .votequorum_nodelist_notify_fn = on_vq_nodelist,
				       .votequorum_expectedvotes_notify_fn = on_vq_expected };
	uint32_t type;
	int qfd, vfd;
	cs_error_t err;
	char line[256];

	if ((err = quorum_initialize(&qh, &qcb, &type)) != CS_OK) {
		fail("quorum_initialize", err);
		return 1;
	}
	if ((err = votequorum_initialize(&vqh, &vcb)) != CS_OK) {
		fail("votequorum_initialize", err);
		return 1;
	}
	if ((err = quorum_trackstart(qh, CS_TRACK_CHANGES)) != CS_OK ||
	    (err = votequorum_trackstart(vqh, 0, CS_TRACK_CHANGES)) != CS_OK) {
		fail("trackstart", err);
		return 1;
	}
	quorum_fd_get(qh, &qfd);
	votequorum_fd_get(vqh, &vfd);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd fds[3] = { { .fd = STDIN_FILENO, .events = POLLIN },
					 { .fd = qfd, .events = POLLIN },
					 { .fd = vfd, .events = POLLIN } };

		if (poll(fds, 3, -1) < 0 && errno != EINTR)
			return 1;
		if (fds[1].revents && (err = quorum_dispatch(qh, CS_DISPATCH_ALL)) != CS_OK) {
			fail("quorum_dispatch", err);
			return 2;
		}
		if (fds[2].revents && (err = votequorum_dispatch(vqh, CS_DISPATCH_ALL)) != CS_OK) {
			fail("votequorum_dispatch", err);
			return 2;
		}
		if (fds[0].revents && (fgets(line, sizeof(line), stdin) == NULL || !command(line)))
			break;
	}
	quorum_finalize(qh);
	votequorum_finalize(vqh);
	return 0;
}
