/* The client's side of the event ring; see cv-event-ring.h. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cv-event-ring.h"

static bool capacity_valid(off_t size)
{
	uint64_t capacity = (uint64_t)size - CV_EVENT_RING_HEADER_SIZE;

	return size > (off_t)CV_EVENT_RING_HEADER_SIZE && capacity <= CV_CLIENT_MAX_PAYLOAD &&
	       (capacity & (capacity - 1)) == 0;
}

static cs_error_t ring_map(struct cv_event_ring_view *v, int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);
	struct stat st;
	void *map;

	if (v->map != NULL || seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(fd, &st) < 0 ||
	    !capacity_valid(st.st_size))
		return CS_ERR_LIBRARY;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return CS_ERR_NO_MEMORY;
	v->map = map;
	v->map_size = (size_t)st.st_size;
	v->capacity = (uint32_t)(st.st_size - CV_EVENT_RING_HEADER_SIZE);
	return CS_OK;
}

cs_error_t cv_event_ring_map(struct cv_event_ring_view *v, int fd)
{
	cs_error_t err = ring_map(v, fd);

	close(fd);
	return err;
}

bool cv_event_ring_place_valid(const struct cv_event_ring_view *v, const struct cv_event_ring_place *place)
{
	return v->map != NULL && place->length <= v->capacity &&
	       (place->position & (v->capacity - 1)) + (uint64_t)place->length <= v->capacity;
}

ProtobufCBinaryData cv_event_ring_bytes(const struct cv_event_ring_view *v,
					const struct cv_event_ring_place *place)
{
	return (ProtobufCBinaryData){
		.len = place->length,
		.data = v->map + CV_EVENT_RING_HEADER_SIZE + (place->position & (v->capacity - 1)),
	};
}

void cv_event_ring_taken(struct cv_event_ring_view *v, const struct cv_event_ring_place *place)
{
	v->delivering++;
	v->taken_end = place->position + place->length;
}

/* Events are taken in the order of their places, so once none taken is
 * still being delivered, everything up to the last one's end is free. */
void cv_event_ring_done(struct cv_event_ring_view *v)
{
	struct cv_event_ring_shared *shared = (struct cv_event_ring_shared *)v->map;

	if (--v->delivering == 0)
		atomic_store_explicit((_Atomic uint32_t *)&shared->tail, v->taken_end, memory_order_release);
}

void cv_event_ring_unmap(struct cv_event_ring_view *v)
{
	if (v->map != NULL)
		munmap(v->map, v->map_size);
	*v = (struct cv_event_ring_view){ 0 };
}
