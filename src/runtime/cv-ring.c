/* The client's end of a shared ring: a single producer (calls hold the
 * connection's send_lock) writing into memory the daemon reads. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cv-errno.h"
#include "cv-ring.h"

#define RING_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

cs_error_t cv_ring_create(struct cv_ring *ring, uint32_t capacity, int *memfd)
{
	size_t size = CV_RING_HEADER_SIZE + 2 * (size_t)capacity;
	void *map;
	int fd, err;

	fd = memfd_create("conclave-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return cv_errno_to_cs(errno);
	if (ftruncate(fd, (off_t)size) < 0 || fcntl(fd, F_ADD_SEALS, RING_SEALS) < 0)
		goto failed;
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		goto failed;
	*ring = (struct cv_ring){
		.shared = map,
		.data = (uint8_t *)map + CV_RING_HEADER_SIZE,
		.capacity = capacity,
		.map_size = size,
	};
	*memfd = fd;
	return CS_OK;
failed:
	err = errno;
	close(fd);
	return cv_errno_to_cs(err);
}

void cv_ring_destroy(struct cv_ring *ring)
{
	if (ring->shared != NULL)
		munmap(ring->shared, ring->map_size);
	ring->shared = NULL;
}

static uint32_t ring_room(const struct cv_ring *ring)
{
	uint32_t tail = __atomic_load_n(&ring->shared->tail, __ATOMIC_ACQUIRE);

	return ring->capacity - (ring->head - tail);
}

/* Copies len bytes to the ring at our head, wrapping at its end. */
static void ring_put(struct cv_ring *ring, const uint8_t *from, uint32_t len)
{
	uint32_t at = ring->head & (ring->capacity - 1);
	uint32_t first = ring->capacity - at < len ? ring->capacity - at : len;

	memcpy(ring->data + at, from, first);
	memcpy(ring->data, from + first, len - first);
	ring->head += len;
}

bool cv_ring_fits(const struct cv_ring *ring, size_t size)
{
	return size <= ring_room(ring) || size > ring->capacity;
}

static uint32_t cpu_plus_one(void)
{
	int cpu = sched_getcpu();

	return cpu < 0 ? 0 : (uint32_t)cpu + 1;
}

size_t cv_ring_write(struct cv_ring *ring, const struct iovec *iov, size_t n, bool *wake)
{
	uint32_t room = ring_room(ring);
	size_t written = 0;

	*wake = false;
	for (size_t i = 0; i < n && room > 0; i++) {
		uint32_t len = iov[i].iov_len < room ? (uint32_t)iov[i].iov_len : room;

		ring_put(ring, iov[i].iov_base, len);
		room -= len;
		written += len;
	}
	if (written == 0)
		return 0;
	__atomic_store_n(&ring->shared->head, ring->head, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*wake = __atomic_load_n(&ring->shared->reader_asleep, __ATOMIC_RELAXED) != 0 &&
		__atomic_exchange_n(&ring->shared->reader_asleep, 0, __ATOMIC_RELAXED) != 0;
	if (*wake)
		__atomic_store_n(&ring->shared->waker_cpu, cpu_plus_one(), __ATOMIC_RELAXED);
	return written;
}

void cv_ring_sleeping_on_events(struct cv_ring *ring, bool asleep)
{
	__atomic_store_n(&ring->shared->event_sleeper, asleep ? 1u : 0u, __ATOMIC_RELAXED);
}

bool cv_ring_wait_for_room(struct cv_ring *ring, size_t wanted)
{
	uint32_t awaited = wanted < ring->capacity ? (uint32_t)wanted : ring->capacity;

	__atomic_store_n(&ring->shared->writer_waiting, awaited > 0 ? awaited : 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!cv_ring_fits(ring, wanted))
		return true;
	cv_ring_stop_waiting(ring);
	return false;
}

void cv_ring_stop_waiting(struct cv_ring *ring)
{
	__atomic_store_n(&ring->shared->writer_waiting, 0, __ATOMIC_RELAXED);
}

static bool ring_settled_now(const struct cv_ring *ring, uint32_t awaited)
{
	return __atomic_load_n(&ring->shared->paused, __ATOMIC_ACQUIRE) != 0 ||
	       cv_seq_reached(__atomic_load_n(&ring->shared->settled, __ATOMIC_ACQUIRE), awaited);
}

bool cv_ring_settled(struct cv_ring *ring, uint32_t awaited)
{
	if (ring_settled_now(ring, awaited))
		return true;
	__atomic_store_n(&ring->shared->settle_waiting, awaited, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ring_settled_now(ring, awaited);
}

void cv_ring_stop_settle_waiting(struct cv_ring *ring)
{
	__atomic_store_n(&ring->shared->settle_waiting, 0, __ATOMIC_RELAXED);
}

/* ---- the reply ring ---- */

void cv_reply_ring_attach(struct cv_reply_ring *reply, const struct cv_ring *ring)
{
	*reply = (struct cv_reply_ring){
		.shared = ring->shared,
		.data = ring->data + ring->capacity,
		.capacity = ring->capacity,
		.tail = __atomic_load_n(&ring->shared->reply_tail, __ATOMIC_RELAXED),
	};
}

bool cv_reply_ring_has_input(const struct cv_reply_ring *reply)
{
	return __atomic_load_n(&reply->shared->reply_head, __ATOMIC_ACQUIRE) != reply->tail;
}

/* Copies len bytes from our tail, wrapping at the end of the data. */
static void reply_take(struct cv_reply_ring *reply, uint8_t *to, uint32_t len)
{
	uint32_t at = reply->tail & (reply->capacity - 1);
	uint32_t first = reply->capacity - at < len ? reply->capacity - at : len;

	memcpy(to, reply->data + at, first);
	memcpy(to + first, reply->data, len - first);
	reply->tail += len;
}

ssize_t cv_reply_ring_read(struct cv_reply_ring *reply, void *to, size_t len, bool *wake_writer)
{
	uint32_t waiting = __atomic_load_n(&reply->shared->reply_head, __ATOMIC_ACQUIRE) - reply->tail;
	uint32_t n = len < waiting ? (uint32_t)len : waiting;

	*wake_writer = false;
	if (waiting > reply->capacity)
		return -1;
	if (n == 0)
		return 0;
	reply_take(reply, to, n);
	__atomic_store_n(&reply->shared->reply_tail, reply->tail, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*wake_writer = __atomic_load_n(&reply->shared->reply_writer_waiting, __ATOMIC_RELAXED) != 0 &&
		       __atomic_exchange_n(&reply->shared->reply_writer_waiting, 0, __ATOMIC_RELAXED) != 0;
	return n;
}

bool cv_reply_ring_sleep(struct cv_reply_ring *reply)
{
	__atomic_store_n(&reply->shared->reply_reader_asleep, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!cv_reply_ring_has_input(reply))
		return true;
	cv_reply_ring_awake(reply);
	return false;
}

void cv_reply_ring_awake(struct cv_reply_ring *reply)
{
	__atomic_store_n(&reply->shared->reply_reader_asleep, 0, __ATOMIC_RELAXED);
}
