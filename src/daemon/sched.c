#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/resource.h>

#include "cv-clock.h"
#include "cv-log.h"
#include "cv-loop.h"
#include "cv-sched.h"
#include "cv-spin.h"

/* Where the loop runs (cv-sched.h): a move is proposed by a run of wakes
 * in a row that call for it, and made at most once per interval, so that
 * clients on several CPUs cannot keep the loop migrating. */
#define FOLLOW_AFTER_WAKES 3
#define LEAVE_AFTER_WAKES 8
#define MOVE_INTERVAL_NS (10u * 1000u * 1000u)
#define NOWHERE (-1)
#define ANOTHER_CPU (-2)

static struct {
	bool realtime;
	int proposed;      /* a CPU, ANOTHER_CPU or NOWHERE */
	unsigned in_a_row; /* wakes that proposed it */
	int followed;      /* the CPU a follow took the loop to; NOWHERE */
	uint64_t moved_ns;
} placement = { .proposed = NOWHERE, .followed = NOWHERE };

/* 0, or -1 with errno; *priority is the one asked for. */
static int set_round_robin(int *priority)
{
	struct sched_param param = { 0 };

	*priority = sched_get_priority_max(SCHED_RR);
	if (*priority < 0)
		return -1;
	param.sched_priority = *priority;
	return sched_setscheduler(0, SCHED_RR, &param);
}

/* corosync applies the value to its process group, which in the foreground
 * holds whatever started it; conclaved applies it to itself alone. */
static void set_nice(int nice, const char *why)
{
	if (setpriority(PRIO_PROCESS, 0, nice) < 0) {
		cv_log_warning(
			"cannot set nice %d (%s): %m; conclaved runs at the priority it was started with",
			nice, why);
		return;
	}
	cv_log_info("scheduling: SCHED_OTHER at nice %d (%s)", nice, why);
}

void cv_sched_apply(const struct cv_sched_settings *s)
{
	int priority;

	if (s->move_to_root_cgroup == CV_ROOT_CGROUP_YES)
		cv_log_notice(
			"system.move_to_root_cgroup is yes, but conclaved does not move itself between cgroups");
	if (s->sched_rr) {
		if (set_round_robin(&priority) == 0) {
			cv_log_info("scheduling: SCHED_RR at priority %d (system.sched_rr: yes)", priority);
			placement.realtime = true;
			return;
		}
		cv_log_warning(
			"cannot set SCHED_RR at priority %d: %m; trying the highest nice priority instead",
			priority);
		set_nice(CV_NICE_HIGHEST, "the fallback of system.sched_rr: yes");
		return;
	}
	if (s->nice == 0) {
		cv_log_info("scheduling: as started (system.sched_rr: no, no system.priority)");
		return;
	}
	set_nice(s->nice, "system.priority");
}

/* Allowed only `set` for a moment, which moves the running loop at once,
 * then every CPU it was allowed before (read now: an administrator may have
 * pinned the daemon since it started). */
static bool move_within(const cpu_set_t *allowed, const cpu_set_t *set)
{
	if (sched_setaffinity(0, sizeof(*set), set) < 0)
		return false;
	if (sched_setaffinity(0, sizeof(*allowed), allowed) < 0)
		cv_log_error("cannot allow conclaved its CPUs again after moving it: %m");
	return true;
}

static bool move(int where, int here)
{
	cpu_set_t allowed, set;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return false;
	if (where == ANOTHER_CPU) {
		set = allowed;
		CPU_CLR(here, &set);
		if (CPU_COUNT(&set) == 0)
			return false;
	} else {
		if (!CPU_ISSET(where, &allowed))
			return false;
		CPU_ZERO(&set);
		CPU_SET(where, &set);
	}
	return move_within(&allowed, &set);
}

/* Whether `where` has now been proposed by as many wakes in a row as it
 * needs, and the last move is long enough ago. */
static bool proposed(int where, unsigned needed)
{
	uint64_t now;

	if (where != placement.proposed) {
		placement.proposed = where;
		placement.in_a_row = 0;
	}
	if (where == NOWHERE || ++placement.in_a_row < needed)
		return false;
	now = cv_clock_ns();
	if (now - placement.moved_ns < MOVE_INTERVAL_NS)
		return false;
	placement.moved_ns = now;
	placement.proposed = NOWHERE;
	return true;
}

void cv_sched_woken_by(uint32_t waker_cpu, bool waits)
{
	int cpu = (int)waker_cpu - 1, here;
	bool slept_long;

	/* waker_cpu is the client's word: any value may come */
	if (!placement.realtime || waker_cpu == 0 || waker_cpu > CPU_SETSIZE)
		return;
	here = sched_getcpu();
	if (here < 0)
		return;
	slept_long = cv_loop_slept_ns() >= CV_SPIN_MAX_NS;
	if (cpu != here && waits && slept_long) {
		if (proposed(cpu, FOLLOW_AFTER_WAKES) && move(cpu, here))
			placement.followed = cpu;
	} else if (cpu == here && here == placement.followed && !slept_long) {
		if (proposed(ANOTHER_CPU, LEAVE_AFTER_WAKES) && move(ANOTHER_CPU, here))
			placement.followed = NOWHERE;
	} else {
		proposed(NOWHERE, 0);
	}
}
