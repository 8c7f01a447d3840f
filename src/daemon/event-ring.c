/* A session's event ring (cv-wire.h: EVENT_RING): the large bytes of its
 * events go into memory its client maps, one copy, instead of into the
 * socket and out of it again, which on a machine with costly page
 * allocation makes most of a large event's cost. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cv-server-private.h"

/* Smaller bytes go through the socket: the frame costs as much anyway. */
#define EVENT_RING_MIN_BYTES (16u * 1024u)
/* The ring's data, made once per session that receives large events; an
 * event takes at most a quarter of it, so that a few are in flight. Small,
 * because its pages fault in on first use in the daemon and the client,
 * which on a virtual machine costs tens of microseconds each. */
#define EVENT_RING_CAPACITY (256u * 1024u)
#define EVENT_RING_MAX_BYTES (EVENT_RING_CAPACITY / 4u)

static size_t ringed_bytes(const struct cv_packed_frame *p)
{
	return p->size - sizeof(struct cv_frame_header) - p->head_length;
}

static struct event_ring *event_ring_new(void)
{
	size_t size = CV_EVENT_RING_HEADER_SIZE + EVENT_RING_CAPACITY;
	struct event_ring *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->capacity = EVENT_RING_CAPACITY;
	r->fd = memfd_create("conclave-events", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (r->fd < 0)
		goto fail;
	if (ftruncate(r->fd, (off_t)size) < 0 ||
	    fcntl(r->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail_fd;
	r->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->map == MAP_FAILED)
		goto fail_fd;
	return r;
fail_fd:
	close(r->fd);
fail:
	cv_log_debug("no event ring: %s", strerror(errno));
	free(r);
	return NULL;
}

/* The ring, made the first time; NULL when it cannot be (and never will). */
static struct event_ring *session_ring(struct cv_session *s)
{
	static struct event_ring failed;

	if (s->event_ring == NULL)
		s->event_ring = event_ring_new();
	if (s->event_ring == NULL)
		s->event_ring = &failed;
	return s->event_ring == &failed ? NULL : s->event_ring;
}

/* Where `length` bytes go, never across the data's end; false when the
 * client has not given back enough (or its tail makes no sense). */
static bool ring_room(const struct event_ring *r, uint32_t length, uint32_t *position)
{
	const struct cv_event_ring_shared *shared = (const void *)r->map;
	uint32_t tail = atomic_load_explicit((_Atomic uint32_t *)&shared->tail, memory_order_acquire);
	uint32_t pos = r->head, offset = pos & (r->capacity - 1);

	if (r->head - tail > r->capacity)
		return false;
	if (offset + length > r->capacity)
		pos += r->capacity - offset;
	if (pos + length - tail > r->capacity)
		return false;
	*position = pos;
	return true;
}

bool event_ring_place(struct cv_session *s, struct out_frame *f)
{
	const struct cv_packed_frame *p = f->packed;
	size_t length = ringed_bytes(p);
	struct event_ring *r;
	uint32_t position;

	if (!s->reads_event_ring || p->head_length == 0 || length < EVENT_RING_MIN_BYTES ||
	    length > EVENT_RING_MAX_BYTES)
		return false;
	r = session_ring(s);
	if (r == NULL || !ring_room(r, (uint32_t)length, &position))
		return false;
	memcpy(r->map + CV_EVENT_RING_HEADER_SIZE + (position & (r->capacity - 1)),
	       p->bytes + sizeof(struct cv_frame_header) + p->head_length, length);
	r->head = position + (uint32_t)length;
	memcpy(&f->ring_form.header, p->bytes, sizeof(f->ring_form.header));
	f->ring_form.header.kind = CV_FRAME_EVENT_RING;
	f->ring_form.header.length = (uint32_t)(sizeof(f->ring_form.place) + p->head_length);
	f->ring_form.place = (struct cv_event_ring_place){ .position = position, .length = (uint32_t)length };
	f->ringed = true;
	f->carries_ring = !r->fd_given;
	r->fd_given = true;
	return true;
}

size_t event_ring_frame_size(const struct out_frame *f)
{
	return sizeof(f->ring_form) + f->packed->head_length;
}

void event_ring_free(struct cv_session *s)
{
	struct event_ring *r = s->event_ring;

	s->event_ring = NULL;
	if (r == NULL || r->map == NULL)
		return;
	munmap(r->map, CV_EVENT_RING_HEADER_SIZE + r->capacity);
	close(r->fd);
	free(r);
}
