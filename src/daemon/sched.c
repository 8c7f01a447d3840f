#include <errno.h>
#include <sched.h>
#include <sys/resource.h>

#include "cv-log.h"
#include "cv-sched.h"

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
