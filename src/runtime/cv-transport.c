/* The two transports of cv-transport.h. */
#include <poll.h>
#include <sys/uio.h>

#include "cv-client.h"
#include "cv-socket.h"
#include "cv-transport.h"

/* Room in the ring is announced by RING_ROOM on the reply channel; a holder
 * of its reader token may have taken it before we started polling. */
#define RING_RECHECK_MS 1

static ssize_t socket_send_some(struct cv_client *c, const struct iovec *iov, size_t n, bool whole)
{
	/* The socket takes a frame of the sizes posted whole or not at all. */
	(void)whole;
	return cv_socket_send_some(c->events.fd, iov, n);
}

static bool socket_wait_begin(struct cv_client *c, size_t wanted, short *socket_events)
{
	*socket_events = POLLOUT;
	return true;
}

static void socket_wait_end(struct cv_client *c)
{
}

static size_t socket_room_step(const struct cv_client *c, size_t rest)
{
	return rest;
}

const struct cv_transport cv_transport_socket = {
	.send_some = socket_send_some,
	.wait_begin = socket_wait_begin,
	.wait_end = socket_wait_end,
	.room_step = socket_room_step,
	.recheck_ms = -1,
};

/* The daemon sleeps until a byte on the socket wakes it; when the socket is
 * full, the bytes in it will. */
static void ring_wake_daemon(struct cv_client *c)
{
	static const uint8_t wake_byte;
	struct iovec iov = { (void *)&wake_byte, 1 };

	(void)cv_socket_send_some(c->events.fd, &iov, 1);
}

static ssize_t ring_send_some(struct cv_client *c, const struct iovec *iov, size_t n, bool whole)
{
	bool wake;
	size_t sent;

	if (whole && !cv_ring_fits(&c->ring, cv_iovec_length(iov, n)))
		return 0;
	sent = cv_ring_write(&c->ring, iov, n, &wake);
	if (wake)
		ring_wake_daemon(c);
	return (ssize_t)sent;
}

static bool ring_wait_begin(struct cv_client *c, size_t wanted, short *socket_events)
{
	*socket_events = 0;
	return cv_ring_wait_for_room(&c->ring, wanted);
}

static void ring_wait_end(struct cv_client *c)
{
	cv_ring_stop_waiting(&c->ring);
}

/* The rest of a frame larger than the ring goes in halves. */
static size_t ring_room_step(const struct cv_client *c, size_t rest)
{
	return rest < c->ring.capacity / 2 ? rest : c->ring.capacity / 2;
}

const struct cv_transport cv_transport_ring = {
	.send_some = ring_send_some,
	.wait_begin = ring_wait_begin,
	.wait_end = ring_wait_end,
	.room_step = ring_room_step,
	.recheck_ms = RING_RECHECK_MS,
};
