/* Adaptive polling, shared by the client runtime (waiting for a reply) and
 * conclaved (waiting for the next request after a batch), as KVM's
 * halt-polling does it: polling before sleeping saves the wake-up from idle
 * when work comes within microseconds, and costs a core's time when it does
 * not. So the window grows while polls would have found work (a wait that
 * ended within CV_SPIN_MAX_NS), drops to zero once a wait lasts longer, and
 * nobody polls when the last work ended more than CV_SPIN_MAX_NS ago (a
 * paced caller, an idle daemon). Polls that find nothing are also held to a
 * budget of CV_SPIN_BUDGET_NS per CV_SPIN_PERIOD_NS (a few percent of a
 * core); past it, nobody polls until the period ends.
 *
 *   window = cv_spin_window(&spin, began = cv_clock_ns());
 *   poll for up to `window` ns; found = whether the poll found work;
 *   if not, sleep until work comes;
 *   cv_spin_done(&spin, began, window, found, cv_clock_ns());
 *
 * and a side that knows its work just ended (the daemon after a batch) says
 * so with cv_spin_worked first.
 */
#ifndef CONCLAVE_CV_SPIN_H
#define CONCLAVE_CV_SPIN_H

#include <stdbool.h>
#include <stdint.h>

#define CV_SPIN_START_NS (10u * 1000u)
#define CV_SPIN_MAX_NS (50u * 1000u)
#define CV_SPIN_PERIOD_NS (100u * 1000u * 1000u)
#define CV_SPIN_BUDGET_NS (3u * 1000u * 1000u)

struct cv_spin {
	uint64_t window_ns;    /* how long the next poll may last; 0: none */
	uint64_t last_work_ns; /* when the last wait ended with work */
	uint64_t period_ns;    /* when the budget's period began */
	uint64_t wasted_ns;    /* polled without finding work, this period */
};

/* Work ended at `now`. */
void cv_spin_worked(struct cv_spin *spin, uint64_t now) __attribute__((visibility("hidden")));

/* How long to poll, for a wait that begins at `now`. */
uint64_t cv_spin_window(struct cv_spin *spin, uint64_t now) __attribute__((visibility("hidden")));

/* The wait that began at `began` with a poll of `window` ns ended with work
 * at `now`, found by the poll or not. */
void cv_spin_done(struct cv_spin *spin, uint64_t began, uint64_t window, bool found, uint64_t now)
	__attribute__((visibility("hidden")));

#endif
