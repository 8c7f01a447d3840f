/* Receiving: a channel's single-reader token, routing complete frames
 * (replies to their calls, events to the queue) and waiting for a
 * condition. See cv-client.h for the design.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

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
	const uint8_t *buffer = c->events.rx.data;

	if (event == NULL)
		return NULL;
	event->storage = cv_rx_adopt(&c->events.rx, &c->spare_rx, &c->spare_rx_size, &event->storage_size);
	if (event->storage == NULL) {
		free(event);
		return NULL;
	}
	event->payload = event->storage + (payload - buffer);
	event->ringed = false;
	event->taken = false;
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
	event->ringed = false;
	event->taken = false;
	event->length = header->length;
	return event;
}

/* The first descriptor the channel received, or -1 when none is left. */
static int channel_fd_take(struct cv_channel *ch)
{
	int fd;

	if (ch->n_fds == 0)
		return -1;
	fd = ch->fds[0];
	memmove(ch->fds, ch->fds + 1, --ch->n_fds * sizeof(ch->fds[0]));
	return fd;
}

/* An EVENT_RING: its place, then the head of its message; the first one
 * brings the ring. */
static cs_error_t event_ringed(struct cv_client *c, const struct cv_frame_header *header,
			       const uint8_t *payload, struct cv_event **event)
{
	struct cv_frame_header head_only = *header;
	struct cv_event_ring_place place;
	int fd = channel_fd_take(&c->events);
	cs_error_t err;

	if (fd >= 0) {
		err = cv_event_ring_map(&c->event_ring, fd);
		if (err != CS_OK)
			return err;
	}
	if (header->length < sizeof(place))
		return CS_ERR_LIBRARY;
	memcpy(&place, payload, sizeof(place));
	if (!cv_event_ring_place_valid(&c->event_ring, &place))
		return CS_ERR_LIBRARY;
	head_only.length -= sizeof(place);
	*event = event_copying(&head_only, payload + sizeof(place));
	if (*event == NULL)
		return CS_ERR_NO_MEMORY;
	(*event)->ringed = true;
	(*event)->place = place;
	return CS_OK;
}

static cs_error_t event_new(struct cv_client *c, const struct cv_frame_header *header, const uint8_t *payload,
			    struct cv_event **event)
{
	if (header->kind == CV_FRAME_EVENT_RING)
		return event_ringed(c, header, payload, event);
	if (header->length < CV_RX_ADOPT_MIN) {
		*event = event_copying(header, payload);
	} else {
		*event = event_adopting(c, payload);
		if (*event != NULL)
			(*event)->length = header->length;
	}
	return *event != NULL ? CS_OK : CS_ERR_NO_MEMORY;
}

static cs_error_t route_event(struct cv_client *c, const struct cv_frame_header *header,
			      const uint8_t *payload)
{
	struct cv_event *event = NULL;
	cs_error_t err = event_new(c, header, payload, &event);

	if (err != CS_OK)
		return err;
	event->next = NULL;
	event->id = header->id;
	event->split = header->kind != CV_FRAME_EVENT;
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

/* True, forgetting it, when seq is that of a call given up. */
static bool abandoned_take(struct cv_client *c, uint32_t seq)
{
	for (size_t i = 0; i < c->n_abandoned; i++) {
		if (c->abandoned[i] == seq) {
			c->abandoned[i] = c->abandoned[--c->n_abandoned];
			return true;
		}
	}
	return false;
}

static cs_error_t route_reply(struct cv_client *c, const struct cv_frame_header *header,
			      const uint8_t *payload)
{
	struct cv_pending_call *call = call_find(c, header->seq);

	if (call == NULL && abandoned_take(c, header->seq))
		return CS_OK;
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
	/* The last frame the socket brings: the rest come through the ring. */
	if (call->ring_offered != NULL && header->status == CS_OK)
		cv_reply_ring_attach(&c->replies.ring, call->ring_offered);
	return CS_OK;
}

/* Seq 0 wakes a client waiting on its ring, which looks at the ring
 * itself; any other answers a SETTLE. */
static cs_error_t route_settled(struct cv_client *c, const struct cv_frame_header *header)
{
	if (header->seq != 0 && cv_seq_reached(header->seq, c->settled))
		c->settled = header->seq;
	return CS_OK;
}

/* Once every complete frame is routed, a descriptor left can only be that
 * of the EVENT_RING being received: one came with its first byte. */
static bool fds_orphaned(const struct cv_channel *ch)
{
	struct cv_frame_header header;

	if (ch->n_fds == 0)
		return false;
	if (ch->n_fds > 1 || ch->rx.filled == ch->rx.consumed)
		return true;
	if (ch->rx.filled - ch->rx.consumed < sizeof(header))
		return false;
	memcpy(&header, ch->rx.data + ch->rx.consumed, sizeof(header));
	return header.kind != CV_FRAME_EVENT_RING;
}

/* The channel's buffer only holds the kinds it may carry (cv_rx_acceptable). */
static cs_error_t route_frames(struct cv_client *c, struct cv_channel *ch, unsigned int *routed)
{
	struct cv_frame_header header;
	const uint8_t *payload;
	cs_error_t err;

	for (;;) {
		switch (cv_rx_next(&ch->rx, &header, &payload)) {
		case CV_RX_NEED_MORE:
			return fds_orphaned(ch) ? CS_ERR_LIBRARY : CS_OK;
		case CV_RX_MALFORMED:
			return CS_ERR_LIBRARY;
		case CV_RX_FRAME:
			break;
		}
		if (header.kind == CV_FRAME_SETTLED)
			err = route_settled(c, &header);
		else if (header.kind == CV_FRAME_RING_ROOM)
			err = CS_OK; /* it woke us; the sender looks at the ring itself */
		else if (header.kind == CV_FRAME_EVENT || header.kind == CV_FRAME_EVENT_SPLIT ||
			 header.kind == CV_FRAME_EVENT_RING)
			err = route_event(c, &header, payload);
		else
			err = route_reply(c, &header, payload);
		if (err != CS_OK)
			return err;
		(*routed)++;
	}
}

/* ---- reading (reader token held) ---- */

/* True when fds showed activity within window_ns from `began`. */
static bool input_within(struct pollfd *fds, nfds_t n, uint64_t began, uint64_t window_ns)
{
	while (cv_clock_ns() - began < window_ns)
		if (poll(fds, n, 0) > 0)
			return true;
	return false;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* The same for a reply ring, without a system call. */
static bool ring_input_within(const struct cv_reply_ring *ring, uint64_t began, uint64_t window_ns)
{
	while (cv_clock_ns() - began < window_ns) {
		if (cv_reply_ring_has_input(ring))
			return true;
		cpu_relax();
	}
	return false;
}

/* Polls fds, the channel's first, unless its reply ring has input already
 * (then as if fds[0] were readable). */
static int poll_channel(struct cv_channel *ch, struct pollfd *fds, nfds_t n, int timeout_ms)
{
	int r;

	if (ch->ring.shared == NULL)
		return cv_poll(fds, n, timeout_ms);
	if (!cv_reply_ring_sleep(&ch->ring)) {
		fds[0].revents = 0;
		for (nfds_t i = 1; i < n; i++)
			fds[i].revents = 0;
		return 1;
	}
	r = cv_poll(fds, n, timeout_ms);
	cv_reply_ring_awake(&ch->ring);
	if (r > 0 && fds[0].revents != 0)
		ch->wake_bytes = true;
	return r;
}

/* poll_channel, saying so in the ring while it waits for events. */
static int sleep_on_channel(struct cv_client *c, struct cv_channel *ch, struct pollfd fds[2], int timeout_ms)
{
	struct cv_ring *ring = ch == &c->events ? __atomic_load_n(&c->ring_taken, __ATOMIC_ACQUIRE) : NULL;
	int r;

	if (ring != NULL)
		cv_ring_sleeping_on_events(ring, true);
	r = poll_channel(ch, fds, 2, timeout_ms);
	if (ring != NULL)
		cv_ring_sleeping_on_events(ring, false);
	return r;
}

/* Milliseconds left until deadline_ms (CLOCK_MONOTONIC), or -1 for none. */
static int ms_left(int64_t deadline_ms)
{
	int64_t left;

	if (deadline_ms == 0)
		return -1;
	left = deadline_ms - (int64_t)cv_clock_ms();
	return left > 0 ? (int)left : 0;
}

/* Lock not held. Returns CS_OK when the channel is readable,
 * CS_ERR_TRY_AGAIN when woken because the connection stopped, CS_ERR_TIMEOUT
 * at deadline_ms (0: none). */
static cs_error_t wait_readable(struct cv_client *c, struct cv_channel *ch, unsigned int flags,
				int64_t deadline_ms)
{
	struct pollfd fds[2] = {
		{ .fd = ch->fd, .events = POLLIN },
		{ .fd = c->wake_fd, .events = POLLIN },
	};
	uint64_t began = 0, window = 0;
	bool found = false;
	int r = 1;

	if (flags & CV_WAIT_SPIN) {
		began = cv_clock_ns();
		window = cv_spin_window(&ch->spin, began);
		found = ch->ring.shared != NULL ? ring_input_within(&ch->ring, began, window)
						: input_within(fds, 2, began, window);
	}
	if (!found)
		r = sleep_on_channel(c, ch, fds, ms_left(deadline_ms));
	if (flags & CV_WAIT_SPIN)
		cv_spin_done(&ch->spin, began, window, found, cv_clock_ns());
	if (r < 0)
		return CS_ERR_LIBRARY;
	if (r == 0)
		return CS_ERR_TIMEOUT;
	if (fds[1].revents != 0)
		return CS_ERR_TRY_AGAIN;
	return CS_OK;
}

/* The reply channel's socket brings only wake-up bytes beside a reply
 * ring, and its end (the daemon gone): read it once it was found readable. */
static ssize_t wake_bytes_drain(struct cv_channel *ch)
{
	uint8_t bytes[256];
	ssize_t n;

	ch->wake_bytes = false;
	do
		n = cv_socket_recv_some(ch->fd, bytes, sizeof(bytes));
	while (n == (ssize_t)sizeof(bytes));
	return n == -EAGAIN || n > 0 ? 1 : n;
}

/* Receives from the channel's reply ring as recv would from its socket:
 * how many bytes, -EAGAIN when none, 0 when the daemon is gone (once what
 * it wrote before is read), -EPROTO for a head out of range. A daemon that
 * waits for the room made is woken through the socket we connected, whose
 * bytes it reads as wake-ups. */
static ssize_t ring_recv_some(struct cv_client *c, struct cv_channel *ch, uint8_t *to, size_t len)
{
	static const uint8_t wake_byte;
	struct iovec iov = { (void *)&wake_byte, 1 };
	ssize_t socket = 1, n;
	bool wake_writer;

	if (ch->wake_bytes && (socket = wake_bytes_drain(ch)) < 0)
		return socket;
	n = cv_reply_ring_read(&ch->ring, to, len, &wake_writer);
	if (n < 0)
		return -EPROTO;
	if (wake_writer)
		(void)cv_socket_send_some(c->events.fd, &iov, 1);
	if (n > 0 && socket == 0)
		ch->wake_bytes = true; /* the end is still to be reported */
	if (n > 0)
		return n;
	return socket == 0 ? 0 : -EAGAIN;
}

/* Lock not held. Receives what the channel holds, or with CV_WAIT_ONE_FRAME
 * no more than the rest of the next frame, waiting for input when flags
 * say CV_WAIT_BLOCK. A spinning wait polls first (saving a recv that would
 * find nothing, the usual case for a call that just sent its request); a
 * blocking one tries the channel first, since in a stream of events
 * something is usually there already. CS_OK when bytes arrived;
 * CS_ERR_TRY_AGAIN when there was nothing (or a blocking wait was cut short
 * by wake_fd); CS_ERR_TIMEOUT at deadline_ms (0: none); CS_ERR_LIBRARY for
 * end of stream, a socket error or a malformed header; CS_ERR_NO_MEMORY. */
static cs_error_t receive_input(struct cv_client *c, struct cv_channel *ch, unsigned int flags,
				int64_t deadline_ms)
{
	bool wait_first = (flags & CV_WAIT_SPIN) != 0;
	uint8_t *space;
	size_t space_len;
	ssize_t n;
	cs_error_t err;

	for (;;) {
		if (wait_first) {
			err = wait_readable(c, ch, flags, deadline_ms);
			if (err != CS_OK)
				return err;
		}
		err = cv_rx_reserve(&ch->rx, &space, &space_len);
		if (err != CS_OK)
			return err;
		if ((flags & CV_WAIT_ONE_FRAME) && space_len > cv_rx_frame_missing(&ch->rx))
			space_len = cv_rx_frame_missing(&ch->rx);
		if (ch->ring.shared != NULL)
			n = ring_recv_some(c, ch, space, space_len);
		else if (ch == &c->events)
			n = cv_socket_recv_queueing_fd(ch->fd, space, space_len, ch->fds, &ch->n_fds,
						       CV_CHANNEL_FDS);
		else
			n = cv_socket_recv_some(ch->fd, space, space_len);
		if (n > 0) {
			cv_rx_commit(&ch->rx, (size_t)n);
			return CS_OK;
		}
		if (n != -EAGAIN)
			return CS_ERR_LIBRARY; /* 0: the daemon hung up */
		if (!(flags & CV_WAIT_BLOCK))
			return CS_ERR_TRY_AGAIN;
		wait_first = true;
	}
}

/* Lock and the channel's token held; the lock is dropped while receiving.
 * Returns CS_OK once at least one frame was routed, else as receive_input,
 * and marks the connection dead on any failure. */
static cs_error_t read_and_route(struct cv_client *c, struct cv_channel *ch, unsigned int flags,
				 int64_t deadline_ms)
{
	unsigned int routed = 0;
	cs_error_t err;

	do {
		pthread_mutex_unlock(&c->lock);
		err = receive_input(c, ch, flags, deadline_ms);
		pthread_mutex_lock(&c->lock);
		if (err == CS_OK)
			err = route_frames(c, ch, &routed);
	} while (err == CS_OK && routed == 0);
	if (routed > 0)
		pthread_cond_broadcast(&c->cond);
	if (err != CS_OK && err != CS_ERR_TRY_AGAIN && err != CS_ERR_TIMEOUT)
		cv_client_mark_dead(c);
	return err;
}

bool cv_client_replies_claim(struct cv_client *c)
{
	if (c->replies.busy)
		return false;
	c->replies.busy = true;
	return true;
}

bool cv_client_replies_sleep(struct cv_client *c)
{
	return c->replies.ring.shared == NULL || cv_reply_ring_sleep(&c->replies.ring);
}

void cv_client_replies_awake(struct cv_client *c, short revents)
{
	if (c->replies.ring.shared == NULL)
		return;
	cv_reply_ring_awake(&c->replies.ring);
	if (revents != 0)
		c->replies.wake_bytes = true;
}

void cv_client_replies_yield(struct cv_client *c, bool input)
{
	if (input)
		read_and_route(c, &c->replies, 0, 0);
	c->replies.busy = false;
	pthread_cond_broadcast(&c->cond);
}

static cs_error_t reader_turn(struct cv_client *c, struct cv_channel *ch, unsigned int flags,
			      int64_t deadline_ms)
{
	cs_error_t err;

	ch->busy = true;
	err = read_and_route(c, ch, flags, deadline_ms);
	ch->busy = false;
	pthread_cond_broadcast(&c->cond);
	return err;
}

/* Lock held. Waits for another reader's news, until deadline_ms (0: none). */
static void wait_for_reader(struct cv_client *c, int64_t deadline_ms)
{
	struct timespec until;
	int64_t left = ms_left(deadline_ms);

	if (left < 0) {
		pthread_cond_wait(&c->cond, &c->lock);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += left / 1000;
	until.tv_nsec += (left % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&c->cond, &c->lock, &until);
}

cs_error_t cv_client_wait(struct cv_client *c, struct cv_channel *ch,
			  bool (*ready)(struct cv_client *c, void *arg), void *arg, unsigned int flags,
			  int64_t deadline_ms)
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
		if (deadline_ms != 0 && ms_left(deadline_ms) == 0)
			return CS_ERR_TIMEOUT;
		if (ch->busy) {
			/* Non-blocking callers do not wait for another reader:
			 * it routes whatever arrives, and the fd stays readable. */
			if (!(flags & CV_WAIT_BLOCK))
				return CS_ERR_TRY_AGAIN;
			wait_for_reader(c, deadline_ms);
			continue;
		}
		if (reader_turn(c, ch, flags, deadline_ms) == CS_ERR_TRY_AGAIN && !(flags & CV_WAIT_BLOCK))
			drained = true;
	}
}
