/* The adaptive polling policy of cv-spin.h, on a clock the test drives:
 * who polls, how the window grows and shrinks, and the budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cv-spin.h"

#define US 1000u
#define START (1000u * 1000u * 1000u) /* an arbitrary clock reading */

/* One wait that begins at *now and ends with work `after` ns later: found
 * by the poll when that is within its window. Returns the window. */
static uint64_t wait_for_work(struct cv_spin *spin, uint64_t *now, uint64_t after)
{
	uint64_t window = cv_spin_window(spin, *now);
	bool found = after <= window;

	cv_spin_done(spin, *now, window, found, *now + after);
	*now += after;
	return window;
}

static void test_nobody_polls_before_any_work(void **state)
{
	struct cv_spin spin = { 0 };

	assert_int_equal(cv_spin_window(&spin, START), 0);
}

/* A caller whose next call starts more than CV_SPIN_MAX_NS after its last
 * reply (a paced one, or an idle daemon) never polls, however well polling
 * did before. */
static void test_a_paced_caller_does_not_poll(void **state)
{
	struct cv_spin spin = { 0 };
	uint64_t now = START;

	for (int i = 0; i < 10; i++)
		wait_for_work(&spin, &now, 15 * US);
	assert_true(cv_spin_window(&spin, now) > 0);
	now += CV_SPIN_MAX_NS + 1;
	assert_int_equal(cv_spin_window(&spin, now), 0);
}

/* Back to back: each wait that ends within CV_SPIN_MAX_NS doubles the
 * window from CV_SPIN_START_NS until the poll finds the work, and a poll
 * that finds it keeps the window. */
static void test_the_window_grows_while_polls_would_find_work(void **state)
{
	struct cv_spin spin = { 0 };
	uint64_t now = START;

	cv_spin_worked(&spin, now);
	assert_int_equal(wait_for_work(&spin, &now, 30 * US), 0);
	assert_int_equal(wait_for_work(&spin, &now, 30 * US), CV_SPIN_START_NS);
	assert_int_equal(wait_for_work(&spin, &now, 30 * US), 2 * CV_SPIN_START_NS);
	assert_int_equal(wait_for_work(&spin, &now, 30 * US), 4 * CV_SPIN_START_NS);
	assert_int_equal(wait_for_work(&spin, &now, 30 * US), 4 * CV_SPIN_START_NS);
	for (int i = 0; i < 10; i++)
		wait_for_work(&spin, &now, CV_SPIN_MAX_NS);
	assert_int_equal(cv_spin_window(&spin, now), CV_SPIN_MAX_NS);
}

/* A wait longer than CV_SPIN_MAX_NS, which no poll would have shortened,
 * drops the window to zero. */
static void test_the_window_drops_to_zero_when_work_comes_late(void **state)
{
	struct cv_spin spin = { 0 };
	uint64_t now = START;

	cv_spin_worked(&spin, now);
	for (int i = 0; i < 4; i++)
		wait_for_work(&spin, &now, 20 * US);
	assert_true(cv_spin_window(&spin, now) > 0);
	wait_for_work(&spin, &now, CV_SPIN_MAX_NS + 1);
	cv_spin_worked(&spin, now);
	assert_int_equal(cv_spin_window(&spin, now), 0);
}

/* Polls that find nothing stop once they have cost CV_SPIN_BUDGET_NS in a
 * period, and start again with the next period: here work comes in turn
 * soon (the window opens) and late (the poll finds nothing). */
static void test_fruitless_polls_stop_at_the_budget(void **state)
{
	struct cv_spin spin = { 0 };
	uint64_t now = START, wasted = 0;

	cv_spin_worked(&spin, now);
	wait_for_work(&spin, &now, 1 * US);
	while (cv_spin_window(&spin, now) > 0) {
		wasted += wait_for_work(&spin, &now, CV_SPIN_MAX_NS + 1);
		wait_for_work(&spin, &now, 1 * US);
		assert_true(wasted <= CV_SPIN_BUDGET_NS);
	}
	assert_int_equal(wasted, CV_SPIN_BUDGET_NS);
	assert_true(now - START < CV_SPIN_PERIOD_NS);
	now += CV_SPIN_PERIOD_NS;
	cv_spin_worked(&spin, now);
	assert_int_equal(cv_spin_window(&spin, now), CV_SPIN_START_NS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nobody_polls_before_any_work),
		cmocka_unit_test(test_a_paced_caller_does_not_poll),
		cmocka_unit_test(test_the_window_grows_while_polls_would_find_work),
		cmocka_unit_test(test_the_window_drops_to_zero_when_work_comes_late),
		cmocka_unit_test(test_fruitless_polls_stop_at_the_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
