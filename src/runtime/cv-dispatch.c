/* The dispatch engine: corosync's cs_dispatch_flags_t semantics, once.
 *
 *   ONE              blocks for one event, delivers it, returns CS_OK
 *   ALL              delivers until nothing is pending, then CS_OK
 *   BLOCKING         delivers forever; returns only on error or finalize
 *   ONE_NONBLOCKING  delivers at most one event; CS_ERR_TRY_AGAIN if none
 *
 * An event is delivered even when its callback is NULL (it is consumed).
 * finalize inside a callback makes dispatch return CS_ERR_BAD_HANDLE at once;
 * the reference dispatch holds keeps the client alive until then.
 */
#include <stdlib.h>

#include "cv-client.h"
#include "cv-trace.h"
#include "cv-split.h"

static bool dispatch_flags_valid(int flags)
{
	return flags == CS_DISPATCH_ONE || flags == CS_DISPATCH_ALL || flags == CS_DISPATCH_BLOCKING ||
	       flags == CS_DISPATCH_ONE_NONBLOCKING;
}

static bool event_queued(struct cv_client *c, void *arg)
{
	return c->queue_head != NULL;
}

/* Lock held. The callback is read at delivery time, so a table replaced by
 * callbacks_set, even from inside a callback, applies to the next event. */
static cv_callback_fn callback_snapshot(const struct cv_client *c, uint16_t event_id)
{
	if (c->callbacks == NULL || event_id >= c->svc->n_events)
		return NULL;
	return c->callbacks[event_id];
}

/* How a dispatch reads the socket: ONE and ONE_NONBLOCKING no further than
 * the end of one frame, so that no event they did not deliver is left
 * behind in the library; ALL and BLOCKING in bulk, as they deliver all
 * they read. */
static unsigned int read_flags(int flags)
{
	switch (flags) {
	case CS_DISPATCH_ONE:
		return CV_WAIT_BLOCK | CV_WAIT_ONE_FRAME;
	case CS_DISPATCH_ONE_NONBLOCKING:
		return CV_WAIT_ONE_FRAME;
	case CS_DISPATCH_BLOCKING:
		return CV_WAIT_BLOCK;
	default:
		return 0;
	}
}

/* Lock held. */
static void event_take(struct cv_client *c, struct cv_event **event, cv_callback_fn *fn)
{
	*event = cv_client_event_pop(c);
	*fn = callback_snapshot(c, (*event)->id);
}

static cs_error_t event_next(struct cv_client *c, unsigned int read, struct cv_event **event,
			     cv_callback_fn *fn)
{
	cs_error_t err;

	pthread_mutex_lock(&c->lock);
	err = cv_client_wait(c, &c->events, event_queued, NULL, read, 0);
	if (err == CS_OK)
		event_take(c, event, fn);
	pthread_mutex_unlock(&c->lock);
	return err;
}

/* An event read already, without reading more: false when there is none. */
static bool event_next_read(struct cv_client *c, struct cv_event **event, cv_callback_fn *fn)
{
	bool queued;

	pthread_mutex_lock(&c->lock);
	queued = event_queued(c, NULL) && !c->finalized;
	if (queued)
		event_take(c, event, fn);
	pthread_mutex_unlock(&c->lock);
	return queued;
}

static cs_error_t event_deliver(const struct cv_client *c, uint64_t handle, const struct cv_event *event,
				cv_callback_fn fn)
{
	const struct cv_client_service *svc = c->svc;
	const struct cv_event_desc *desc;
	const ProtobufCFieldDescriptor *split_field;
	ProtobufCMessage *message;
	const char *why;
	cs_error_t err;

	if (event->id >= svc->n_events)
		return CS_ERR_LIBRARY;
	desc = &svc->events[event->id];
	if (desc->message == NULL || desc->deliver == NULL)
		return CS_ERR_LIBRARY;
	if (fn == NULL && !cv_trace_client_enabled())
		return CS_OK;
	if (event->ringed)
		message = cv_payload_unpack_shared(desc->message, NULL, event->payload, event->length,
						   cv_event_ring_bytes(&c->event_ring, &event->place),
						   &split_field, &why);
	else
		message = cv_payload_unpack(desc->message, NULL, event->split, event->payload, event->length,
					    &split_field, &why);
	if (message == NULL)
		return CS_ERR_LIBRARY;
	cv_client_trace_event(c, event->id, message);
	err = fn != NULL ? desc->deliver(handle, fn, message) : CS_OK;
	cv_payload_free(message, split_field, NULL);
	return err;
}

static bool client_finalized(struct cv_client *c)
{
	bool finalized;

	pthread_mutex_lock(&c->lock);
	finalized = c->finalized;
	pthread_mutex_unlock(&c->lock);
	return finalized;
}

/* After a callback failed, the events already read are still delivered
 * (the socket no longer shows them), and nothing more is read; the first
 * failure is returned. */
static cs_error_t dispatch_run(struct cv_client *c, uint64_t handle, int flags)
{
	bool just_one = flags == CS_DISPATCH_ONE || flags == CS_DISPATCH_ONE_NONBLOCKING;
	cs_error_t failed = CS_OK;
	struct cv_event *event;
	cv_callback_fn fn;
	cs_error_t err;

	if (flags == CS_DISPATCH_ALL || flags == CS_DISPATCH_ONE_NONBLOCKING) {
		err = cv_client_settle_posts(c);
		if (err != CS_OK)
			return err;
	}
	for (;;) {
		if (failed != CS_OK) {
			if (!event_next_read(c, &event, &fn))
				return failed;
		} else {
			err = event_next(c, read_flags(flags), &event, &fn);
			if (err == CS_ERR_TRY_AGAIN)
				return flags == CS_DISPATCH_ALL ? CS_OK : CS_ERR_TRY_AGAIN;
			if (err != CS_OK)
				return err;
		}
		err = event_deliver(c, handle, event, fn);
		cv_client_event_free(c, event);
		if (client_finalized(c))
			return CS_ERR_BAD_HANDLE;
		if (just_one)
			return err;
		if (failed == CS_OK)
			failed = err;
	}
}

cs_error_t cv_client_dispatch(const struct cv_client_service *svc, uint64_t handle, int dispatch_flags)
{
	struct cv_client *c;
	cs_error_t err;

	if (!dispatch_flags_valid(dispatch_flags))
		return CS_ERR_INVALID_PARAM;
	err = cv_client_acquire(svc, handle, &c);
	if (err != CS_OK)
		return err;
	err = dispatch_run(c, handle, dispatch_flags);
	cv_client_release(svc, handle);
	return err;
}
