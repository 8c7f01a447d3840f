/* The client's end of a shared ring (cv-wire.h): the memory its frames go
 * through instead of the socket once the daemon has taken the ring. */
#ifndef CONCLAVE_CV_RING_H
#define CONCLAVE_CV_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <conclave/client-runtime.h>
#include "cv-wire.h"

struct iovec;

struct cv_ring {
	struct cv_ring_shared *shared;
	uint8_t *data;
	uint32_t capacity;
	uint32_t head;   /* our copy of shared->head */
	size_t map_size; /* the header, this ring's data and the reply ring's */
};

/* The reply ring, which the daemon writes and we read, in the same memfd. */
struct cv_reply_ring {
	struct cv_ring_shared *shared; /* NULL: replies come through the socket */
	const uint8_t *data;
	uint32_t capacity;
	uint32_t tail; /* our copy of shared->reply_tail */
};

/* Maps a new ring of `capacity` bytes, followed by a reply ring as large;
 * *memfd is the descriptor to hand the daemon, sealed so that it cannot
 * shrink under the daemon's reads. */
CV_HIDDEN cs_error_t cv_ring_create(struct cv_ring *ring, uint32_t capacity, int *memfd);
CV_HIDDEN void cv_ring_destroy(struct cv_ring *ring);

/* The reply ring of `ring`'s memfd, once the daemon has taken it. */
CV_HIDDEN void cv_reply_ring_attach(struct cv_reply_ring *reply, const struct cv_ring *ring);
CV_HIDDEN bool cv_reply_ring_has_input(const struct cv_reply_ring *reply);
/* Copies up to len waiting bytes to `to`: how many, or -1 when the
 * daemon's head is out of range. *wake_writer says whether the daemon
 * waits for the room this made, and must be woken with a byte on the
 * socket (it no longer waits then). */
CV_HIDDEN ssize_t cv_reply_ring_read(struct cv_reply_ring *reply, void *to, size_t len, bool *wake_writer);
/* Before sleeping on the reply channel's socket: asks the daemon for a
 * wake-up byte there, unless input came meanwhile (false, the request
 * withdrawn). */
CV_HIDDEN bool cv_reply_ring_sleep(struct cv_reply_ring *reply);
/* Awake again: withdraws the request, sparing the daemon a byte. */
CV_HIDDEN void cv_reply_ring_awake(struct cv_reply_ring *reply);

/* Copies as much of the n buffers at iov as there is room for, publishes
 * it, and returns how much that was (0 when full). *wake says whether the
 * daemon must be woken with a byte on the socket. */
CV_HIDDEN size_t cv_ring_write(struct cv_ring *ring, const struct iovec *iov, size_t n, bool *wake);

/* Whether `size` bytes can be written at once now, or never could be. */
CV_HIDDEN bool cv_ring_fits(const struct cv_ring *ring, size_t size);

/* Announces that we wait for room for `wanted` bytes (or for as many as the
 * ring holds); false when there is that much already (the announcement
 * withdrawn), so the caller must not wait. */
CV_HIDDEN bool cv_ring_wait_for_room(struct cv_ring *ring, size_t wanted);
/* Withdraws it, once the wait is over: a RING_ROOM nobody waits for would
 * make the fd readable with no callback pending. */
CV_HIDDEN void cv_ring_stop_waiting(struct cv_ring *ring);

/* Says whether we sleep until an event comes (cv-wire.h). */
CV_HIDDEN void cv_ring_sleeping_on_events(struct cv_ring *ring, bool asleep);

/* Whether the daemon has handled the request of seq `awaited`, or paused
 * reading the ring; if not, announces that we wait for it (SETTLED
 * wakes us). */
CV_HIDDEN bool cv_ring_settled(struct cv_ring *ring, uint32_t awaited);
/* Withdraws that announcement. */
CV_HIDDEN void cv_ring_stop_settle_waiting(struct cv_ring *ring);

#endif
