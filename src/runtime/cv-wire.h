/* Conclave wire format, shared by the client runtime and conclaved.
 *
 * A connection is a SOCK_STREAM Unix socket carrying frames. Every frame is a
 * fixed 16-byte header followed by `length` payload bytes. Both ends run on one
 * host, so integers are in host byte order.
 *
 * Connection life:
 *   client -> HELLO   (payload: struct cv_hello)
 *   daemon -> WELCOME (status CS_OK, payload: struct cv_welcome), or WELCOME with
 *             status CS_ERR_ACCESS / CS_ERR_NOT_SUPPORTED / CS_ERR_TRY_AGAIN /
 *             CS_ERR_NO_RESOURCES and no payload, after which the daemon closes.
 *   client -> REQUEST (id = request id, seq = client-chosen, payload = protobuf)
 *   daemon -> REPLY   (id and seq echoed, status = cs_error_t, payload = protobuf,
 *                      possibly empty), never sent for one-way requests
 *   daemon -> EVENT   (id = event id, seq 0, payload = protobuf)
 * Replies and events interleave freely; replies carry the seq of their request.
 *
 * REQUEST_SPLIT and EVENT_SPLIT are REQUEST and EVENT whose message's
 * largest bytes field (cv-split.h says which qualify) travels after the
 * protobuf instead of inside it. The payload is a prefix of two protobuf
 * varints, the field's number and the length of the protobuf, then that
 * protobuf (the message without the field), then the field's bytes up to
 * the end of the payload. A receiver refuses, as any malformed frame, a
 * prefix cut short or beyond 32 bits, a protobuf running past the end, a
 * field number that is no top-level bytes field of the message, or a
 * protobuf that carries the field as well.
 */
#ifndef CONCLAVE_CV_WIRE_H
#define CONCLAVE_CV_WIRE_H

#include <stdint.h>

#define CV_WIRE_MAGIC 0x31564c43u /* "CLV1" */
#define CV_SERVICE_NAME_MAX 32

enum cv_frame_kind {
	CV_FRAME_HELLO = 1,
	CV_FRAME_WELCOME = 2,
	CV_FRAME_REQUEST = 3,
	CV_FRAME_REPLY = 4,
	CV_FRAME_EVENT = 5,
	CV_FRAME_REQUEST_SPLIT = 6,
	CV_FRAME_EVENT_SPLIT = 7,
};

struct cv_frame_header {
	uint32_t length; /* payload bytes after this header */
	uint16_t kind;   /* enum cv_frame_kind */
	uint16_t id;     /* request or event id within the service */
	uint32_t seq;    /* request sequence, echoed in the reply; 0 otherwise */
	int32_t status;  /* cs_error_t in REPLY and WELCOME; 0 otherwise */
};

struct cv_hello {
	uint32_t magic;
	uint16_t idl_major; /* the service's IDL version the client was built from */
	uint16_t idl_minor;
	char service[CV_SERVICE_NAME_MAX]; /* NUL-padded */
};

struct cv_welcome {
	uint32_t magic;
	uint32_t max_message_size; /* largest payload the daemon accepts */
};

_Static_assert(sizeof(struct cv_frame_header) == 16, "frame header is 16 bytes");
_Static_assert(sizeof(struct cv_hello) == 40, "hello is 40 bytes");
_Static_assert(sizeof(struct cv_welcome) == 8, "welcome is 8 bytes");

/* The daemon accepts a client whose idl_major equals its own and whose
 * idl_minor is not greater than its own; anything else gets NOT_SUPPORTED. */

#define CV_DEFAULT_SOCKET_PATH "/run/conclave/conclaved.sock"
#define CV_SOCKET_ENV "CONCLAVE_SOCKET"

/* Client-side ceiling on any incoming payload, whatever the daemon announces. */
#define CV_CLIENT_MAX_PAYLOAD (64u * 1024u * 1024u)

#endif
