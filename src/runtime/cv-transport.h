/* How a connection's frames reach the daemon: through the socket, or
 * through a shared ring once the daemon has taken one (cv-wire.h). The
 * sender holds the client's send_lock, which guards the choice as well.
 */
#ifndef CONCLAVE_CV_TRANSPORT_H
#define CONCLAVE_CV_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <conclave/client-runtime.h>

struct cv_client;
struct iovec;

struct cv_transport {
	/* One non-blocking write of as much of the n buffers at iov as the
	 * transport takes: how many bytes, 0 when none, or -errno. With
	 * `whole`, none of a frame it cannot take whole. */
	ssize_t (*send_some)(struct cv_client *c, const struct iovec *iov, size_t n, bool whole);
	/* Prepares a wait for room for `wanted` bytes: false when there is
	 * that much already (no wait), else true with *socket_events, the poll
	 * events on the socket that announce room (none: RING_ROOM does, on
	 * the reply channel). */
	bool (*wait_begin)(struct cv_client *c, size_t wanted, short *socket_events);
	void (*wait_end)(struct cv_client *c);
	/* How much room to wait for before writing more of a frame whose
	 * `rest` is still to go. */
	size_t (*room_step)(const struct cv_client *c, size_t rest);
	/* Room announced by a frame another thread may read first (RING_ROOM):
	 * a waiter without the reader token looks again within this many ms;
	 * -1 when room shows on the socket itself. */
	int recheck_ms;
};

CV_HIDDEN extern const struct cv_transport cv_transport_socket;
CV_HIDDEN extern const struct cv_transport cv_transport_ring;

#endif
