/* Own messages: submission, batching, fragments, what corosync may have
 * dropped, and keeping each until it is stable. See cv-engine.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/uio.h>

#include "cv-engine-private.h"

static size_t batch_limit(const struct cv_engine *e)
{
	size_t room = e->config.packet_max - CV_WIRE_HEADER;

	return e->config.batch_bytes < room ? e->config.batch_bytes : room;
}

static uint64_t out_last_seq(const struct cv_out *o)
{
	return o->seq + o->count - 1;
}

static struct cv_out *out_append(struct cv_engine *e, bool large, size_t capacity)
{
	struct cv_out *o = calloc(1, sizeof(*o));

	if (o == NULL || (o->data = malloc(capacity)) == NULL) {
		free(o);
		return NULL;
	}
	o->capacity = capacity;
	o->large = large;
	o->closed = large;
	o->seq = e->next_seq;
	if (e->out_tail) {
		e->out_tail->closed = true;
		e->out_tail->next = o;
	} else {
		e->out_head = o;
	}
	e->out_tail = o;
	if (e->cursor == NULL) {
		e->cursor = o;
		e->cursor_offset = 0;
	}
	return o;
}

/* The open batch with room for need more bytes, grown if need be. */
static struct cv_out *batch_with_room(struct cv_engine *e, size_t need)
{
	struct cv_out *o = e->out_tail;
	size_t limit = batch_limit(e);

	if (o == NULL || o->closed || o->length + need > limit)
		return out_append(e, false, need > 4096 ? need : 4096);
	if (o->length + need > o->capacity) {
		size_t capacity = o->capacity * 2 > o->length + need ? o->capacity * 2 : o->length + need;
		if (capacity > limit && o->length + need <= limit)
			capacity = limit;
		uint8_t *data = realloc(o->data, capacity);
		if (data == NULL)
			return NULL;
		o->data = data;
		o->capacity = capacity;
	}
	return o;
}

int cv_engine_submit(struct cv_engine *e, const void *data, size_t length)
{
	size_t need = length + CV_WIRE_MESSAGE_PREFIX;
	bool large = need > e->config.packet_max - CV_WIRE_HEADER;
	struct cv_out *o;

	if (e->state == CV_FAILED)
		return -EIO;
	if (length > e->config.max_message)
		return -EMSGSIZE;
	if (e->held_bytes + need > e->config.max_held) {
		e->refused = true;
		return -EAGAIN;
	}
	o = large ? out_append(e, true, length ? length : 1) : batch_with_room(e, need);
	if (o == NULL)
		return -ENOMEM;
	if (large) {
		memcpy(o->data, data, length);
		o->length = length;
	} else {
		o->length += cv_wire_put_message(o->data + o->length, data, (uint32_t)length);
	}
	o->count++;
	e->next_seq++;
	e->held_bytes += need;
	e->stats.submitted++;
	if (!large && o->length >= e->config.batch_bytes)
		o->closed = true;
	if (!e->in_dispatch && o->closed)
		cv_send_pending(e, false);
	return 0;
}

/* Sends the next packet of the cursor's entry: CS_OK and the cursor moves on. */
static cs_error_t send_next(struct cv_engine *e)
{
	struct cv_out *o = e->cursor;
	struct cv_wire_header h = { .seq = o->seq };
	uint8_t fragment[CV_WIRE_FRAGMENT_HEADER];
	struct iovec body[2];
	size_t slice = e->config.packet_max - CV_WIRE_HEADER - CV_WIRE_FRAGMENT_HEADER;
	cs_error_t err;

	if (!o->large) {
		h.type = CV_WIRE_BATCH;
		h.count = o->count;
		body[0] = (struct iovec){ o->data, o->length };
		err = cv_engine_mcast(e, &h, body, 1);
		if (err == CS_OK) {
			o->closed = true;
			e->flush_requested &= o != e->out_tail;
			e->cursor = o->next;
			e->cursor_offset = 0;
		}
		return err;
	}
	if (slice > o->length - e->cursor_offset)
		slice = o->length - e->cursor_offset;
	h.type = CV_WIRE_FRAGMENT;
	cv_wire_put_fragment(fragment, o->length, e->cursor_offset);
	body[0] = (struct iovec){ fragment, sizeof(fragment) };
	body[1] = (struct iovec){ o->data + e->cursor_offset, slice };
	err = cv_engine_mcast(e, &h, body, 2);
	if (err == CS_OK) {
		e->cursor_offset += slice;
		if (e->cursor_offset >= o->length) {
			e->cursor = o->next;
			e->cursor_offset = 0;
		}
	}
	return err;
}

static bool may_send_data(const struct cv_engine *e)
{
	return e->state == CV_CONNECTED && !e->round_open && e->n_settled > 0 &&
	       cv_engine_is_member(e, e->nodeid, e->pid);
}

void cv_send_pending(struct cv_engine *e, bool flush)
{
	/* A flushed batch goes once there is room, whenever that is; until
	 * then it takes more messages. */
	e->flush_requested |= flush;
	if (e->state != CV_CONNECTED || cv_engine_now() < e->retry_send_at)
		return;
	cv_receive_send_ack(e, false);
	while (e->cursor && may_send_data(e)) {
		struct cv_out *o = e->cursor;
		if (!o->closed && !e->flush_requested)
			break;
		if (e->inflight > 0 && e->inflight >= e->config.inflight_max)
			break;
		cs_error_t err = send_next(e);
		if (err == CS_ERR_TRY_AGAIN) {
			e->retry_send_at = cv_engine_now() + 5;
			e->stats.try_again++;
			break;
		}
		if (err != CS_OK)
			break;
	}
}

/* The entry holding own seq, or the first after it. */
static struct cv_out *entry_from(struct cv_engine *e, uint64_t seq)
{
	struct cv_out *o = e->out_head;

	while (o && out_last_seq(o) < seq)
		o = o->next;
	return o;
}

/* Sends again from the first message that did not come back here or, when
 * members owed our messages since a corosync loss are back, from the first
 * one not stable. */
void cv_send_rewind(struct cv_engine *e)
{
	struct cv_origin *self = cv_origin_find(e, e->nodeid, e->pid);

	e->cursor = e->resend_all || self == NULL ? e->out_head : entry_from(e, self->last + 1);
	e->cursor_offset = 0;
	e->stats.rewinds++;
}

uint64_t cv_send_start_seq(const struct cv_engine *e)
{
	const struct cv_origin *self = cv_origin_find((struct cv_engine *)e, e->nodeid, e->pid);

	if (e->resend_all)
		return e->out_head ? e->out_head->seq : e->next_seq;
	return self && self->known ? self->last + 1 : (e->out_head ? e->out_head->seq : e->next_seq);
}

/* An own packet came back: a gap in the packet numbers means corosync
 * dropped the ones in between; send again what followed. */
void cv_send_own_packet_back(struct cv_engine *e, const struct cv_wire_packet *p)
{
	uint64_t number = p->header.packet;

	if (number <= e->packet_back)
		return;
	if (number != e->packet_back + 1) {
		cv_engine_log(e, LOG_NOTICE, "corosync dropped %llu of our packets; sending again",
			      (unsigned long long)(number - e->packet_back - 1));
		cv_send_rewind(e);
		if (e->round_open && !e->own_sync_back && e->own_sync_packet < number)
			e->sync_pending = true;
		e->ack_due = true; /* ours may have been among them */
		e->ack_first_at = 0;
	}
	e->packet_back = number;
	e->inflight = (size_t)(e->sent_bytes - p->header.sent_bytes);
	e->back_at = cv_engine_now();
}

static void free_out(struct cv_out *o)
{
	free(o->data);
	free(o);
}

/* Frees what every member has: stable is the lowest of what each member
 * acknowledged or needs none of, and never beyond what came back here.
 * Members from before the local corosync went away count until they are
 * back or owed_ms has passed. */
void cv_send_update_stable(struct cv_engine *e)
{
	struct cv_origin *self = cv_origin_find(e, e->nodeid, e->pid);
	uint64_t stable;
	bool freed = false;

	if (e->state != CV_CONNECTED || self == NULL || !self->known)
		return;
	stable = self->last;
	for (size_t i = 0; i < e->n_origins; i++) {
		struct cv_origin *o = &e->origins[i];
		if (!(o->member || o->owed) || o == self)
			continue;
		uint64_t has = o->acked > o->floor ? o->acked : o->floor;
		if (has < stable)
			stable = has;
	}
	if (stable > e->stable)
		e->stable = stable;
	while (e->out_head && out_last_seq(e->out_head) <= e->stable && e->out_head != e->cursor &&
	       e->out_head->closed) {
		struct cv_out *o = e->out_head;
		e->out_head = o->next;
		if (e->out_tail == o)
			e->out_tail = NULL;
		e->held_bytes -= o->large ? o->length + CV_WIRE_MESSAGE_PREFIX : o->length;
		free_out(o);
		freed = true;
	}
	if (freed && e->refused) {
		e->refused = false;
		if (e->cb.room)
			e->cb.room(e->ctx);
	}
}

void cv_send_free_all(struct cv_engine *e)
{
	while (e->out_head) {
		struct cv_out *o = e->out_head;
		e->out_head = o->next;
		free_out(o);
	}
	e->out_tail = e->cursor = NULL;
}
