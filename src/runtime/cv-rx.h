/* A channel's receive buffer: bytes read from one of the daemon's sockets,
 * cut into frames. A frame's header is checked before the buffer grows to
 * hold its payload, so a hostile length never turns into an allocation.
 */
#ifndef CONCLAVE_CV_RX_H
#define CONCLAVE_CV_RX_H

#include <stddef.h>
#include <stdint.h>

#include <conclave/client-runtime.h>
#include "cv-wire.h"

struct cv_rx_buffer {
	uint32_t kinds; /* the frame kinds the daemon may send here: bit 1 << kind */
	uint8_t *data;
	size_t size;     /* allocated */
	size_t filled;   /* bytes received */
	size_t consumed; /* bytes of data[0..filled) already taken as frames */
};

enum cv_rx_result {
	CV_RX_FRAME,     /* a complete frame was taken */
	CV_RX_NEED_MORE, /* no complete frame yet */
	CV_RX_MALFORMED, /* the next header is not something the daemon may send */
};

#define CV_RX_KIND(kind) (1u << (kind))

/* True for a header the daemon may send on this channel after the
 * handshake: one of its kinds, whose payload fits CV_CLIENT_MAX_PAYLOAD
 * (RING_ROOM has none). */
CV_HIDDEN bool cv_rx_acceptable(const struct cv_rx_buffer *rx, const struct cv_frame_header *header);

/* Compacts, then makes room for the rest of the pending frame and returns
 * where to receive into (*space_len > 0). CS_ERR_LIBRARY when the pending
 * header is malformed, CS_ERR_NO_MEMORY. Only call with no complete frame
 * left in the buffer. */
CV_HIDDEN cs_error_t cv_rx_reserve(struct cv_rx_buffer *rx, uint8_t **space, size_t *space_len);
CV_HIDDEN void cv_rx_commit(struct cv_rx_buffer *rx, size_t received);

/* Takes the next complete frame. *payload points into the buffer and stays
 * valid until the next cv_rx_reserve. */
CV_HIDDEN enum cv_rx_result cv_rx_next(struct cv_rx_buffer *rx, struct cv_frame_header *header,
				       const uint8_t **payload);

/* Hands the caller the buffer that holds the frame cv_rx_next just took,
 * and its size; the bytes after that frame move to *spare (of
 * *spare_size bytes, which it then takes) when they fit there, else to a
 * new buffer. The caller frees it. NULL when memory ran out, with nothing
 * changed. */
CV_HIDDEN uint8_t *cv_rx_adopt(struct cv_rx_buffer *rx, uint8_t **spare, size_t *spare_size, size_t *size);

/* How many more bytes the next frame needs to be complete: the rest of its
 * header, else the rest of its payload; 0 when it is complete. */
CV_HIDDEN size_t cv_rx_frame_missing(const struct cv_rx_buffer *rx);

CV_HIDDEN void cv_rx_release(struct cv_rx_buffer *rx);

#endif
