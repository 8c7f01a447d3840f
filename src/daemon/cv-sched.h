/* The daemon's scheduling, set once at start from system {} as corosync
 * 3.1.7 sets its own: SCHED_RR at the highest priority unless sched_rr is
 * no, falling back to the highest nice priority when that is refused, and
 * system.priority as a nice value with sched_rr: no. A refusal (not root, a
 * service manager that withholds CAP_SYS_NICE) is a warning: the daemon
 * runs on as it was started. The daemon's loop never polls for longer than
 * cv-spin.h's budget, so realtime priority cannot take a core from the rest
 * of the machine. */
#ifndef CONCLAVE_CV_SCHED_H
#define CONCLAVE_CV_SCHED_H

#include <conclave/settings.h>

/* Before any thread starts: the threads started later inherit it. */
void cv_sched_apply(const struct cv_sched_settings *s);

#endif
