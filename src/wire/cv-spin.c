#include "cv-spin.h"

void cv_spin_worked(struct cv_spin *spin, uint64_t now)
{
	spin->last_work_ns = now;
}

uint64_t cv_spin_window(struct cv_spin *spin, uint64_t now)
{
	if (now - spin->period_ns >= CV_SPIN_PERIOD_NS) {
		spin->period_ns = now;
		spin->wasted_ns = 0;
	}
	if (spin->wasted_ns >= CV_SPIN_BUDGET_NS || spin->last_work_ns == 0 ||
	    now - spin->last_work_ns > CV_SPIN_MAX_NS)
		return 0;
	return spin->window_ns;
}

void cv_spin_done(struct cv_spin *spin, uint64_t began, uint64_t window, bool found, uint64_t now)
{
	spin->last_work_ns = now;
	if (found)
		return;
	spin->wasted_ns += window;
	if (now - began > CV_SPIN_MAX_NS)
		spin->window_ns = 0;
	else if (spin->window_ns == 0)
		spin->window_ns = CV_SPIN_START_NS;
	else if (spin->window_ns < CV_SPIN_MAX_NS)
		spin->window_ns = spin->window_ns * 2 < CV_SPIN_MAX_NS ? spin->window_ns * 2 : CV_SPIN_MAX_NS;
}
