/* The daemon's end of a client's shared ring (see cv-wire.h): it reads
 * what the client wrote, and never trusts the shared memory beyond that. */
#ifndef CONCLAVE_CV_RING_READER_H
#define CONCLAVE_CV_RING_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <corosync/corotypes.h>

#include "cv-wire.h"

struct cv_ring_reader {
	struct cv_ring_shared *shared; /* NULL: no ring */
	const uint8_t *data;
	uint32_t capacity;
	uint32_t tail;       /* ours; shared->tail is the client's copy */
	uint8_t *reply_data; /* NULL: replies keep the socket */
	uint32_t reply_head; /* ours; shared->reply_head is the client's copy */
};

/* Maps the client's memfd once it is what RING_OPEN says: a regular file
 * sealed against shrinking, exactly the header, `capacity` (a power of
 * two within CV_RING_MIN_CAPACITY..CV_RING_MAX_CAPACITY) and, with
 * `with_replies`, the reply ring's as much again long. CS_OK;
 * CS_ERR_INVALID_PARAM with *why when it is not; CS_ERR_NO_RESOURCES when
 * it cannot be mapped. */
cs_error_t cv_ring_reader_open(struct cv_ring_reader *r, int memfd, uint32_t capacity, bool with_replies,
			       const char **why);
void cv_ring_reader_close(struct cv_ring_reader *r);

/* Copies up to len waiting bytes to `to`: how many, or -1 when the client's
 * head is out of range. *room_wanted is set when the client waits for room
 * and there is now as much as it awaits. */
ssize_t cv_ring_reader_read(struct cv_ring_reader *r, void *to, size_t len, bool *room_wanted);
bool cv_ring_reader_has_input(const struct cv_ring_reader *r);
/* The CPU, plus one, that the client last woke us from (0: it did not
 * say), and whether it sleeps now until we reply, or until an event. */
uint32_t cv_ring_reader_waker(const struct cv_ring_reader *r, bool *on_reply, bool *on_event);

/* Publishes the seq of the last request handled and whether reading is
 * paused; true when a client waiting for that is to be woken with
 * SETTLED (it no longer waits then). */
bool cv_ring_reader_settle(struct cv_ring_reader *r, uint32_t settled, bool paused);

/* Before the daemon sleeps: asks the client for a wake-up byte, unless
 * input came meanwhile (false, and the request withdrawn). */
bool cv_ring_reader_sleep(struct cv_ring_reader *r);

/* ---- the reply ring, which we write ---- */

/* Bytes of room in the reply ring, or -1 when the client's reply_tail is
 * out of range. */
int64_t cv_ring_reply_room(const struct cv_ring_reader *r);
/* Copies len bytes (no more than the room) at our reply head, unpublished. */
void cv_ring_reply_put(struct cv_ring_reader *r, const void *from, uint32_t len);
/* Publishes what was put; true when the client sleeps and must be woken
 * with a byte on the reply channel's socket (it no longer sleeps then). */
bool cv_ring_reply_publish(struct cv_ring_reader *r);
/* Before waiting for room: asks the client for a wake-up byte on the
 * socket, unless room came meanwhile (false, and the request withdrawn). */
bool cv_ring_reply_wait_room(struct cv_ring_reader *r);

#endif
