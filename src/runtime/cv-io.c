/* The connection engine: the single-reader token, frame routing, the event
 * fd, and sending. See cv-client.h for the threading model.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cv-client.h"
#include "cv-clock.h"
#include "cv-limits.h"
#include "cv-socket.h"

static void eventfd_raise(int fd)
{
	uint64_t one = 1;
	ssize_t r;

	do
		r = write(fd, &one, sizeof(one));
	while (r < 0 && errno == EINTR);
}

static void eventfd_lower(int fd)
{
	uint64_t count;
	ssize_t r;

	do
		r = read(fd, &count, sizeof(count));
	while (r < 0 && errno == EINTR);
}

void cv_client_event_fd_update(struct cv_client *c)
{
	bool raise = c->queue_head != NULL || c->dead || c->finalized;

	if (raise == c->event_fd_raised)
		return;
	if (raise)
		eventfd_raise(c->event_fd);
	else
		eventfd_lower(c->event_fd);
	c->event_fd_raised = raise;
}

static void client_stop(struct cv_client *c)
{
	eventfd_raise(c->wake_fd);
	cv_client_event_fd_update(c);
	pthread_cond_broadcast(&c->cond);
}

void cv_client_mark_dead(struct cv_client *c)
{
	if (c->dead)
		return;
	c->dead = true;
	client_stop(c);
}

void cv_client_mark_finalized(struct cv_client *c)
{
	if (c->finalized)
		return;
	c->finalized = true;
	client_stop(c);
}

cs_error_t cv_client_state(const struct cv_client *c)
{
	if (c->finalized)
		return CS_ERR_BAD_HANDLE;
	if (c->dead)
		return CS_ERR_LIBRARY;
	return CS_OK;
}

struct cv_event *cv_client_event_pop(struct cv_client *c)
{
	struct cv_event *event = c->queue_head;

	if (event == NULL)
		return NULL;
	c->queue_head = event->next;
	if (c->queue_head == NULL)
		c->queue_tail = &c->queue_head;
	event->next = NULL;
	return event;
}

void cv_client_event_free(struct cv_client *c, struct cv_event *event)
{
	if (event->storage != NULL) {
		pthread_mutex_lock(&c->lock);
		if (c->spare_rx == NULL && event->storage_size == CV_RX_DEFAULT_SIZE) {
			c->spare_rx = event->storage;
			event->storage = NULL;
		}
		pthread_mutex_unlock(&c->lock);
		free(event->storage);
	}
	free(event);
}

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

/* ---- sending ---- */

/* Lock not held. Waits for room on the socket (or for `wanted` bytes in the
 * ring), or for input. A daemon may stop reading us until we read it, so a sender blocked
 * on a large request must see input taken in: it reads itself when the
 * reader token is free, and otherwise returns on input to try again, by
 * which time the holder has read it or let the token go. Room in the ring
 * is announced by RING_ROOM on the socket; a holder of the token may have
 * taken that before we started polling, so then we look again within
 * RING_RECHECK_MS. */
#define NOWAIT_GRACE_MS 2
#define RING_RECHECK_MS 1

static bool sending_to_ring(const struct cv_client *c)
{
	return c->ring.shared != NULL;
}

static cs_error_t wait_writable(struct cv_client *c, int timeout_ms, size_t wanted)
{
	struct pollfd fds[2] = {
		{ .fd = c->sock, .events = sending_to_ring(c) ? POLLIN : POLLOUT | POLLIN },
		{ .fd = c->wake_fd, .events = POLLIN },
	};
	bool reading;
	int r;
	cs_error_t err;

	if (sending_to_ring(c) && !cv_ring_wait_for_room(&c->ring, wanted))
		return CS_OK;
	pthread_mutex_lock(&c->lock);
	reading = !c->reader_busy;
	c->reader_busy = true;
	pthread_mutex_unlock(&c->lock);
	if (sending_to_ring(c) && !reading && (timeout_ms < 0 || timeout_ms > RING_RECHECK_MS))
		timeout_ms = RING_RECHECK_MS;
	r = cv_poll(fds, 2, timeout_ms);
	if (sending_to_ring(c))
		cv_ring_stop_waiting(&c->ring);
	pthread_mutex_lock(&c->lock);
	if (reading) {
		if (r > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
			read_and_route(c, CV_WAIT_NONBLOCKING);
		cv_client_event_fd_update(c);
		c->reader_busy = false;
		pthread_cond_broadcast(&c->cond);
	}
	err = r < 0 ? CS_ERR_LIBRARY : cv_client_state(c);
	pthread_mutex_unlock(&c->lock);
	return err;
}

/* The frames sent are sizes checked already. */
static size_t iov_total(const struct iovec *iov, size_t n)
{
	size_t total = 0;

	(void)cv_iovec_total(iov, (unsigned int)n, &total);
	return total;
}

/* The daemon sleeps until a byte on the socket wakes it; when the socket is
 * full, the bytes in it will. */
static void ring_wake_daemon(struct cv_client *c)
{
	static const uint8_t wake_byte;
	struct iovec iov = { (void *)&wake_byte, 1 };

	(void)cv_socket_send_some(c->sock, &iov, 1);
}

/* With `whole`, takes none of a frame it cannot take whole: a frame begun
 * must be finished, even when the daemon stopped reading. The socket takes
 * a frame of the sizes posted whole or not at all. */
static ssize_t transport_send_some(struct cv_client *c, const struct iovec *iov, size_t n, bool whole)
{
	bool wake;
	size_t sent;

	if (!sending_to_ring(c))
		return cv_socket_send_some(c->sock, iov, n);
	if (whole && !cv_ring_fits(&c->ring, iov_total(iov, n)))
		return 0;
	sent = cv_ring_write(&c->ring, iov, n, &wake);
	if (wake)
		ring_wake_daemon(c);
	return (ssize_t)sent;
}

/* With `nowait`, CS_ERR_TRY_AGAIN when the transport takes none of the frame
 * within NOWAIT_GRACE_MS (a caller that retries at once would otherwise
 * spin against the daemon it waits for); a frame the socket took in part is
 * always finished. */
/* Drops the first `sent` bytes of the n buffers at *iov. */
static void iov_advance(struct iovec **iov, size_t *n, size_t sent)
{
	while (*n > 0 && sent >= (*iov)->iov_len) {
		sent -= (*iov)->iov_len;
		(*iov)++;
		(*n)--;
	}
	if (*n > 0) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + sent;
		(*iov)->iov_len -= sent;
	}
}

static cs_error_t send_locked(struct cv_client *c, struct iovec *iov, size_t iovcnt, bool nowait)
{
	bool waited = false;
	ssize_t n;
	cs_error_t err;

	while (iovcnt > 0) {
		n = transport_send_some(c, iov, iovcnt, nowait);
		if (n < 0)
			return CS_ERR_LIBRARY;
		if (n == 0 && nowait && waited)
			return CS_ERR_TRY_AGAIN;
		if (n == 0 && nowait) {
			err = wait_writable(c, NOWAIT_GRACE_MS, iov_total(iov, iovcnt));
			if (err != CS_OK)
				return err;
			waited = true;
			continue;
		}
		nowait = false;
		iov_advance(&iov, &iovcnt, (size_t)n);
		if (iovcnt > 0 && n == 0) {
			size_t rest = iov_total(iov, iovcnt);

			/* the rest of a frame larger than the ring goes in halves */
			err = wait_writable(c, -1, rest < c->ring.capacity / 2 ? rest : c->ring.capacity / 2);
			if (err != CS_OK)
				return err;
		}
	}
	return CS_OK;
}

static cs_error_t client_send(struct cv_client *c, struct iovec *iov, size_t n, bool nowait)
{
	cs_error_t err;

	pthread_mutex_lock(&c->send_lock);
	pthread_mutex_lock(&c->lock);
	err = cv_client_state(c);
	pthread_mutex_unlock(&c->lock);
	if (err == CS_OK) {
		err = send_locked(c, iov, n, nowait);
		/* Before anyone else may send: after a partial frame the stream
		 * cannot be resynchronised. */
		if (err == CS_ERR_LIBRARY) {
			pthread_mutex_lock(&c->lock);
			cv_client_mark_dead(c);
			pthread_mutex_unlock(&c->lock);
		}
	}
	pthread_mutex_unlock(&c->send_lock);
	return err;
}

/* send_lock held. */
cs_error_t cv_client_send_fd(struct cv_client *c, const void *frame, size_t size, int fd)
{
	struct iovec rest;
	ssize_t n;
	cs_error_t err;

	while ((n = cv_socket_send_fd(c->sock, frame, size, fd)) == 0) {
		err = wait_writable(c, -1, size);
		if (err != CS_OK)
			return err;
	}
	if (n < 0)
		return CS_ERR_LIBRARY;
	rest = (struct iovec){ (uint8_t *)frame + n, size - (size_t)n };
	return rest.iov_len > 0 ? send_locked(c, &rest, 1, false) : CS_OK;
}

cs_error_t cv_client_send(struct cv_client *c, struct iovec *iov, size_t n)
{
	return client_send(c, iov, n, false);
}

cs_error_t cv_client_send_nowait(struct cv_client *c, struct iovec *iov, size_t n)
{
	return client_send(c, iov, n, true);
}
