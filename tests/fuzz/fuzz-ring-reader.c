/* libFuzzer target: the daemon's reader of a client's shared ring, with
 * the ring's shared header and bytes as a hostile client leaves them, and
 * its writer of the reply ring beside it, with the reply ring's tail the
 * client's. Input: the client's head (4 bytes, also its reply tail),
 * writer_waiting (4 bytes), our tail (4 bytes, also our reply head), then
 * the ring's bytes (also what is written to the reply ring). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>

#include "cv-ring-reader.h"

#define RING_CAPACITY CV_RING_MIN_CAPACITY

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cv_ring_reader *ring(void)
{
	static struct cv_ring_reader r;
	const char *why;
	int fd;

	if (r.shared != NULL)
		return &r;
	fd = memfd_create("fuzz-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, CV_RING_HEADER_SIZE + 2 * RING_CAPACITY) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0 ||
	    cv_ring_reader_open(&r, fd, RING_CAPACITY, true, &why) != CS_OK)
		abort();
	close(fd);
	return &r;
}

/* Writes what there is room for, as the daemon's output does. */
static void reply_ring_write(struct cv_ring_reader *r, uint32_t client_tail, uint32_t head,
			     const uint8_t *bytes, size_t size)
{
	int64_t room;

	r->shared->reply_tail = client_tail;
	r->reply_head = head;
	room = cv_ring_reply_room(r);
	if (room < 0)
		return;
	if (size > (size_t)room)
		size = (size_t)room;
	cv_ring_reply_put(r, bytes, (uint32_t)size);
	cv_ring_reply_publish(r);
	cv_ring_reply_wait_room(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cv_ring_reader *r = ring();
	uint8_t out[RING_CAPACITY + 64];
	uint32_t fields[3];
	bool room_wanted;
	ssize_t n;

	if (size < sizeof(fields))
		return 0;
	memcpy(fields, data, sizeof(fields));
	r->shared->head = fields[0];
	r->shared->writer_waiting = fields[1];
	r->tail = fields[2];
	r->shared->tail = fields[2];
	memset((uint8_t *)r->data, 0, RING_CAPACITY);
	memcpy((uint8_t *)r->data, data + sizeof(fields),
	       size - sizeof(fields) < RING_CAPACITY ? size - sizeof(fields) : RING_CAPACITY);
	for (int i = 0; i < 4 && cv_ring_reader_has_input(r); i++) {
		n = cv_ring_reader_read(r, out, (size_t)(data[size - 1] % 97 + 1) * (i + 1), &room_wanted);
		if (n < 0)
			break;
	}
	cv_ring_reader_sleep(r);
	reply_ring_write(r, fields[0], fields[2], data + sizeof(fields), size - sizeof(fields));
	return 0;
}
