/* Where conclaved's loop runs at realtime priority (cv-sched.h): next to a
 * client that calls now and then from another CPU, or sends a message and
 * dispatches until it comes back, away from that client once it calls back
 * to back, and never outside the CPUs it is allowed. Each test drives
 * libquorum or libcpg from this process, pinned to one CPU, and
 * reads the CPU the real daemon last ran on from /proc. Root and two CPUs
 * are needed (under CI=true their absence fails the tests). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cpg.h>
#include <corosync/quorum.h>

#include "harness.h"

#define PACED_CALLS_MAX 300
#define PACE_US 1000
#define BACK_TO_BACK_SECONDS 3
#define LEAVE_ATTEMPTS 3

static struct test_daemon d;
static quorum_handle_t handle;
static cpg_handle_t sender;
static cpu_set_t ours;   /* the CPUs this process was allowed at start */
static int cpu_a, cpu_b; /* the first two of them */

static int missing(const char *what)
{
	const char *ci = getenv("CI");

	if (ci != NULL && strcmp(ci, "true") == 0) {
		fprintf(stderr, "integration_placement needs %s\n", what);
		return -1;
	}
	fprintf(stderr, "skipped: integration_placement needs %s\n", what);
	exit(77);
}

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return missing("root");
	if (sched_getaffinity(0, sizeof(ours), &ours) < 0 || CPU_COUNT(&ours) < 2)
		return missing("two CPUs");
	cpu_a = cpu_b = -1;
	for (int cpu = 0; cpu < CPU_SETSIZE && cpu_b < 0; cpu++) {
		if (!CPU_ISSET(cpu, &ours))
			continue;
		if (cpu_a < 0)
			cpu_a = cpu;
		else
			cpu_b = cpu;
	}
	return 0;
}

static void pin(pid_t pid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	assert_int_equal(sched_setaffinity(pid, sizeof(set), &set), 0);
}

static void allow(pid_t pid, const cpu_set_t *set)
{
	assert_int_equal(sched_setaffinity(pid, sizeof(*set), set), 0);
}

/* The CPU the daemon's loop (its main thread) last ran on. */
static int daemon_cpu(void)
{
	char path[64], text[1024];
	const char *field;
	FILE *f;
	size_t n;
	int cpu = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)d.pid);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	field = strrchr(text, ')'); /* the name may hold spaces */
	assert_non_null(field);
	/* after the name: state is field 3, processor field 39 */
	for (int i = 2; i < 39 && field != NULL; i++)
		field = strchr(field + 1, ' ');
	assert_non_null(field);
	assert_int_equal(sscanf(field, " %d", &cpu), 1);
	return cpu;
}

static void call(void)
{
	int quorate = 0;

	assert_int_equal(quorum_getquorate(handle, &quorate), CS_OK);
	assert_int_equal(quorate, 1);
}

static void sleep_us(long us)
{
	struct timespec t = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* With this process on cpu_b: `act` twice (the second offers the rings),
 * then once with the daemon's loop pinned to cpu_a, which leaves it last
 * there, allowed every CPU it was. */
static void daemon_last_on_cpu_a(void (*act)(void))
{
	act();
	act();
	pin(0, cpu_b);
	pin(d.pid, cpu_a);
	act();
	allow(d.pid, &ours);
	assert_int_equal(daemon_cpu(), cpu_a);
}

/* A daemon at SCHED_RR and a quorum connection on its rings, placed by
 * daemon_last_on_cpu_a. */
static int start(void **state)
{
	quorum_callbacks_t callbacks = { 0 };
	uint32_t type;

	(void)state;
	assert_int_equal(test_daemon_start(&d, SINGLE_NODE_CONFIG), 0);
	assert_int_equal(sched_getscheduler(d.pid), SCHED_RR);
	assert_int_equal(quorum_initialize(&handle, &callbacks, &type), CS_OK);
	daemon_last_on_cpu_a(call);
	return 0;
}

static int stop(void **state)
{
	(void)state;
	quorum_finalize(handle);
	allow(0, &ours);
	return test_daemon_stop(&d) == 0 ? 0 : -1;
}

static void assert_allowed_all(void)
{
	cpu_set_t now;

	assert_int_equal(sched_getaffinity(d.pid, sizeof(now), &now), 0);
	assert_true(CPU_EQUAL(&now, &ours));
}

/* `act` a millisecond apart until the daemon's loop runs on `cpu`; how
 * many it took, or -1 when it never did. */
static int paced_until_on(int cpu, void (*act)(void))
{
	for (int i = 1; i <= PACED_CALLS_MAX; i++) {
		sleep_us(PACE_US);
		act();
		if (daemon_cpu() == cpu)
			return i;
	}
	return -1;
}

/* Left where it was, a realtime loop would wake on cpu_a at every call. */
static void test_moves_next_to_a_paced_caller(void **state)
{
	(void)state;
	assert_int_not_equal(paced_until_on(cpu_b, call), -1);
	assert_allowed_all();
	/* and stays there: a call finds it on this CPU */
	for (int i = 0; i < 20; i++) {
		sleep_us(PACE_US);
		call();
	}
	assert_int_equal(daemon_cpu(), cpu_b);
}

static unsigned int delivered;

static void on_message(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid, uint32_t pid, void *msg,
		       size_t len)
{
	(void)h;
	(void)group;
	(void)nodeid;
	(void)pid;
	(void)msg;
	(void)len;
	delivered++;
}

static void send_and_dispatch_back(void)
{
	char payload[64] = { 0 };
	struct iovec iov = { payload, sizeof(payload) };
	unsigned int awaited = delivered + 1;

	assert_int_equal(cpg_mcast_joined(sender, CPG_TYPE_AGREED, &iov, 1), CS_OK);
	while (delivered < awaited)
		assert_int_equal(cpg_dispatch(sender, CS_DISPATCH_ONE), CS_OK);
}

/* A message posted wakes the loop, and the client sleeps on the event that
 * brings it back, not on a reply. */
static void test_moves_next_to_a_paced_sender(void **state)
{
	cpg_callbacks_t callbacks = { .cpg_deliver_fn = on_message };
	struct cpg_name group = { .length = 9, .value = "placement" };

	(void)state;
	assert_int_equal(cpg_initialize(&sender, &callbacks), CS_OK);
	assert_int_equal(cpg_join(sender, &group), CS_OK);
	daemon_last_on_cpu_a(send_and_dispatch_back);
	assert_int_not_equal(paced_until_on(cpu_b, send_and_dispatch_back), -1);
	assert_allowed_all();
	assert_int_equal(cpg_finalize(sender), CS_OK);
}

/* Calls back to back from cpu_b until the loop leaves it; whether it did. */
static bool back_to_back_until_left(void)
{
	time_t end = time(NULL) + BACK_TO_BACK_SECONDS;

	while (time(NULL) <= end) {
		for (int i = 0; i < 1000; i++)
			call();
		if (daemon_cpu() != cpu_b)
			return true;
	}
	return false;
}

/* Calls back to back gain from a CPU each, both spinning (cv-spin.h). The
 * loop leaves only a CPU it moved to itself; one that the kernel put there
 * (a realtime task of another test busy on cpu_a when it woke) it keeps, so
 * each attempt places it on cpu_a again. */
static void test_leaves_a_caller_that_calls_back_to_back(void **state)
{
	bool left = false;

	(void)state;
	for (int attempt = 0; attempt < LEAVE_ATTEMPTS && !left; attempt++) {
		if (attempt > 0)
			daemon_last_on_cpu_a(call);
		assert_int_not_equal(paced_until_on(cpu_b, call), -1);
		left = back_to_back_until_left();
	}
	assert_true(left);
	assert_allowed_all();
}

/* An administrator's pinning outlives any move. */
static void test_a_pinned_daemon_stays_pinned(void **state)
{
	cpu_set_t now;

	(void)state;
	pin(d.pid, cpu_a);
	assert_int_equal(paced_until_on(cpu_b, call), -1);
	assert_int_equal(sched_getaffinity(d.pid, sizeof(now), &now), 0);
	assert_int_equal(CPU_COUNT(&now), 1);
	assert_true(CPU_ISSET(cpu_a, &now));
}

#define RUN(t) cmocka_unit_test_setup_teardown(t, start, stop)

int main(void)
{
	const struct CMUnitTest tests[] = {
		RUN(test_moves_next_to_a_paced_caller),
		RUN(test_moves_next_to_a_paced_sender),
		RUN(test_leaves_a_caller_that_calls_back_to_back),
		RUN(test_a_pinned_daemon_stays_pinned),
	};

	return cmocka_run_group_tests_name("placement", tests, setup, NULL);
}
