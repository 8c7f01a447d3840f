/* What cpg.c (requests on this node) and cpg-cluster.c (cluster mode's
 * ordering seam) share. */
#ifndef CONCLAVE_CPG_PRIVATE_H
#define CONCLAVE_CPG_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "cpg-groups.h"
#include "cpg-server.h"

enum { PART_FIRST = 1, PART_CONTINUED = 2, PART_LAST = 3 };

extern struct cpg_group_table cpg_groups;

/* A confchg for the members of one group, built on the heap: its lists can
 * be as long as the group. */
struct cpg_confchg {
	CpgMembershipEvent event;
	CpgName group;         /* the event's group */
	CpgAddress *entries;   /* the member list, then the changed processes */
	CpgAddress **pointers; /* the same, as protoc-c's arrays of pointers */
};
/* The group's marked members changed: joined (the member list with them)
 * or left (the member list without them), all with `reason`. */
int cpg_confchg_build(struct cpg_confchg *c, const struct cpg_group *g, uint32_t reason, bool joined);
void cpg_confchg_free(struct cpg_confchg *c);

uint32_t cpg_local_nodeid(void);
void cpg_address_to_wire(const struct cpg_address *a, CpgAddress *out);
/* The group's name as the events carry it; out points into g. */
void cpg_name_to_wire(const struct cpg_group *g, CpgName *out);
/* The bytes of a name a request carries; none when the request has no name. */
ProtobufCBinaryData cpg_name_bytes(const CpgName *name);
/* Queues the confchg; a member without room for it is closed. */
void cpg_send_membership_to(struct cpg_member *m, const CpgMembershipEvent *event);
void cpg_totem_send(struct cpg_member *m);
/* Room may have come for the messages held back. */
void cpg_retry_soon(void);
cs_error_t cpg_pieces_check(struct cpg_member *m, const CpgGroupsFragmentRequest *request);
/* A piece was accepted. */
void cpg_piece_sent(struct cpg_member *m, const CpgGroupsFragmentRequest *request);

/* Cluster mode (cpg-cluster.c): requests become messages of the total
 * order and take effect when delivered. */
int cpg_cluster_start(void); /* <0 on exhaustion */
void cpg_cluster_stop(void);
/* A local member's queue shrank: holds of this node may be released. */
void cpg_cluster_room(void);
/* The group's messages are refused for now (CPG_FLOW_CONTROL_ENABLED). */
bool cpg_cluster_flow_enabled(const struct cpg_member *m);
void cpg_cluster_connect(struct cpg_member *m);
/* The session is gone; m is freed now or once its going is agreed. */
void cpg_cluster_disconnect(struct cpg_member *m);
cs_error_t cpg_cluster_join(struct cpg_member *m, ProtobufCBinaryData name, uint32_t flags);
cs_error_t cpg_cluster_leave(struct cpg_member *m);
cs_error_t cpg_cluster_mcast(struct cpg_member *m, ProtobufCBinaryData msg);
cs_error_t cpg_cluster_fragment(struct cpg_member *m, const CpgGroupsFragmentRequest *request);

#endif
