/* The counter service's handlers, built into the module counter.so that
 * conclaved loads from its service directory. One counter per daemon; each
 * session that called counter_trackstart() is told of every change another
 * session makes. A tracker whose event queue is full misses the changes in
 * between and gets the latest value once its queue has room: a counter's
 * latest value is all a tracker needs, so nothing else is kept for it.
 * conclaved's configuration may limit the trackers: counter { max_trackers: N }. */
#include <stdlib.h>

#include "counter-server.h"

struct tracker {
	struct cv_list link; /* in trackers, while tracking */
	struct cv_session *session;
	bool behind; /* a change was not sent: the queue was full */
};

static int64_t counter;
static struct cv_list trackers = CV_LIST_INIT(trackers);
static size_t n_trackers;
static uint32_t max_trackers = 64;
static struct cv_timer *catch_up_timer;

static void send_value(struct tracker *t)
{
	CounterChangedEvent event = COUNTER_CHANGED_EVENT__INIT;
	event.value = counter;
	t->behind = counter_send_changed(t->session, &event) == CS_ERR_TRY_AGAIN;
}

static void notify_others(struct cv_session *changer)
{
	struct tracker *t;
	cv_list_for_each (t, &trackers, link)
		if (t->session != changer)
			send_value(t);
}

static void catch_up(void *unused)
{
	struct tracker *t;
	cv_list_for_each (t, &trackers, link)
		if (t->behind && cv_session_is_open(t->session))
			send_value(t);
}

cs_error_t counter_handle_add(struct cv_session *s, const CounterAddRequest *request, CounterAddReply *reply)
{
	int64_t sum;
	if (__builtin_add_overflow(counter, request->delta, &sum))
		return CS_ERR_INVALID_PARAM;
	counter = sum;
	reply->value = counter;
	notify_others(s);
	return CS_OK;
}

cs_error_t counter_handle_get(struct cv_session *s, const CounterGetRequest *request, CounterGetReply *reply)
{
	reply->value = counter;
	return CS_OK;
}

cs_error_t counter_handle_trackstart(struct cv_session *s, const CounterTrackstartRequest *request,
				     CounterTrackstartReply *reply)
{
	struct tracker *t = cv_session_private(s);
	if (cv_list_linked(&t->link))
		return CS_ERR_EXIST;
	if (n_trackers == max_trackers)
		return CS_ERR_NO_RESOURCES;
	cv_list_insert(&trackers, &t->link);
	n_trackers++;
	return CS_OK;
}

/* counter { max_trackers: N } of conclaved's configuration (conf is NULL
 * without one); a bad value stops the module from loading. */
static int read_max_trackers(const struct cv_conf *conf, uint32_t *out, char *err, size_t err_size)
{
	const struct cv_conf_reader r = { .conf = conf, .err = err, .err_size = err_size };
	const struct cv_conf_node *section = cv_conf_section(cv_conf_root(&r), "counter");
	return cv_conf_get_u32(&r, section, "max_trackers", 1, 100000, out);
}

static int counter_configure(const struct cv_conf *conf, char *err, size_t err_size)
{
	return read_max_trackers(conf, &max_trackers, err, err_size) < 0 ? -1 : CV_SERVICE_OFFERED;
}

/* A reloaded file is checked; the limit stays as it was at start. */
static int counter_check_reload(const struct cv_conf *next, char *err, size_t err_size)
{
	uint32_t unused = max_trackers;
	return read_max_trackers(next, &unused, err, err_size);
}

static int counter_start(void)
{
	catch_up_timer = cv_timer_new(catch_up, NULL);
	if (!catch_up_timer)
		return -1;
	cv_log_info("counter: started");
	return 0;
}

static void counter_stop(void)
{
	cv_timer_free(catch_up_timer);
	catch_up_timer = NULL;
}

static int counter_connect(struct cv_session *s)
{
	struct tracker *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	cv_list_init(&t->link);
	t->session = s;
	cv_session_set_private(s, t);
	return 0;
}

static void counter_disconnect(struct cv_session *s)
{
	struct tracker *t = cv_session_private(s);
	if (cv_list_linked(&t->link))
		n_trackers--;
	cv_list_remove(&t->link);
	free(t);
}

/* Runs inside other sessions' handlers: only schedules the catch-up. */
static void counter_room(struct cv_session *s)
{
	struct tracker *t = cv_session_private(s);
	if (t->behind && !cv_timer_pending(catch_up_timer))
		cv_timer_start(catch_up_timer, 0);
}

const struct cv_service_ops counter_service_ops = {
	.configure = counter_configure,
	.check_reload = counter_check_reload,
	.start = counter_start,
	.stop = counter_stop,
	.connect = counter_connect,
	.disconnect = counter_disconnect,
	.room = counter_room,
};

CV_SERVICE_MODULE(counter_server_service);
