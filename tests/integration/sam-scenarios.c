/* sam-scenarios NAME: one use of libsam per run, written against corosync's
 * headers only, so that the same source runs on Conclave's libraries against
 * conclaved (test_sam.c) and on Debian's against corosync 3.1.7. It prints
 * what it sees, one line per observation, and the supervisor's exit status
 * is the scenario's; pids, times and handles are never printed.
 *
 * The quorum scenarios expect the three-node configuration of test_sam.c:
 * this node alone, with expected votes 4, starts inquorate. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cmap.h>
#include <corosync/quorum.h>
#include <corosync/sam.h>
#include <corosync/votequorum.h>

static volatile sig_atomic_t warned;

static void say(const char *format, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, format);
	n = vsnprintf(line, sizeof(line) - 1, format, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDOUT_FILENO, line, (size_t)n);
}

static void result(const char *call, cs_error_t err)
{
	say("%s: %s", call, cs_strerror(err));
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void wait_for_signals(void)
{
	for (;;)
		pause();
}

static void exit_on_warning(int sig)
{
	static const char text[] = "warning signal SIGTERM\n";
	(void)!write(STDOUT_FILENO, text, sizeof(text) - 1);
	_exit(7);
}

static void note_warning(int sig)
{
	warned = 1;
}

static int failing_hc(void)
{
	return -1;
}

/* ---- the cmap keys of this application's supervisor ----------------------- */

static void supervisor_key(char *key, size_t size, const char *name)
{
	snprintf(key, size, "resources.process.%d.%s", (int)getppid(), name);
}

static char *state_string(cmap_handle_t h, const char *name)
{
	char key[CMAP_KEYNAME_MAXLEN], *value = NULL;
	supervisor_key(key, sizeof(key), name);
	if (cmap_get_string(h, key, &value) != CS_OK)
		return NULL;
	return value;
}

static uint64_t state_uint64(cmap_handle_t h, const char *name)
{
	char key[CMAP_KEYNAME_MAXLEN];
	uint64_t value = 0;
	supervisor_key(key, sizeof(key), name);
	if (cmap_get_uint64(h, key, &value) != CS_OK)
		return UINT64_MAX;
	return value;
}

static void say_string_key(cmap_handle_t h, const char *name)
{
	char *value = state_string(h, name);
	say("%s = %s", name, value ? value : "(none)");
	free(value);
}

/* ---- quorum: the helper that gives this node quorum ---------------------- */

struct quorum_helper {
	pthread_t thread;
	int wait_for_state; /* wait for state "waiting for quorum" in cmap first */
	int saw_state;
	int quorate_before;
	cs_error_t setexpected;
	volatile int asked;
};

static int getquorate(void)
{
	quorum_handle_t q;
	uint32_t type;
	int quorate = -1;
	if (quorum_initialize(&q, NULL, &type) != CS_OK)
		return -1;
	if (quorum_getquorate(q, &quorate) != CS_OK)
		quorate = -1;
	quorum_finalize(q);
	return quorate;
}

static cs_error_t setexpected(uint32_t votes)
{
	votequorum_handle_t v;
	cs_error_t err = votequorum_initialize(&v, NULL);
	if (err != CS_OK)
		return err;
	err = votequorum_setexpected(v, votes);
	votequorum_finalize(v);
	return err;
}

/* Returns 1 once the supervisor's state is wanted, 0 after 10 s. */
static int await_state(const char *wanted)
{
	cmap_handle_t h;
	int found = 0;
	if (cmap_initialize(&h) != CS_OK)
		return 0;
	for (int i = 0; i < 1000 && !found; i++) {
		char *state = state_string(h, "state");
		found = state != NULL && strcmp(state, wanted) == 0;
		free(state);
		if (!found)
			sleep_ms(10);
	}
	cmap_finalize(h);
	return found;
}

static void *quorum_helper_run(void *arg)
{
	struct quorum_helper *helper = arg;
	if (helper->wait_for_state)
		helper->saw_state = await_state("waiting for quorum");
	else
		sleep_ms(200);
	helper->quorate_before = getquorate();
	helper->asked = 1;
	helper->setexpected = setexpected(1);
	return NULL;
}

/* sam_start() while inquorate: it returns once the helper's
 * votequorum_setexpected(1) has made the node quorate. */
static void start_when_quorate(int cmap_flag)
{
	struct quorum_helper helper = { .wait_for_state = cmap_flag };
	cs_error_t err;

	pthread_create(&helper.thread, NULL, quorum_helper_run, &helper);
	err = sam_start();
	say("start returned after setexpected was called: %s", helper.asked ? "yes" : "no");
	pthread_join(helper.thread, NULL);
	if (cmap_flag)
		say("state while sam_start waited: %s", helper.saw_state ? "waiting for quorum" : "other");
	say("quorate before setexpected: %d", helper.quorate_before);
	result("votequorum_setexpected(1)", helper.setexpected);
	result("sam_start", err);
	say("quorate: %d", getquorate());
}

/* corosync refuses to make a quorate partition inquorate through
 * votequorum_setexpected; a change of the configured expected votes does it.
 * The warning signal waits until the result is printed. */
static void lose_quorum(void)
{
	sigset_t term, old;
	cmap_handle_t h;

	result("votequorum_setexpected(4) while quorate", setexpected(4));
	if (cmap_initialize(&h) != CS_OK)
		return;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	result("cmap set quorum.expected_votes 4", cmap_set_uint32(h, "quorum.expected_votes", 4));
	sigprocmask(SIG_SETMASK, &old, NULL);
	cmap_finalize(h);
}

/* ---- the scenarios ----------------------------------------------------------- */

static void every_call_before_initialize(void)
{
	char buf[16];
	size_t size;
	unsigned int id;

	result("sam_finalize", sam_finalize());
	result("sam_start", sam_start());
	result("sam_stop", sam_stop());
	result("sam_hc_send", sam_hc_send());
	result("sam_warn_signal_set", sam_warn_signal_set(SIGUSR1));
	result("sam_register", sam_register(&id));
	result("sam_hc_callback_register", sam_hc_callback_register(failing_hc));
	result("sam_data_getsize", sam_data_getsize(&size));
	result("sam_data_getsize(NULL)", sam_data_getsize(NULL));
	result("sam_data_restore", sam_data_restore(buf, sizeof(buf)));
	result("sam_data_restore(NULL)", sam_data_restore(NULL, sizeof(buf)));
	result("sam_data_store", sam_data_store("x", 1));
	result("sam_mark_failed", sam_mark_failed());
}

static int scenario_calls(void)
{
	static const int bad_policies[] = { 0,
					    3,
					    4,
					    SAM_RECOVERY_POLICY_QUORUM,
					    SAM_RECOVERY_POLICY_CMAP,
					    SAM_RECOVERY_POLICY_QUORUM | SAM_RECOVERY_POLICY_CMAP,
					    0x20 | SAM_RECOVERY_POLICY_QUIT };
	char buf[16] = "";
	size_t size = 99;

	every_call_before_initialize();
	for (size_t i = 0; i < sizeof(bad_policies) / sizeof(bad_policies[0]); i++) {
		say("sam_initialize policy 0x%x: %s", bad_policies[i],
		    cs_strerror(sam_initialize(1000, (sam_recovery_policy_t)bad_policies[i])));
	}
	result("sam_initialize", sam_initialize(1000, SAM_RECOVERY_POLICY_QUIT));
	result("sam_initialize again", sam_initialize(1000, SAM_RECOVERY_POLICY_QUIT));
	result("sam_start", sam_start());
	result("sam_stop", sam_stop());
	result("sam_hc_send", sam_hc_send());
	result("sam_hc_callback_register", sam_hc_callback_register(failing_hc));
	result("sam_mark_failed", sam_mark_failed());
	result("sam_warn_signal_set", sam_warn_signal_set(SIGKILL));

	sam_data_getsize(&size);
	say("size: %zu", size);
	result("sam_data_restore nothing stored", sam_data_restore(buf, 0));
	result("sam_data_store abc", sam_data_store("abc", 4));
	sam_data_getsize(&size);
	say("size: %zu", size);
	result("sam_data_restore into 3", sam_data_restore(buf, 3));
	result("sam_data_restore into 16", sam_data_restore(buf, sizeof(buf)));
	say("restored: %s", buf);
	result("sam_data_store wxyz", sam_data_store("wxyz", 5));
	result("sam_data_restore into 16", sam_data_restore(buf, sizeof(buf)));
	say("restored: %s", buf);
	result("sam_data_store(NULL, 99)", sam_data_store(NULL, 99));
	sam_data_getsize(&size);
	say("size: %zu", size);

	result("sam_finalize", sam_finalize());
	result("sam_finalize again", sam_finalize());
	result("sam_data_getsize", sam_data_getsize(&size));
	result("sam_data_store", sam_data_store("x", 1));
	result("sam_warn_signal_set", sam_warn_signal_set(SIGTERM));
	result("sam_register", sam_register(NULL));
	result("sam_initialize after finalize", sam_initialize(1000, SAM_RECOVERY_POLICY_QUIT));
	return 0;
}

static int scenario_register(void)
{
	unsigned int id = 0;
	char buf[16] = "";
	size_t size = 0;

	result("sam_initialize", sam_initialize(0, SAM_RECOVERY_POLICY_QUIT));
	result("sam_data_store before", sam_data_store("before", 7));
	result("sam_register", sam_register(&id));
	say("instance %u", id);
	result("sam_register again", sam_register(NULL));
	result("sam_hc_send", sam_hc_send());
	result("sam_stop", sam_stop());
	result("sam_mark_failed", sam_mark_failed());
	result("sam_hc_callback_register", sam_hc_callback_register(failing_hc));
	sam_data_getsize(&size);
	sam_data_restore(buf, sizeof(buf));
	say("size %zu: %s", size, buf);
	result("sam_warn_signal_set", sam_warn_signal_set(SIGUSR2));
	result("sam_start", sam_start());
	result("sam_start again", sam_start());
	result("sam_hc_callback_register", sam_hc_callback_register(failing_hc));
	result("sam_hc_send", sam_hc_send());
	result("sam_stop", sam_stop());
	result("sam_start", sam_start());
	result("sam_finalize", sam_finalize());
	result("sam_hc_send", sam_hc_send());
	result("sam_start", sam_start());
	result("sam_data_getsize", sam_data_getsize(&size));
	return 3;
}

static int scenario_quit(void)
{
	unsigned int id = 0;

	sam_initialize(1000, SAM_RECOVERY_POLICY_QUIT);
	result("sam_register", sam_register(&id));
	say("instance %u", id);
	result("sam_start", sam_start());
	for (int i = 0; i < 5; i++) {
		sam_hc_send();
		sleep_ms(50);
	}
	result("sam_stop", sam_stop());
	sleep_ms(2100);
	say("stopped for two intervals: not killed");
	signal(SIGTERM, exit_on_warning);
	result("sam_start", sam_start());
	wait_for_signals();
	return 1;
}

static int scenario_quit_ignored(void)
{
	sam_initialize(300, SAM_RECOVERY_POLICY_QUIT);
	sam_register(NULL);
	signal(SIGTERM, SIG_IGN);
	result("sam_start", sam_start());
	wait_for_signals();
	return 1;
}

static void restart_instance_2(void)
{
	char buf[32] = "";

	sam_data_restore(buf, sizeof(buf));
	say("restored: %s", buf);
	signal(SIGUSR1, note_warning);
	result("sam_warn_signal_set SIGUSR1", sam_warn_signal_set(SIGUSR1));
	result("sam_start", sam_start());
	while (!warned)
		pause();
	say("warned by SIGUSR1");
	result("sam_data_store", sam_data_store("two, warned", 12));
	wait_for_signals();
}

static int scenario_restart(void)
{
	unsigned int id = 0;
	char buf[32] = "";

	sam_initialize(1000, SAM_RECOVERY_POLICY_RESTART);
	sam_register(&id);
	say("instance %u", id);
	if (id == 1) {
		result("sam_data_store", sam_data_store("one", 4));
		result("sam_start", sam_start());
		wait_for_signals();
	}
	if (id == 2)
		restart_instance_2();
	sam_data_restore(buf, sizeof(buf));
	say("restored: %s", buf);
	return 4;
}

static int counting_hc(void)
{
	static int calls;
	calls++;
	sam_data_store(&calls, sizeof(calls));
	return calls >= 3 ? -1 : 0;
}

static int scenario_hc_callback(void)
{
	unsigned int id = 0;
	int calls = 0;

	sam_initialize(1000, SAM_RECOVERY_POLICY_RESTART);
	sam_register(&id);
	say("instance %u", id);
	if (id == 1) {
		result("sam_hc_callback_register(NULL)", sam_hc_callback_register(NULL));
		result("sam_hc_callback_register failing", sam_hc_callback_register(failing_hc));
		result("sam_hc_callback_register counting", sam_hc_callback_register(counting_hc));
		result("sam_start", sam_start());
		wait_for_signals();
	}
	sam_data_restore(&calls, sizeof(calls));
	say("the callback ran %d times", calls);
	return 0;
}

static int scenario_cmap(void)
{
	cmap_handle_t h;
	uint64_t before;

	sam_initialize(1000, SAM_RECOVERY_POLICY_QUIT | SAM_RECOVERY_POLICY_CMAP);
	result("sam_register", sam_register(NULL));
	if (cmap_initialize(&h) != CS_OK)
		return 1;
	say_string_key(h, "recovery");
	say("poll_period = %" PRIu64, state_uint64(h, "poll_period"));
	say_string_key(h, "state");
	result("sam_start", sam_start());
	say_string_key(h, "state");
	before = state_uint64(h, "last_updated");
	sleep_ms(20);
	result("sam_hc_send", sam_hc_send());
	sleep_ms(100);
	say("last_updated advanced: %s", state_uint64(h, "last_updated") > before ? "yes" : "no");
	result("sam_stop", sam_stop());
	say_string_key(h, "state");
	cmap_finalize(h);
	return 0;
}

static int scenario_mark_failed(void)
{
	cmap_handle_t h;

	sam_initialize(1000, SAM_RECOVERY_POLICY_RESTART | SAM_RECOVERY_POLICY_CMAP);
	sam_register(NULL);
	if (cmap_initialize(&h) != CS_OK)
		return 1;
	say_string_key(h, "recovery");
	result("sam_start", sam_start());
	cmap_finalize(h);
	signal(SIGTERM, exit_on_warning);
	say("sam_mark_failed");
	sam_mark_failed();
	wait_for_signals();
	return 1;
}

static int scenario_quorum_quit(void)
{
	cmap_handle_t h;

	result("sam_initialize",
	       sam_initialize(0, SAM_RECOVERY_POLICY_QUORUM_QUIT | SAM_RECOVERY_POLICY_CMAP));
	result("sam_register", sam_register(NULL));
	start_when_quorate(1);
	if (cmap_initialize(&h) == CS_OK) {
		say_string_key(h, "state");
		cmap_finalize(h);
	}
	signal(SIGTERM, exit_on_warning);
	lose_quorum();
	wait_for_signals();
	return 1;
}

static int scenario_quorum_restart(void)
{
	unsigned int id = 0;

	result("sam_initialize", sam_initialize(0, SAM_RECOVERY_POLICY_QUORUM_RESTART));
	sam_register(&id);
	say("instance %u", id);
	start_when_quorate(0);
	if (id == 1) {
		lose_quorum();
		wait_for_signals();
	}
	result("sam_stop", sam_stop());
	return 5;
}

/* Run with no daemon to reach. */
static int scenario_no_daemon(void)
{
	result("sam_initialize quorum", sam_initialize(0, SAM_RECOVERY_POLICY_QUORUM_QUIT));
	result("sam_initialize cmap", sam_initialize(0, SAM_RECOVERY_POLICY_QUIT | SAM_RECOVERY_POLICY_CMAP));
	result("sam_register", sam_register(NULL));
	return 0;
}

static const struct {
	const char *name;
	int (*run)(void);
} scenarios[] = {
	{ "calls", scenario_calls },
	{ "register", scenario_register },
	{ "quit", scenario_quit },
	{ "quit-ignored", scenario_quit_ignored },
	{ "restart", scenario_restart },
	{ "hc-callback", scenario_hc_callback },
	{ "cmap", scenario_cmap },
	{ "mark-failed", scenario_mark_failed },
	{ "quorum-quit", scenario_quorum_quit },
	{ "quorum-restart", scenario_quorum_restart },
	{ "no-daemon", scenario_no_daemon },
};

int main(int argc, char **argv)
{
	for (size_t i = 0; argc == 2 && i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (strcmp(argv[1], scenarios[i].name) == 0)
			return scenarios[i].run();
	fprintf(stderr, "usage: sam-scenarios NAME\n");
	return 2;
}
