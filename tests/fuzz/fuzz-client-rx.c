/* libFuzzer target: a library's frame reader (cv-rx.h) fed what a hostile
 * daemon writes to its socket, cut into reads of the sizes the input's
 * first bytes say. Frames taken are dropped or, as large events are,
 * adopted, their buffers given back as spares. */
#include <stdlib.h>
#include <string.h>

#include "cv-limits.h"
#include "cv-rx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cv_rx_buffer rx = { .kinds = CV_RX_KIND(CV_FRAME_EVENT) | CV_RX_KIND(CV_FRAME_EVENT_SPLIT) };
	struct cv_frame_header header;
	const uint8_t *payload;
	uint8_t *spare = NULL;
	size_t spare_size = 0;
	size_t at = 1;

	if (size < 1)
		return 0;
	while (at < size) {
		size_t chunk = (size_t)data[0] * 7 + 1, space_len;
		enum cv_rx_result r;
		uint8_t *space;

		if (cv_rx_reserve(&rx, &space, &space_len) != CS_OK)
			break;
		if (chunk > space_len)
			chunk = space_len;
		if (chunk > size - at)
			chunk = size - at;
		memcpy(space, data + at, chunk);
		cv_rx_commit(&rx, chunk);
		at += chunk;
		while ((r = cv_rx_next(&rx, &header, &payload)) == CV_RX_FRAME) {
			if (header.length >= CV_RX_ADOPT_MIN) {
				size_t adopted_size;
				uint8_t *adopted = cv_rx_adopt(&rx, &spare, &spare_size, &adopted_size);

				/* given back once dispatched, as the client does */
				if (adopted != NULL && spare == NULL && adopted_size <= CV_RX_KEEP_MAX) {
					spare = adopted;
					spare_size = adopted_size;
				} else {
					free(adopted);
				}
			}
		}
		if (r == CV_RX_MALFORMED)
			break;
	}
	cv_rx_release(&rx);
	free(spare);
	return 0;
}
