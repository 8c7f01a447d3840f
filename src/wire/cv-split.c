/* Packing and unpacking split frames; see cv-split.h. */
#include <stdlib.h>
#include <string.h>

#include "cv-split.h"

static bool field_splittable(const ProtobufCFieldDescriptor *f)
{
	return f->type == PROTOBUF_C_TYPE_BYTES && f->label == PROTOBUF_C_LABEL_NONE &&
	       !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF);
}

static ProtobufCBinaryData *field_bytes(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	return (ProtobufCBinaryData *)((char *)msg + f->offset);
}

static size_t varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static size_t varint_put(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

/* The bytes the varint at in[0..len) takes, or 0 when it is cut short or
 * does not fit 32 bits. */
static size_t varint_get(const uint8_t *in, size_t len, uint32_t *v)
{
	uint64_t value = 0;

	for (size_t n = 0; n < len && n < 5; n++) {
		value |= (uint64_t)(in[n] & 0x7f) << (7 * n);
		if ((in[n] & 0x80) == 0) {
			if (value > UINT32_MAX)
				return 0;
			*v = (uint32_t)value;
			return n + 1;
		}
	}
	return 0;
}

/* What the field adds to the packed message: its tag, length and bytes. */
static size_t field_packed_size(const ProtobufCFieldDescriptor *f, size_t len)
{
	return varint_size((uint64_t)f->id << 3) + varint_size(len) + len;
}

static const ProtobufCFieldDescriptor *largest_splittable(const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	const ProtobufCFieldDescriptor *largest = NULL;

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];

		if (field_splittable(f) && field_bytes(msg, f)->len >= CV_SPLIT_MIN &&
		    (largest == NULL || field_bytes(msg, f)->len > field_bytes(msg, largest)->len))
			largest = f;
	}
	return largest;
}

/* The prefix (field number, protobuf length) is no longer than the field's
 * tag and length were, as long as the protobuf is no longer than the
 * field: so a split frame is never longer than the whole one, and room
 * found for a message's packed size always holds it. */
void cv_split_plan(const ProtobufCMessage *msg, struct cv_split *split)
{
	const ProtobufCFieldDescriptor *f = largest_splittable(msg);
	size_t protobuf;

	memset(split, 0, sizeof(*split));
	if (f == NULL)
		return;
	protobuf = protobuf_c_message_get_packed_size(msg) - field_packed_size(f, field_bytes(msg, f)->len);
	if (protobuf > field_bytes(msg, f)->len)
		return;
	split->field = f;
	split->bytes = *field_bytes(msg, f);
	split->protobuf_length = protobuf;
	split->head_length = varint_size(f->id) + varint_size(protobuf) + protobuf;
}

int cv_split_pack_head(const ProtobufCMessage *msg, const struct cv_split *split, uint8_t *out)
{
	size_t size = msg->descriptor->sizeof_message;
	ProtobufCMessage *without = malloc(size);

	if (without == NULL)
		return -1;
	memcpy(without, msg, size);
	*field_bytes(without, split->field) = (ProtobufCBinaryData){ 0 };
	out += varint_put(out, split->field->id);
	out += varint_put(out, split->protobuf_length);
	protobuf_c_message_pack(without, out);
	free(without);
	return 0;
}

/* The field's bytes follow the protobuf in payload, or are *outside. */
static ProtobufCMessage *split_unpack(const ProtobufCMessageDescriptor *desc, ProtobufCAllocator *allocator,
				      const uint8_t *payload, size_t length,
				      const ProtobufCBinaryData *outside,
				      const ProtobufCFieldDescriptor **split_field, const char **why)
{
	uint32_t field_id = 0, protobuf_length = 0;
	size_t n = varint_get(payload, length, &field_id), m = 0;
	const ProtobufCFieldDescriptor *f;
	ProtobufCMessage *msg;
	ProtobufCBinaryData *bytes;

	if (n > 0)
		m = varint_get(payload + n, length - n, &protobuf_length);
	if (n == 0 || m == 0) {
		*why = "split frame with a malformed prefix";
		return NULL;
	}
	payload += n + m;
	length -= n + m;
	if (protobuf_length > length) {
		*why = "split frame whose protobuf runs past its end";
		return NULL;
	}
	if (outside != NULL && protobuf_length != length) {
		*why = "shared frame with bytes after its protobuf";
		return NULL;
	}
	f = protobuf_c_message_descriptor_get_field(desc, field_id);
	if (f == NULL || !field_splittable(f)) {
		*why = "split frame naming no bytes field of its message";
		return NULL;
	}
	msg = protobuf_c_message_unpack(desc, allocator, protobuf_length, payload);
	if (msg == NULL) {
		*why = "undecodable protobuf payload";
		return NULL;
	}
	bytes = field_bytes(msg, f);
	if (bytes->len != 0) {
		protobuf_c_message_free_unpacked(msg, allocator);
		*why = "split frame carrying its split field inside the protobuf too";
		return NULL;
	}
	if (outside != NULL) {
		*bytes = *outside;
	} else {
		bytes->data = (uint8_t *)payload + protobuf_length;
		bytes->len = length - protobuf_length;
	}
	*split_field = f;
	return msg;
}

ProtobufCMessage *cv_payload_unpack(const ProtobufCMessageDescriptor *desc, ProtobufCAllocator *allocator,
				    bool split, const uint8_t *payload, size_t length,
				    const ProtobufCFieldDescriptor **split_field, const char **why)
{
	static const uint8_t empty[1];
	ProtobufCMessage *msg;

	*split_field = NULL;
	if (split)
		return split_unpack(desc, allocator, payload, length, NULL, split_field, why);
	msg = protobuf_c_message_unpack(desc, allocator, length, payload != NULL ? payload : empty);
	if (msg == NULL)
		*why = "undecodable protobuf payload";
	return msg;
}

ProtobufCMessage *cv_payload_unpack_shared(const ProtobufCMessageDescriptor *desc,
					   ProtobufCAllocator *allocator, const uint8_t *head,
					   size_t head_length, ProtobufCBinaryData bytes,
					   const ProtobufCFieldDescriptor **split_field, const char **why)
{
	*split_field = NULL;
	return split_unpack(desc, allocator, head, head_length, &bytes, split_field, why);
}

void cv_payload_free(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *split_field,
		     ProtobufCAllocator *allocator)
{
	if (msg == NULL)
		return;
	if (split_field != NULL)
		*field_bytes(msg, split_field) = (ProtobufCBinaryData){ 0 };
	protobuf_c_message_free_unpacked(msg, allocator);
}
