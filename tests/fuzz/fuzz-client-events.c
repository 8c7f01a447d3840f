/* libFuzzer target, one per service: an event as the daemon would send it
 * to a library. Input: the event id, a flag byte (bit 0: sent split,
 * cv-wire.h), then the payload. The payload is decoded as the runtime does
 * and, when it decodes, converted by the generated code into the
 * callback's C arguments. */
#include <stddef.h>
#include <stdint.h>

#include <conclave/client-runtime.h>
#include "cv-split.h"

extern const struct cv_client_service FUZZ_CLIENT_SERVICE;

static void callback_ignoring_its_arguments(void)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct cv_client_service *svc = &FUZZ_CLIENT_SERVICE;
	const struct cv_event_desc *desc;
	const ProtobufCFieldDescriptor *split_field;
	ProtobufCMessage *event;
	const char *why;

	if (size < 2 || svc->n_events == 0)
		return 0;
	desc = &svc->events[data[0] % svc->n_events];
	event = cv_payload_unpack(desc->message, NULL, (data[1] & 1) != 0, data + 2, size - 2, &split_field,
				  &why);
	if (event == NULL)
		return 0;
	desc->deliver(0, (cv_callback_fn)callback_ignoring_its_arguments, event);
	cv_payload_free(event, split_field, NULL);
	return 0;
}
