/* Split frames (cv-wire.h): the largest bytes field of a request or event
 * travels after the protobuf rather than inside it, so that neither end
 * copies it through protobuf-c: the sender writes it from where it lies,
 * the receiver's message points into the frame. Shared by the client
 * runtime and conclaved.
 */
#ifndef CONCLAVE_CV_SPLIT_H
#define CONCLAVE_CV_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "cv-wire.h"

/* A field shorter than this stays inside the protobuf. */
#define CV_SPLIT_MIN 4096u

struct cv_split {
	const ProtobufCFieldDescriptor *field; /* NULL: the message travels whole */
	ProtobufCBinaryData bytes;             /* the field's value */
	size_t protobuf_length;                /* the message packed without the field */
	size_t head_length;                    /* the prefix and that protobuf */
};

/* How msg travels: split->field is its largest top-level bytes field of at
 * least CV_SPLIT_MIN bytes, unless the rest of the message is larger still;
 * else NULL. */
void cv_split_plan(const ProtobufCMessage *msg, struct cv_split *split) __attribute__((visibility("hidden")));

/* Writes split->head_length bytes: the prefix, then msg packed without the
 * field; split->bytes follow them in the frame. 0, or -1 on exhaustion. */
int cv_split_pack_head(const ProtobufCMessage *msg, const struct cv_split *split, uint8_t *out)
	__attribute__((visibility("hidden")));

/* The message of a payload, split or whole. For a split one, *split_field
 * is the field that points into payload (which must outlive the message),
 * else NULL. NULL with *why saying what is malformed (or that memory ran
 * out). Free it with cv_payload_free. */
ProtobufCMessage *cv_payload_unpack(const ProtobufCMessageDescriptor *desc, ProtobufCAllocator *allocator,
				    bool split, const uint8_t *payload, size_t length,
				    const ProtobufCFieldDescriptor **split_field, const char **why)
	__attribute__((visibility("hidden")));

/* The message of an EVENT_SHARED payload, head (the prefix and the
 * protobuf), whose split field is `bytes` (which must outlive the
 * message); as cv_payload_unpack otherwise. */
ProtobufCMessage *cv_payload_unpack_shared(const ProtobufCMessageDescriptor *desc,
					   ProtobufCAllocator *allocator, const uint8_t *head,
					   size_t head_length, ProtobufCBinaryData bytes,
					   const ProtobufCFieldDescriptor **split_field, const char **why)
	__attribute__((visibility("hidden")));

/* Frees a message from cv_payload_unpack without touching the payload. */
void cv_payload_free(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *split_field,
		     ProtobufCAllocator *allocator) __attribute__((visibility("hidden")));

#endif
