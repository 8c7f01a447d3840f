/* What evs.c (requests on this node) and evs-cluster.c (cluster mode's
 * ordering seam) share. */
#ifndef CONCLAVE_EVS_PRIVATE_H
#define CONCLAVE_EVS_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "evs-server.h"

/* Chooses the connections joined to any of the keys as the receivers of
 * the next evs_deliver(): 0, or -1 when out of memory. */
int evs_receivers_of(ProtobufCBinaryData keys, size_t count);
void evs_deliver(uint32_t nodeid, ProtobufCBinaryData msg);
/* Room may have come for the messages held back (the engine's, in cluster
 * mode). */
void evs_retry_held(void);
void evs_send_to_all(const EvsMembershipEvent *event);

/* Cluster mode (evs-cluster.c): a message is ordered by the engine and
 * delivered at every node to its connections joined to one of its groups. */
void evs_cluster_start(void);
void evs_cluster_stop(void);
cs_error_t evs_cluster_mcast(const uint8_t *keys, size_t count, ProtobufCBinaryData msg);
/* The bytes of this node's messages ordered and not yet delivered back. */
size_t evs_cluster_in_flight(void);

#endif
