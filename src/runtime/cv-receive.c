/* Receiving: the single-reader token, routing complete frames (replies to
 * their calls, events to the queue) and waiting for a condition. See
 * cv-client.h for the threading model.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "cv-client.h"
#include "cv-clock.h"
#include "cv-limits.h"
#include "cv-socket.h"

/* ---- routing complete frames (lock held) ---- */

/* A large event keeps the receive buffer it arrived in: copying it out
 * would cost more than a fresh buffer for what follows it. */
static struct cv_event *event_adopting(struct cv_client *c, const uint8_t *payload)
{
	struct cv_event *event = malloc(sizeof(*event));
	const uint8_t *buffer = c->rx.data;

	if (event == NULL)
		return NULL;
	event->storage = cv_rx_adopt(&c->rx, &c->spare_rx, &event->storage_size);
	if (event->storage == NULL) {
		free(event);
		return NULL;
	}
	event->payload = event->storage + (payload - buffer);
	return event;
}

static struct cv_event *event_copying(const struct cv_frame_header *header, const uint8_t *payload)
{
	struct cv_event *event = malloc(sizeof(*event) + header->length);

	if (event == NULL)
		return NULL;
	memcpy(event->inline_payload, payload, header->length);
	event->payload = event->inline_payload;
	event->storage = NULL;
	event->storage_size = 0;
	return event;
}

static cs_error_t route_event(struct cv_client *c, const struct cv_frame_header *header,
			      const uint8_t *payload)
{
	struct cv_event *event = header->length >= CV_RX_ADOPT_MIN ? event_adopting(c, payload)
								 : event_copying(header, payload);

	if (event == NULL)
		return CS_ERR_NO_MEMORY;
	event->next = NULL;
	event->id = header->id;
	event->split = header->kind == CV_FRAME_EVENT_SPLIT;
	event->length = header->length;
	*c->queue_tail = event;
	c->queue_tail = &event->next;
	return CS_OK;
}

static struct cv_pending_call *call_find(struct cv_client *c, uint32_t seq)
{
	for (struct cv_pending_call *call = c->calls; call != NULL; call = call->next)
		if (call->seq == seq)
			return call;
	return NULL;
}

static cs_error_t route_reply(struct cv_client *c, const struct cv_frame_header *header,
			      const uint8_t *payload)
{
	struct cv_pending_call *call = call_find(c, header->seq);

	if (call == NULL || call->done || call->request_id != header->id)
		return CS_ERR_LIBRARY; /* a reply nobody asked for */
	if (header->length > 0) {
		call->payload = malloc(header->length);
		if (call->payload == NULL)
			return CS_ERR_NO_MEMORY;
		memcpy(call->payload, payload, header->length);
	}
	call->length = header->length;
	call->status = header->status;
	call->done = true;
	return CS_OK;
}

static cs_error_t route_frames(struct cv_client *c, unsigned int *routed)
{
	struct cv_frame_header header;
	const uint8_t *payload;
	cs_error_t err;

	for (;;) {
		switch (cv_rx_next(&c->rx, &header, &payload)) {
		case CV_RX_NEED_MORE:
			return CS_OK;
		case CV_RX_MALFORMED:
			return CS_ERR_LIBRARY;
		case CV_RX_FRAME:
			break;
		}
		if (header.kind == CV_FRAME_RING_ROOM)
			err = CS_OK; /* it woke us; the sender looks at the ring itself */
		else if (header.kind == CV_FRAME_EVENT || header.kind == CV_FRAME_EVENT_SPLIT)
			err = route_event(c, &header, payload);
		else
			err = route_reply(c, &header, payload);
		if (err != CS_OK)
			return err;
		(*routed)++;
	}
}

/* ---- reading (reader token held) ---- */

/* True when fds showed activity within CV_REPLY_SPIN_NS. */
static bool input_within_spin(struct pollfd *fds, nfds_t n)
{
	uint64_t deadline = cv_clock_ns() + CV_REPLY_SPIN_NS;

	do {
		if (poll(fds, n, 0) > 0)
			return true;
	} while (cv_clock_ns() < deadline);
	return false;
}

/* Lock not held. Returns CS_OK when the socket is readable, CS_ERR_TRY_AGAIN
 * when woken because the connection stopped. */
static cs_error_t wait_readable(struct cv_client *c, enum cv_wait_mode mode)
{
	struct pollfd fds[2] = {
		{ .fd = c->sock, .events = POLLIN },
		{ .fd = c->wake_fd, .events = POLLIN },
	};

	if (!(mode == CV_WAIT_REPLY && input_within_spin(fds, 2)) && cv_poll(fds, 2, -1) < 0)
		return CS_ERR_LIBRARY;
	if (fds[1].revents != 0)
		return CS_ERR_TRY_AGAIN;
	return CS_OK;
}

/* Lock not held. Receives what the socket holds, waiting for input unless
 * `mode` is CV_WAIT_NONBLOCKING. A reply wait polls first (saving a recv
 * that would find nothing, the usual case for a call that just sent its
 * request); a blocking one tries the socket first, since in a stream of
 * events something is usually there already. CS_OK when bytes arrived;
 * CS_ERR_TRY_AGAIN when there was nothing (or a blocking wait was cut short
 * by wake_fd); CS_ERR_LIBRARY for end of stream, a socket error or a
 * malformed header; CS_ERR_NO_MEMORY. */
static cs_error_t receive_input(struct cv_client *c, enum cv_wait_mode mode)
{
	bool wait_first = mode == CV_WAIT_REPLY;
	uint8_t *space;
	size_t space_len;
	ssize_t n;
	cs_error_t err;

	for (;;) {
		if (wait_first) {
			err = wait_readable(c, mode);
			if (err != CS_OK)
				return err;
		}
		err = cv_rx_reserve(&c->rx, &space, &space_len);
		if (err != CS_OK)
			return err;
		n = cv_socket_recv_some(c->sock, space, space_len);
		if (n > 0) {
			cv_rx_commit(&c->rx, (size_t)n);
			return CS_OK;
		}
		if (n != -EAGAIN)
			return CS_ERR_LIBRARY; /* 0: the daemon hung up */
		if (mode == CV_WAIT_NONBLOCKING)
			return CS_ERR_TRY_AGAIN;
		wait_first = true;
	}
}

/* Lock and reader token held; the lock is dropped while receiving. Returns
 * CS_OK once at least one frame was routed, else as receive_input, and marks
 * the connection dead on any failure. */
static cs_error_t read_and_route(struct cv_client *c, enum cv_wait_mode mode)
{
	unsigned int routed = 0;
	cs_error_t err;

	do {
		pthread_mutex_unlock(&c->lock);
		err = receive_input(c, mode);
		pthread_mutex_lock(&c->lock);
		if (err == CS_OK)
			err = route_frames(c, &routed);
	} while (err == CS_OK && routed == 0);
	if (routed > 0)
		pthread_cond_broadcast(&c->cond);
	if (err != CS_OK && err != CS_ERR_TRY_AGAIN)
		cv_client_mark_dead(c);
	return err;
}

bool cv_client_reader_claim(struct cv_client *c)
{
	if (c->reader_busy)
		return false;
	c->reader_busy = true;
	return true;
}

void cv_client_reader_yield(struct cv_client *c, bool input)
{
	if (input)
		read_and_route(c, CV_WAIT_NONBLOCKING);
	cv_client_event_fd_update(c);
	c->reader_busy = false;
	pthread_cond_broadcast(&c->cond);
}

static cs_error_t reader_turn(struct cv_client *c, enum cv_wait_mode mode)
{
	cs_error_t err;

	c->reader_busy = true;
	err = read_and_route(c, mode);
	c->reader_busy = false;
	pthread_cond_broadcast(&c->cond);
	return err;
}

cs_error_t cv_client_wait(struct cv_client *c, bool (*ready)(struct cv_client *c, void *arg),
			  void *arg, enum cv_wait_mode mode)
{
	bool drained = false;

	for (;;) {
		if (c->finalized)
			return CS_ERR_BAD_HANDLE;
		if (ready(c, arg))
			return CS_OK;
		if (c->dead)
			return CS_ERR_LIBRARY;
		if (drained)
			return CS_ERR_TRY_AGAIN;
		if (c->reader_busy) {
			/* Non-blocking callers do not wait for another reader:
			 * it routes whatever arrives, and the fd stays readable. */
			if (mode == CV_WAIT_NONBLOCKING)
				return CS_ERR_TRY_AGAIN;
			pthread_cond_wait(&c->cond, &c->lock);
			continue;
		}
		/* Events routed on an earlier turn show on the fd before we
		 * read (and maybe sleep) again. */
		cv_client_event_fd_update(c);
		if (reader_turn(c, mode) == CS_ERR_TRY_AGAIN && mode == CV_WAIT_NONBLOCKING)
			drained = true;
	}
}
