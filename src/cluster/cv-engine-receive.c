/* What senders sent: per sender, delivery in seq order without gaps or
 * duplicates, reassembly of fragmented messages, and acknowledgements.
 * See cv-engine.h. */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/uio.h>

#include "cv-engine-private.h"

/* Senders this node keeps track of, departed ones included (a sender that
 * comes back after its corosync restarted must find its last seq). */
#define CV_ORIGINS_MAX 4096

struct cv_origin *cv_origin_find(struct cv_engine *e, uint32_t nodeid, uint32_t pid)
{
	for (size_t i = 0; i < e->n_origins; i++)
		if (e->origins[i].nodeid == nodeid && e->origins[i].pid == pid)
			return &e->origins[i];
	return NULL;
}

void cv_origin_reset(struct cv_origin *o, uint64_t incarnation)
{
	free(o->frag);
	free(o->state);
	*o = (struct cv_origin){ .nodeid = o->nodeid,
				 .pid = o->pid,
				 .incarnation = incarnation,
				 .member = o->member,
				 .left_reason = o->left_reason };
}

/* Makes room by forgetting a departed sender. */
static bool forget_one_departed(struct cv_engine *e)
{
	for (size_t i = 0; i < e->n_origins; i++) {
		struct cv_origin *o = &e->origins[i];
		if (!o->member && !(o->nodeid == e->nodeid && o->pid == e->pid)) {
			free(o->frag);
			free(o->state);
			*o = e->origins[--e->n_origins];
			return true;
		}
	}
	return false;
}

struct cv_origin *cv_origin_get(struct cv_engine *e, uint32_t nodeid, uint32_t pid, uint64_t incarnation)
{
	struct cv_origin *o = cv_origin_find(e, nodeid, pid);

	if (o) {
		if (incarnation && o->incarnation != incarnation)
			cv_origin_reset(o, incarnation);
		return o;
	}
	if (e->n_origins == CV_ORIGINS_MAX && !forget_one_departed(e))
		return NULL;
	if (e->n_origins == e->origins_capacity) {
		size_t capacity = e->origins_capacity ? e->origins_capacity * 2 : 8;
		struct cv_origin *origins = realloc(e->origins, capacity * sizeof(*origins));
		if (origins == NULL)
			return NULL;
		e->origins = origins;
		e->origins_capacity = capacity;
	}
	o = &e->origins[e->n_origins++];
	*o = (struct cv_origin){ .nodeid = nodeid, .pid = pid, .incarnation = incarnation };
	return o;
}

static void note_delivered(struct cv_engine *e, struct cv_origin *o, size_t length)
{
	o->last++;
	e->stats.delivered++;
	if (o->nodeid == e->nodeid && o->pid == e->pid)
		return;
	e->ack_pending_bytes += length;
	if (!e->ack_due) {
		e->ack_due = true;
		e->ack_first_at = cv_engine_now();
	}
}

static void deliver_batch(struct cv_engine *e, struct cv_origin *o, const struct cv_wire_packet *p)
{
	const uint8_t *data;
	uint32_t length;
	size_t cursor = 0;
	uint64_t seq = p->header.seq;

	for (; cv_wire_next_message(p, &cursor, &data, &length); seq++) {
		if (seq <= o->last) {
			e->stats.duplicates++;
			continue;
		}
		if (seq != o->last + 1) {
			e->stats.dropped_out_of_order++;
			return;
		}
		note_delivered(e, o, length);
		e->cb.deliver(e->ctx, o->nodeid, o->pid, data, length);
	}
}

static void drop_reassembly(struct cv_origin *o)
{
	free(o->frag);
	o->frag = NULL;
	o->frag_seq = 0;
	o->frag_total = o->frag_have = o->frag_capacity = 0;
}

/* Grows the reassembly buffer as slices arrive, never past the total a
 * peer announced (checked against max_message), nor ahead of what came. */
static bool reassembly_room(struct cv_origin *o, size_t need)
{
	size_t capacity = o->frag_capacity ? o->frag_capacity : 65536;

	if (need <= o->frag_capacity)
		return true;
	while (capacity < need)
		capacity *= 2;
	if (capacity > o->frag_total)
		capacity = o->frag_total;
	uint8_t *grown = realloc(o->frag, capacity);
	if (grown == NULL)
		return false;
	o->frag = grown;
	o->frag_capacity = capacity;
	return true;
}

static void deliver_fragment(struct cv_engine *e, struct cv_origin *o, const struct cv_wire_packet *p)
{
	const struct cv_wire_fragment *f = &p->fragment;
	uint64_t seq = p->header.seq;

	if (seq <= o->last) {
		e->stats.duplicates += f->offset == 0;
		return;
	}
	if (seq != o->last + 1) {
		e->stats.dropped_out_of_order++;
		drop_reassembly(o);
		return;
	}
	if (f->offset == 0) {
		drop_reassembly(o);
		o->frag_seq = seq;
		o->frag_total = f->total;
	} else if (o->frag_seq != seq || f->offset != o->frag_have || f->total != o->frag_total) {
		e->stats.dropped_out_of_order++;
		drop_reassembly(o);
		return;
	}
	if (!reassembly_room(o, o->frag_have + f->length)) {
		cv_engine_log(e, LOG_ERR, "no memory to reassemble a message of %zu bytes from node %u",
			      o->frag_total, o->nodeid);
		drop_reassembly(o);
		return;
	}
	if (f->length > 0)
		memcpy(o->frag + o->frag_have, f->data, f->length);
	o->frag_have += f->length;
	if (o->frag_have < o->frag_total)
		return;
	note_delivered(e, o, o->frag_total);
	e->cb.deliver(e->ctx, o->nodeid, o->pid, o->frag, o->frag_total);
	drop_reassembly(o);
}

void cv_receive_data(struct cv_engine *e, uint32_t nodeid, uint32_t pid, const struct cv_wire_packet *p)
{
	struct cv_origin *o = cv_origin_find(e, nodeid, pid);

	/* A sender counts from the first settled configuration that had both of us. */
	if (o == NULL || !o->known || o->incarnation != p->header.incarnation) {
		e->stats.dropped_out_of_order++;
		return;
	}
	if (p->header.type == CV_WIRE_BATCH)
		deliver_batch(e, o, p);
	else
		deliver_fragment(e, o, p);
	if (nodeid == e->nodeid && pid == e->pid)
		cv_send_update_stable(e);
}

void cv_receive_ack(struct cv_engine *e, uint32_t nodeid, uint32_t pid, const struct cv_wire_packet *p)
{
	struct cv_origin *from = cv_origin_find(e, nodeid, pid);
	struct cv_wire_ack ack;

	if (from == NULL || from->incarnation != p->header.incarnation)
		return;
	for (uint32_t i = 0; i < p->header.count; i++) {
		cv_wire_ack_entry(p, i, &ack);
		if (ack.incarnation == e->incarnation && ack.seq > from->acked)
			from->acked = ack.seq < e->next_seq ? ack.seq : e->next_seq - 1;
	}
	cv_send_update_stable(e);
}

/* Tells the others what this node delivered of each member's messages,
 * ack_delay_ms after the first unacknowledged delivery or once ack_bytes
 * arrived (force: now). */
void cv_receive_send_ack(struct cv_engine *e, bool force)
{
	struct cv_wire_header h = { .type = CV_WIRE_ACK };
	uint8_t *entries;
	uint32_t n = 0;

	if (!e->ack_due || e->state != CV_CONNECTED || !cv_engine_is_member(e, e->nodeid, e->pid))
		return;
	if (!force && e->ack_pending_bytes < e->config.ack_bytes &&
	    cv_engine_now() < e->ack_first_at + e->config.ack_delay_ms)
		return;
	entries = malloc(e->n_origins * CV_WIRE_ACK_ENTRY + 1);
	if (entries == NULL)
		return;
	for (size_t i = 0; i < e->n_origins; i++) {
		struct cv_origin *o = &e->origins[i];
		if (!o->member || !o->known || (o->nodeid == e->nodeid && o->pid == e->pid))
			continue;
		struct cv_wire_ack ack = { o->nodeid, o->incarnation, o->last };
		cv_wire_put_ack(entries + (size_t)n++ * CV_WIRE_ACK_ENTRY, &ack);
	}
	h.count = n;
	struct iovec body = { entries, (size_t)n * CV_WIRE_ACK_ENTRY };
	if (n == 0 || cv_engine_mcast(e, &h, &body, 1) == CS_OK) {
		e->ack_due = false;
		e->ack_pending_bytes = 0;
	}
	free(entries);
}

void cv_receive_free_all(struct cv_engine *e)
{
	for (size_t i = 0; i < e->n_origins; i++) {
		free(e->origins[i].frag);
		free(e->origins[i].state);
	}
	free(e->origins);
	e->origins = NULL;
	e->n_origins = e->origins_capacity = 0;
}
