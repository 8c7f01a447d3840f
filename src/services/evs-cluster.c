/* evs's ordering seam in cluster mode. A message names its groups and is
 * delivered, in the total order, at every node to the connections of that
 * node joined to at least one of them; joins and leaves only decide which
 * of a node's own connections receive, so they stay on their node. The
 * configuration change evs reports is corosync's ring: every connection
 * gets one when the ring changes, with the nodes that left and joined. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/evs.h>

#include <conclave/service.h>
#include <conclave/cluster.h>
#include "evs-private.h"

static uint32_t ring_nodeid;
static uint64_t ring_seq;
static uint32_t *ring_nodes;
static size_t n_ring_nodes;
static size_t in_flight;

/* A message: u32 count of keys (little-endian), the keys, the client's bytes.
 * A message to the joined groups names each join's: as many as
 * conclave.evs_max_joins. */
cs_error_t evs_cluster_mcast(const uint8_t *keys, size_t count, ProtobufCBinaryData msg)
{
	size_t keys_length = count * EVS_GROUP_KEY_LENGTH;
	uint8_t *head = malloc(sizeof(uint32_t) + keys_length);
	uint32_t n = htole32((uint32_t)count);
	cs_error_t r;

	if (head == NULL)
		return CS_ERR_NO_MEMORY;
	memcpy(head, &n, sizeof(n));
	memcpy(head + sizeof(n), keys, keys_length);
	r = cv_order_submit(CV_ORDER_EVS, head, sizeof(n) + keys_length, msg.data, msg.len);
	free(head);
	if (r == CS_OK)
		in_flight += msg.len;
	return r;
}

size_t evs_cluster_in_flight(void)
{
	return in_flight;
}

/* A sender held for what this node had in flight may go on now, even when
 * no queue here shrank: the message may have had no receiver on this node. */
static void delivered_back(uint32_t nodeid, size_t length)
{
	if (nodeid != cv_cluster_nodeid() || in_flight == 0)
		return;
	in_flight -= length < in_flight ? length : in_flight;
	evs_retry_held();
}

static void on_deliver(uint32_t nodeid, const void *data, size_t length)
{
	const uint8_t *bytes = data;
	uint32_t count;
	size_t keys_length;

	if (length < sizeof(count))
		goto malformed;
	memcpy(&count, bytes, sizeof(count));
	count = le32toh(count);
	keys_length = (size_t)count * EVS_GROUP_KEY_LENGTH;
	if (length - sizeof(count) < keys_length)
		goto malformed;
	delivered_back(nodeid, length - sizeof(count) - keys_length);
	if (evs_receivers_of(
		    (ProtobufCBinaryData){ .data = (uint8_t *)bytes + sizeof(count), .len = keys_length },
		    count) < 0) {
		cv_log_error("evs: out of memory delivering a message of node %u", nodeid);
		return;
	}
	evs_deliver(nodeid, (ProtobufCBinaryData){ .data = (uint8_t *)bytes + sizeof(count) + keys_length,
						   .len = length - sizeof(count) - keys_length });
	return;
malformed:
	cv_log_warning("evs: dropped a malformed message of node %u (%zu bytes)", nodeid, length);
}

static bool listed(uint32_t node, const uint32_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == node)
			return true;
	return false;
}

/* The nodes of `a` not in `b`, into out. */
static size_t difference(const uint32_t *a, size_t n_a, const uint32_t *b, size_t n_b, uint32_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < n_a; i++)
		if (!listed(a[i], b, n_b))
			out[n++] = a[i];
	return n;
}

static void on_view(const struct cv_engine_view *view)
{
	EvsMembershipEvent event = EVS_MEMBERSHIP_EVENT__INIT;
	EvsRingId ring = EVS_RING_ID__INIT;
	const uint32_t *nodes;
	size_t n_nodes;
	uint32_t *copy, *left, *joined;

	(void)view;
	cv_cluster_ring(&ring.nodeid, &ring.seq, &nodes, &n_nodes);
	if (ring.nodeid == ring_nodeid && ring.seq == ring_seq)
		return;
	copy = malloc((n_nodes + 1) * sizeof(*copy));
	left = malloc((n_ring_nodes + 1) * sizeof(*left));
	joined = malloc((n_nodes + 1) * sizeof(*joined));
	if (copy == NULL || left == NULL || joined == NULL) {
		cv_log_error("evs: out of memory reporting a configuration change");
		free(copy);
		free(left);
		free(joined);
		return;
	}
	memcpy(copy, nodes, n_nodes * sizeof(*copy));
	event.member_list = copy;
	event.n_member_list = n_nodes;
	event.left_list = left;
	event.n_left_list = difference(ring_nodes, n_ring_nodes, nodes, n_nodes, left);
	event.joined_list = joined;
	event.n_joined_list = difference(nodes, n_nodes, ring_nodes, n_ring_nodes, joined);
	event.ring_id = &ring;
	evs_send_to_all(&event);
	free(left);
	free(joined);
	free(ring_nodes);
	ring_nodes = copy;
	n_ring_nodes = n_nodes;
	ring_nodeid = ring.nodeid;
	ring_seq = ring.seq;
}

void evs_cluster_stop(void)
{
	free(ring_nodes);
	ring_nodes = NULL;
	n_ring_nodes = 0;
	ring_nodeid = 0;
	ring_seq = 0;
	in_flight = 0;
}

void evs_cluster_start(void)
{
	static const struct cv_order_ops ops = { .deliver = on_deliver,
						 .view = on_view,
						 .room = evs_retry_held };

	cv_order_register(CV_ORDER_EVS, &ops);
}
