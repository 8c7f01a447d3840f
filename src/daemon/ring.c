#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "cv-ring-reader.h"

static bool capacity_valid(uint32_t capacity)
{
	return capacity >= CV_RING_MIN_CAPACITY && capacity <= CV_RING_MAX_CAPACITY &&
	       (capacity & (capacity - 1)) == 0;
}

/* A client could otherwise shrink the file under our reads and kill the
 * daemon with SIGBUS. */
static bool memfd_valid(int memfd, size_t size, const char **why)
{
	struct stat st;
	int seals = fcntl(memfd, F_GET_SEALS);

	if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
		*why = "RING_OPEN with a descriptor that is no memfd sealed against shrinking";
		return false;
	}
	if (fstat(memfd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != size) {
		*why = "RING_OPEN with a memfd whose size is not the ring's";
		return false;
	}
	return true;
}

static size_t ring_size(uint32_t capacity, bool with_replies)
{
	return CV_RING_HEADER_SIZE + (size_t)capacity * (with_replies ? 2 : 1);
}

cs_error_t cv_ring_reader_open(struct cv_ring_reader *r, int memfd, uint32_t capacity, bool with_replies,
			       const char **why)
{
	size_t size = ring_size(capacity, with_replies);
	void *map;

	if (!capacity_valid(capacity)) {
		*why = "RING_OPEN with a capacity that is no power of two within the limits";
		return CS_ERR_INVALID_PARAM;
	}
	if (!memfd_valid(memfd, size, why))
		return CS_ERR_INVALID_PARAM;
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (map == MAP_FAILED) {
		*why = "RING_OPEN with a memfd that cannot be mapped";
		return CS_ERR_NO_RESOURCES;
	}
	*r = (struct cv_ring_reader){
		.shared = map,
		.data = (const uint8_t *)map + CV_RING_HEADER_SIZE,
		.capacity = capacity,
		.tail = __atomic_load_n(&((struct cv_ring_shared *)map)->tail, __ATOMIC_RELAXED),
	};
	if (with_replies) {
		r->reply_data = (uint8_t *)map + CV_RING_HEADER_SIZE + capacity;
		r->reply_head = __atomic_load_n(&r->shared->reply_head, __ATOMIC_RELAXED);
	}
	return CS_OK;
}

void cv_ring_reader_close(struct cv_ring_reader *r)
{
	if (r->shared)
		munmap(r->shared, ring_size(r->capacity, r->reply_data != NULL));
	r->shared = NULL;
	r->reply_data = NULL;
}

bool cv_ring_reader_has_input(const struct cv_ring_reader *r)
{
	return __atomic_load_n(&r->shared->head, __ATOMIC_ACQUIRE) != r->tail;
}

/* Copies len bytes from our tail, wrapping at the end of the data. */
static void ring_take(struct cv_ring_reader *r, uint8_t *to, uint32_t len)
{
	uint32_t at = r->tail & (r->capacity - 1);
	uint32_t first = r->capacity - at < len ? r->capacity - at : len;

	memcpy(to, r->data + at, first);
	memcpy(to + first, r->data, len - first);
	r->tail += len;
}

/* Whether a client waits for room, and the room left beside the `pending`
 * bytes is as much as it awaits; if so, it is no longer waiting. */
static bool room_awaited(struct cv_ring_reader *r, uint32_t pending)
{
	uint32_t awaited = __atomic_load_n(&r->shared->writer_waiting, __ATOMIC_RELAXED);

	if (awaited == 0 || r->capacity - pending < (awaited < r->capacity ? awaited : r->capacity))
		return false;
	return __atomic_exchange_n(&r->shared->writer_waiting, 0, __ATOMIC_RELAXED) != 0;
}

ssize_t cv_ring_reader_read(struct cv_ring_reader *r, void *to, size_t len, bool *room_wanted)
{
	uint32_t waiting = __atomic_load_n(&r->shared->head, __ATOMIC_ACQUIRE) - r->tail;
	uint32_t n = len < waiting ? (uint32_t)len : waiting;

	*room_wanted = false;
	if (waiting > r->capacity)
		return -1;
	if (n == 0)
		return 0;
	ring_take(r, to, n);
	__atomic_store_n(&r->shared->tail, r->tail, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*room_wanted = room_awaited(r, waiting - n);
	return n;
}

uint32_t cv_ring_reader_waker(const struct cv_ring_reader *r, bool *on_reply, bool *on_event)
{
	*on_reply = r->reply_data != NULL &&
		    __atomic_load_n(&r->shared->reply_reader_asleep, __ATOMIC_RELAXED) != 0;
	*on_event = __atomic_load_n(&r->shared->event_sleeper, __ATOMIC_RELAXED) != 0;
	return __atomic_load_n(&r->shared->waker_cpu, __ATOMIC_RELAXED);
}

bool cv_ring_reader_sleep(struct cv_ring_reader *r)
{
	__atomic_store_n(&r->shared->reader_asleep, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!cv_ring_reader_has_input(r))
		return true;
	__atomic_store_n(&r->shared->reader_asleep, 0, __ATOMIC_RELAXED);
	return false;
}

bool cv_ring_reader_settle(struct cv_ring_reader *r, uint32_t settled, bool paused)
{
	uint32_t awaited;

	__atomic_store_n(&r->shared->settled, settled, __ATOMIC_RELEASE);
	__atomic_store_n(&r->shared->paused, paused ? 1u : 0u, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	awaited = __atomic_load_n(&r->shared->settle_waiting, __ATOMIC_RELAXED);
	if (awaited == 0 || (!paused && !cv_seq_reached(settled, awaited)))
		return false;
	return __atomic_exchange_n(&r->shared->settle_waiting, 0, __ATOMIC_RELAXED) != 0;
}

int64_t cv_ring_reply_room(const struct cv_ring_reader *r)
{
	uint32_t used = r->reply_head - __atomic_load_n(&r->shared->reply_tail, __ATOMIC_ACQUIRE);

	return used > r->capacity ? -1 : (int64_t)(r->capacity - used);
}

void cv_ring_reply_put(struct cv_ring_reader *r, const void *from, uint32_t len)
{
	uint32_t at = r->reply_head & (r->capacity - 1);
	uint32_t first = r->capacity - at < len ? r->capacity - at : len;

	memcpy(r->reply_data + at, from, first);
	memcpy(r->reply_data, (const uint8_t *)from + first, len - first);
	r->reply_head += len;
}

bool cv_ring_reply_publish(struct cv_ring_reader *r)
{
	__atomic_store_n(&r->shared->reply_head, r->reply_head, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&r->shared->reply_reader_asleep, __ATOMIC_RELAXED) != 0 &&
	       __atomic_exchange_n(&r->shared->reply_reader_asleep, 0, __ATOMIC_RELAXED) != 0;
}

bool cv_ring_reply_wait_room(struct cv_ring_reader *r)
{
	__atomic_store_n(&r->shared->reply_writer_waiting, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (cv_ring_reply_room(r) == 0)
		return true;
	__atomic_store_n(&r->shared->reply_writer_waiting, 0, __ATOMIC_RELAXED);
	return false;
}
