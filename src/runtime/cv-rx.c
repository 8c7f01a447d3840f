/* Cutting the received byte stream into frames. */
#include <stdlib.h>
#include <string.h>

#include "cv-limits.h"
#include "cv-rx.h"

#define HEADER_SIZE sizeof(struct cv_frame_header)

bool cv_rx_acceptable(const struct cv_rx_buffer *rx, const struct cv_frame_header *header)
{
	if (header->kind >= 32 || !(rx->kinds & CV_RX_KIND(header->kind)))
		return false;
	if (header->kind == CV_FRAME_RING_ROOM)
		return header->length == 0;
	return header->length <= CV_CLIENT_MAX_PAYLOAD;
}

static size_t rx_pending(const struct cv_rx_buffer *rx)
{
	return rx->filled - rx->consumed;
}

static void rx_header_peek(const struct cv_rx_buffer *rx, struct cv_frame_header *header)
{
	memcpy(header, rx->data + rx->consumed, HEADER_SIZE);
}

/* Moves the unconsumed bytes to the front, and gives back the memory of a
 * frame larger than CV_RX_KEEP_MAX once it is gone. */
static void rx_compact(struct cv_rx_buffer *rx)
{
	size_t pending = rx_pending(rx);
	uint8_t *smaller;

	if (rx->consumed > 0 && pending > 0)
		memmove(rx->data, rx->data + rx->consumed, pending);
	rx->filled = pending;
	rx->consumed = 0;
	if (pending == 0 && rx->size > CV_RX_KEEP_MAX) {
		smaller = realloc(rx->data, CV_RX_DEFAULT_SIZE);
		if (smaller != NULL) {
			rx->data = smaller;
			rx->size = CV_RX_DEFAULT_SIZE;
		}
	}
}

static cs_error_t rx_grow(struct cv_rx_buffer *rx, size_t size)
{
	uint8_t *data;

	if (size <= rx->size)
		return CS_OK;
	data = realloc(rx->data, size);
	if (data == NULL)
		return CS_ERR_NO_MEMORY;
	rx->data = data;
	rx->size = size;
	return CS_OK;
}

cs_error_t cv_rx_reserve(struct cv_rx_buffer *rx, uint8_t **space, size_t *space_len)
{
	struct cv_frame_header header;
	size_t needed = CV_RX_DEFAULT_SIZE;
	cs_error_t err;

	rx_compact(rx);
	if (rx->filled >= HEADER_SIZE) {
		rx_header_peek(rx, &header);
		if (!cv_rx_acceptable(rx, &header))
			return CS_ERR_LIBRARY;
		if (HEADER_SIZE + header.length > needed)
			needed = HEADER_SIZE + header.length;
	}
	err = rx_grow(rx, needed);
	if (err != CS_OK)
		return err;
	if (rx->filled >= rx->size)
		return CS_ERR_LIBRARY; /* a complete frame was left unconsumed */
	*space = rx->data + rx->filled;
	*space_len = rx->size - rx->filled;
	return CS_OK;
}

void cv_rx_commit(struct cv_rx_buffer *rx, size_t received)
{
	rx->filled += received;
}

enum cv_rx_result cv_rx_next(struct cv_rx_buffer *rx, struct cv_frame_header *header, const uint8_t **payload)
{
	if (rx_pending(rx) < HEADER_SIZE)
		return CV_RX_NEED_MORE;
	rx_header_peek(rx, header);
	if (!cv_rx_acceptable(rx, header))
		return CV_RX_MALFORMED;
	if (rx_pending(rx) - HEADER_SIZE < header->length)
		return CV_RX_NEED_MORE;
	*payload = rx->data + rx->consumed + HEADER_SIZE;
	rx->consumed += HEADER_SIZE + header->length;
	return CV_RX_FRAME;
}

uint8_t *cv_rx_adopt(struct cv_rx_buffer *rx, uint8_t **spare, size_t *spare_size, size_t *size)
{
	size_t rest = rx_pending(rx);
	size_t fresh_size = rest > CV_RX_DEFAULT_SIZE ? rest : CV_RX_DEFAULT_SIZE;
	bool from_spare = *spare != NULL && *spare_size >= fresh_size;
	uint8_t *fresh = from_spare ? *spare : malloc(fresh_size);
	uint8_t *taken = rx->data;

	if (fresh == NULL)
		return NULL;
	if (from_spare) {
		fresh_size = *spare_size;
		*spare = NULL;
	}
	memcpy(fresh, rx->data + rx->consumed, rest);
	*size = rx->size;
	rx->data = fresh;
	rx->size = fresh_size;
	rx->filled = rest;
	rx->consumed = 0;
	return taken;
}

size_t cv_rx_frame_missing(const struct cv_rx_buffer *rx)
{
	struct cv_frame_header header;
	size_t pending = rx_pending(rx);

	if (pending < HEADER_SIZE)
		return HEADER_SIZE - pending;
	rx_header_peek(rx, &header);
	return pending - HEADER_SIZE < header.length ? HEADER_SIZE + header.length - pending : 0;
}

void cv_rx_release(struct cv_rx_buffer *rx)
{
	free(rx->data);
	*rx = (struct cv_rx_buffer){ .kinds = rx->kinds };
}
