/* libFuzzer target, one per service: a request as a client would send it
 * to conclaved. Input: the request id, a flag byte (bit 0: sent as
 * REQUEST_SPLIT, cv-wire.h), then the payload. It is decoded within the
 * daemon's memory budget and checked against the IDL's declared bounds, as
 * the daemon does before any handler runs; no handler runs here. */
#include <stdint.h>
#include <stdlib.h>

#include "cv-server-private.h"
#include "cv-split.h"

extern const struct cv_server_service FUZZ_SERVER_SERVICE;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* conclaved's main.c provides it to cfg's handlers, which never run here. */
cs_error_t cv_server_reload_configuration(void)
{
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct cv_server_service *svc = &FUZZ_SERVER_SERVICE;
	struct cv_bounded_allocator alloc;
	const struct cv_request_desc *desc;
	const ProtobufCFieldDescriptor *split_field;
	ProtobufCMessage *request;
	const char *why;

	if (size < 2 || svc->n_requests == 0)
		return 0;
	desc = &svc->requests[data[0] % svc->n_requests];
	cv_request_allocator_init(&alloc, size - 2);
	if (desc->request == NULL)
		return 0;
	request = cv_payload_unpack(desc->request, &alloc.base, (data[1] & 1) != 0, data + 2, size - 2,
				    &split_field, &why);
	if (request == NULL)
		return 0;
	if (desc->validate != NULL)
		desc->validate(request);
	cv_payload_free(request, split_field, &alloc.base);
	return 0;
}
