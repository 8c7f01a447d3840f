/* The client's view of its connection's event ring (cv-wire.h:
 * EVENT_RING): mapped once the daemon sends it, read in place by the
 * callbacks, and given back in the order events were taken for delivery.
 */
#ifndef CONCLAVE_CV_EVENT_RING_H
#define CONCLAVE_CV_EVENT_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <conclave/client-runtime.h>
#include <protobuf-c/protobuf-c.h>

#include "cv-wire.h"

struct cv_event_ring_view {
	unsigned char *map; /* the header, then the data; NULL until the daemon sent the ring */
	size_t map_size;
	uint32_t capacity;
	unsigned int delivering; /* events taken for delivery, not yet given back */
	uint32_t taken_end;      /* the end of the last one taken */
};

/* Maps the ring the daemon sent (it takes fd). CS_ERR_LIBRARY when one is
 * mapped already, or fd is no memfd sealed against shrinking whose data
 * is a power of two of bytes; CS_ERR_NO_MEMORY. */
CV_HIDDEN cs_error_t cv_event_ring_map(struct cv_event_ring_view *v, int fd);

/* Whether place lies within the data of a mapped ring. */
CV_HIDDEN bool cv_event_ring_place_valid(const struct cv_event_ring_view *v,
					 const struct cv_event_ring_place *place);

CV_HIDDEN ProtobufCBinaryData cv_event_ring_bytes(const struct cv_event_ring_view *v,
						  const struct cv_event_ring_place *place);

/* An event at place is taken for delivery; once every one taken is done,
 * the ring gets their bytes back. */
CV_HIDDEN void cv_event_ring_taken(struct cv_event_ring_view *v, const struct cv_event_ring_place *place);
CV_HIDDEN void cv_event_ring_done(struct cv_event_ring_view *v);

CV_HIDDEN void cv_event_ring_unmap(struct cv_event_ring_view *v);

#endif
