/* Sending frames: one whole frame at a time under send_lock, over the
 * connection's transport (cv-transport.h), waiting for room when it has
 * none. See cv-client.h for the threading model.
 */
#include <poll.h>
#include <sys/uio.h>

#include "cv-client.h"
#include "cv-socket.h"
#include "cv-transport.h"

/* How long a sender that must not wait gives the transport to take a frame
 * before CS_ERR_TRY_AGAIN (a caller that retries at once would otherwise
 * spin against the daemon it waits for). */
#define NOWAIT_GRACE_MS 2

/* Lock not held. Waits for room for `wanted` bytes, or for a reply. A
 * daemon whose reply queue is full stops reading us until we take our
 * replies, so a sender blocked on a large request must see them taken in:
 * it reads the reply channel itself when its reader token is free, and
 * otherwise returns on input to try again, by which time the holder has
 * read it or let the token go. Events are never read here: the daemon
 * reads our requests whatever our events do. */
static cs_error_t wait_writable(struct cv_client *c, int timeout_ms, size_t wanted)
{
	struct pollfd fds[3] = {
		{ .fd = c->events.fd },
		{ .fd = c->replies.fd, .events = POLLIN },
		{ .fd = c->wake_fd, .events = POLLIN },
	};
	bool reading, replies_waiting = false;
	int r = 0;
	cs_error_t err;

	if (!c->transport->wait_begin(c, wanted, &fds[0].events))
		return CS_OK;
	pthread_mutex_lock(&c->lock);
	reading = cv_client_replies_claim(c);
	pthread_mutex_unlock(&c->lock);
	if (!reading && c->transport->recheck_ms >= 0 &&
	    (timeout_ms < 0 || timeout_ms > c->transport->recheck_ms))
		timeout_ms = c->transport->recheck_ms;
	if (reading && !cv_client_replies_sleep(c))
		replies_waiting = true;
	else
		r = cv_poll(fds, 3, timeout_ms);
	if (reading)
		cv_client_replies_awake(c, r > 0 ? fds[1].revents : 0);
	c->transport->wait_end(c);
	pthread_mutex_lock(&c->lock);
	if (reading)
		cv_client_replies_yield(c, replies_waiting || (r > 0 && (fds[1].revents &
									 (POLLIN | POLLHUP | POLLERR)) != 0));
	err = r < 0 ? CS_ERR_LIBRARY : cv_client_state(c);
	pthread_mutex_unlock(&c->lock);
	return err;
}

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

bool cv_client_events_waiting(const struct cv_client *c)
{
	struct pollfd event = { .fd = c->events.fd, .events = POLLIN };

	return cv_poll(&event, 1, 0) > 0;
}

/* With `nowait`, CS_ERR_TRY_AGAIN when the transport takes none of the frame
 * within NOWAIT_GRACE_MS, or at once when events wait to be dispatched: the
 * daemon may be holding us back for want of room among them (a member's
 * own messages come back to it), which only the program's dispatching
 * makes. A frame the transport took in part is always finished. */
static cs_error_t send_locked(struct cv_client *c, struct iovec *iov, size_t iovcnt, bool nowait)
{
	bool waited = false;
	ssize_t n;
	cs_error_t err;

	while (iovcnt > 0) {
		n = c->transport->send_some(c, iov, iovcnt, nowait);
		if (n < 0)
			return CS_ERR_LIBRARY;
		if (n == 0 && nowait && (waited || cv_client_events_waiting(c)))
			return CS_ERR_TRY_AGAIN;
		if (n == 0 && nowait) {
			err = wait_writable(c, NOWAIT_GRACE_MS, cv_iovec_length(iov, iovcnt));
			if (err != CS_OK)
				return err;
			waited = true;
			continue;
		}
		nowait = false;
		iov_advance(&iov, &iovcnt, (size_t)n);
		if (iovcnt > 0 && n == 0) {
			err = wait_writable(c, -1, c->transport->room_step(c, cv_iovec_length(iov, iovcnt)));
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

	while ((n = cv_socket_send_fd(c->events.fd, frame, size, fd)) == 0) {
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
