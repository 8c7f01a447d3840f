/* Cluster figures (bench/cluster-run): the same measurements over
 * Conclave's corosync engine and over corosync's own cpg (Debian's libcpg,
 * CPG_TYPE_AGREED), one process per node, driven one command a line:
 *   rtt N           (sender) N messages of 64 B one at a time, each waiting
 *                   for its own delivery: prints "result MEDIAN_US"
 *   stream N SIZE   (sender) N messages of SIZE as fast as the transport
 *                   takes them, until the last is delivered back: prints
 *                   "result US_PER_MESSAGE"
 *   joinleave N     (sender, cpg only) N pairs of cpg_join and cpg_leave
 *                   of a second connection in the group bench-join, each
 *                   on a connection of its own (initialize to finalize)
 *                   and until it saw its own join's and its own leave's
 *                   confchg: prints "result MEDIAN_US_PER_PAIR".
 *                   That connection leaves first and joins again after.
 *   expect TOTAL [CHANGES]
 *                   prints "got TOTAL" once TOTAL messages were delivered
 *                   since the program started (and CHANGES confchgs seen in
 *                   bench-join since it was ready)
 *   quit
 * Every node receives every message; all but the sender only count. Over
 * cpg every process also keeps a second connection joined to bench-join,
 * so that a joiner's confchgs go to every node.
 *
 *   cluster-bench engine|cpg
 *
 * Built a second time as cluster-bench-cpg, cpg only and without a run
 * path: on corosync's libcpg by default, on Conclave's (through conclaved
 * in cluster mode) under LD_LIBRARY_PATH.
 */
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corosync/corotypes.h>
#include <corosync/cpg.h>

#ifndef CLUSTER_BENCH_CPG_ONLY
#include "cv-engine.h"
#endif

struct transport {
	int (*fd)(void);
	int (*timeout)(void);
	void (*process)(void);
	void (*flush)(void);
	int (*submit)(const void *data, size_t length); /* 0 or -EAGAIN */
	bool (*ready)(void);                            /* every node is in the group */
};

static uint64_t delivered, own_delivered;
static unsigned members;
static uint32_t self;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void count(uint32_t nodeid)
{
	delivered++;
	own_delivered += nodeid == self;
}

#ifndef CLUSTER_BENCH_CPG_ONLY
/* ---- over the engine --------------------------------------------------- */

static struct cv_engine *engine;
static bool engine_settled;

static void engine_deliver(void *ctx, uint32_t nodeid, uint32_t pid, const void *data, size_t length)
{
	count(nodeid);
}

static void engine_view(void *ctx, const struct cv_engine_view *view)
{
	members = (unsigned)view->n_members;
	engine_settled = view->connected;
}

static void engine_log(void *ctx, int level, const char *text)
{
	fprintf(stderr, "cluster-bench: %s\n", text);
}

static int engine_fd(void)
{
	return cv_engine_fd(engine);
}
static int engine_timeout(void)
{
	return cv_engine_timeout(engine);
}
static void engine_process(void)
{
	cv_engine_process(engine);
}
static void engine_flush(void)
{
	cv_engine_flush(engine);
}
static int engine_submit(const void *data, size_t length)
{
	return cv_engine_submit(engine, data, length);
}
static bool engine_ready(void)
{
	struct cv_engine_stats s;

	cv_engine_stats(engine, &s);
	self = s.nodeid;
	return engine_settled && s.settled && members == 3;
}

static const struct transport engine_transport = {
	engine_fd, engine_timeout, engine_process, engine_flush, engine_submit, engine_ready,
};

static void engine_start(void)
{
	struct cv_engine_config config;
	struct cv_engine_callbacks callbacks = { .deliver = engine_deliver,
						 .view = engine_view,
						 .log = engine_log };

	cv_engine_config_default(&config);
	config.group = "bench-engine";
	engine = cv_engine_new(&config, &callbacks, NULL);
	if (engine == NULL) {
		perror("cv_engine_new");
		exit(1);
	}
}
#endif

/* ---- over corosync's cpg ----------------------------------------------- */

static cpg_handle_t cpg;
/* a second connection, for joins and leaves */
static cpg_handle_t joiner;
static int joiner_fd = -1;
static unsigned join_members;
static uint64_t changes; /* confchgs of bench-join seen since ready */
static bool saw_own_join, saw_own_leave;

static void cpg_deliver(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
			void *msg, size_t length)
{
	count(nodeid);
}

static void cpg_confchg(cpg_handle_t h, const struct cpg_name *group, const struct cpg_address *list,
			size_t n, const struct cpg_address *left, size_t n_left,
			const struct cpg_address *joined, size_t n_joined)
{
	members = (unsigned)n;
}

static int cpg_fd(void)
{
	int fd = -1;

	cpg_fd_get(cpg, &fd);
	return fd;
}

static int cpg_timeout(void)
{
	return -1;
}
static void cpg_process(void)
{
	if (cpg_dispatch(cpg, CS_DISPATCH_ALL) != CS_OK) {
		fprintf(stderr, "cluster-bench: cpg_dispatch failed\n");
		exit(1);
	}
}
static void cpg_flush(void)
{
}
static int cpg_submit(const void *data, size_t length)
{
	struct iovec iov = { (void *)data, length };
	cs_error_t err = cpg_mcast_joined(cpg, CPG_TYPE_AGREED, &iov, 1);

	if (err == CS_ERR_TRY_AGAIN)
		return -EAGAIN;
	if (err != CS_OK) {
		fprintf(stderr, "cluster-bench: cpg_mcast_joined: %d\n", err);
		exit(1);
	}
	return 0;
}
static bool cpg_ready(void)
{
	return members == 3 && join_members == 3;
}

static const struct transport cpg_transport = {
	cpg_fd, cpg_timeout, cpg_process, cpg_flush, cpg_submit, cpg_ready,
};

static void joiner_start(void);

static void cpg_start(void)
{
	cpg_callbacks_t callbacks = { .cpg_deliver_fn = cpg_deliver, .cpg_confchg_fn = cpg_confchg };
	struct cpg_name name = { .length = 9, .value = "bench-cpg" };
	unsigned int nodeid;

	if (cpg_initialize(&cpg, &callbacks) != CS_OK || cpg_join(cpg, &name) != CS_OK ||
	    cpg_local_get(cpg, &nodeid) != CS_OK) {
		fprintf(stderr, "cluster-bench: cannot join corosync's cpg\n");
		exit(1);
	}
	self = nodeid;
	joiner_start();
}

/* ---- joins and leaves over cpg ----------------------------------------- */

static bool names_self(const struct cpg_address *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].nodeid == self && list[i].pid == (uint32_t)getpid())
			return true;
	return false;
}

static void joiner_confchg(cpg_handle_t h, const struct cpg_name *group, const struct cpg_address *list,
			   size_t n, const struct cpg_address *left, size_t n_left,
			   const struct cpg_address *joined, size_t n_joined)
{
	join_members = (unsigned)n;
	changes++;
	saw_own_join |= names_self(joined, n_joined);
	saw_own_leave |= names_self(left, n_left);
}

static void joiner_deliver(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
			   void *msg, size_t length)
{
}

static const struct cpg_name join_group = { .length = 10, .value = "bench-join" };

static void joiner_check(const char *call, cs_error_t err)
{
	if (err != CS_OK) {
		fprintf(stderr, "cluster-bench: %s: %d\n", call, err);
		exit(1);
	}
}

static void joiner_process(void)
{
	joiner_check("cpg_dispatch", cpg_dispatch(joiner, CS_DISPATCH_ALL));
}

static void joiner_join(void)
{
	cs_error_t err;

	saw_own_join = false;
	while ((err = cpg_join(joiner, &join_group)) == CS_ERR_TRY_AGAIN)
		poll(NULL, 0, 1);
	joiner_check("cpg_join", err);
}

static void joiner_leave(void)
{
	cs_error_t err;

	saw_own_leave = false;
	while ((err = cpg_leave(joiner, &join_group)) == CS_ERR_TRY_AGAIN)
		poll(NULL, 0, 1);
	joiner_check("cpg_leave", err);
}

static void joiner_wait(const bool *seen)
{
	while (!*seen) {
		struct pollfd pfd = { .fd = joiner_fd, .events = POLLIN };

		poll(&pfd, 1, 100);
		joiner_process();
	}
}

static void joiner_start(void)
{
	cpg_callbacks_t callbacks = { .cpg_deliver_fn = joiner_deliver, .cpg_confchg_fn = joiner_confchg };

	joiner_check("cpg_initialize", cpg_initialize(&joiner, &callbacks));
	joiner_check("cpg_fd_get", cpg_fd_get(joiner, &joiner_fd));
	joiner_join();
}

/* corosync's cpg cannot join again on a handle that has left (CPG-Q1), so a
 * join is a connection's whole life, as in a process that comes and goes. */
static void joiner_stop(void)
{
	joiner_leave();
	joiner_wait(&saw_own_leave);
	joiner_check("cpg_finalize", cpg_finalize(joiner));
}

/* ---- measurements ------------------------------------------------------ */

static const struct transport *t;

static void wait_events(int timeout_ms)
{
	int engine_timeout = t->timeout();
	struct pollfd pfd = { .fd = t->fd(), .events = POLLIN };

	if (engine_timeout >= 0 && (timeout_ms < 0 || engine_timeout < timeout_ms))
		timeout_ms = engine_timeout;
	poll(&pfd, 1, timeout_ms);
	t->process();
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void print_median(double *values, unsigned n)
{
	qsort(values, n, sizeof(*values), by_value);
	printf("result %.1f\n", values[n / 2]);
}

static void round_trips(unsigned n)
{
	static char message[64];
	double *rtt = calloc(n, sizeof(*rtt));

	for (unsigned i = 0; i < n; i++) {
		uint64_t want = own_delivered + 1;
		double start = now_us();
		while (t->submit(message, sizeof(message)) == -EAGAIN)
			wait_events(1);
		t->flush();
		while (own_delivered < want)
			wait_events(100);
		rtt[i] = now_us() - start;
	}
	print_median(rtt, n);
	free(rtt);
}

/* The other processes stay joined, so each confchg goes to every node. */
static void joins_and_leaves(unsigned n)
{
	double *pair = calloc(n, sizeof(*pair));

	joiner_stop();
	for (unsigned i = 0; i < n; i++) {
		double start = now_us();
		joiner_start();
		joiner_wait(&saw_own_join);
		joiner_stop();
		pair[i] = now_us() - start;
	}
	joiner_start();
	joiner_wait(&saw_own_join);
	print_median(pair, n);
	free(pair);
}

static void stream(unsigned n, size_t size)
{
	char *message = calloc(1, size);
	uint64_t want = own_delivered + n;
	double start = now_us();

	for (unsigned i = 0; i < n; i++) {
		while (t->submit(message, size) == -EAGAIN) {
			t->flush();
			wait_events(1);
		}
		if (i % 64 == 63)
			t->process();
	}
	t->flush();
	while (own_delivered < want)
		wait_events(100);
	printf("result %.3f\n", (now_us() - start) / n);
	free(message);
}

/* What an "expect" waits for. */
struct expectation {
	bool active;
	uint64_t messages, changes;
};

static bool command(const char *line, struct expectation *expect)
{
	unsigned n;
	size_t size;
	unsigned long long total, total_changes = 0;

	if (sscanf(line, "rtt %u", &n) == 1 && n > 0)
		round_trips(n);
	else if (sscanf(line, "stream %u %zu", &n, &size) == 2 && n > 0)
		stream(n, size);
	else if (sscanf(line, "joinleave %u", &n) == 1 && n > 0 && joiner_fd >= 0)
		joins_and_leaves(n);
	else if (sscanf(line, "expect %llu %llu", &total, &total_changes) >= 1)
		*expect = (struct expectation){ true, total, total_changes };
	else if (strncmp(line, "quit", 4) == 0)
		return false;
	else
		printf("error %s", line);
	fflush(stdout);
	return true;
}

int main(int argc, char **argv)
{
	char line[128];
	struct expectation expect = { 0 };
	bool announced = false;

	if (argc != 2 || (strcmp(argv[1], "engine") && strcmp(argv[1], "cpg"))) {
		fprintf(stderr, "usage: cluster-bench engine|cpg\n");
		return 2;
	}
	if (strcmp(argv[1], "engine") == 0) {
#ifndef CLUSTER_BENCH_CPG_ONLY
		t = &engine_transport;
		engine_start();
#else
		fprintf(stderr, "cluster-bench-cpg: cpg only\n");
		return 2;
#endif
	} else {
		t = &cpg_transport;
		cpg_start();
	}
	for (;;) {
		struct pollfd fds[3] = { { .fd = 0, .events = POLLIN },
					 { .fd = t->fd(), .events = POLLIN },
					 { .fd = joiner_fd, .events = POLLIN } };
		int timeout = t->timeout();
		poll(fds, 3, timeout);
		if (fds[0].revents && (fgets(line, sizeof(line), stdin) == NULL || !command(line, &expect)))
			break;
		t->process();
		t->flush();
		if (fds[2].revents)
			joiner_process();
		if (!announced && t->ready()) {
			printf("ready %u\n", self);
			fflush(stdout);
			announced = true;
			changes = 0; /* every process is in bench-join: no confchg is on its way */
		}
		if (expect.active && delivered >= expect.messages && changes >= expect.changes) {
			printf("got %llu\n", (unsigned long long)delivered);
			fflush(stdout);
			expect.active = false;
		}
	}
	return 0;
}
