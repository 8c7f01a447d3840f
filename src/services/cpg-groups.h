/* The group table of cpg and evs: named groups and their members, each
 * group's members ordered by (nodeid, pid) as corosync reports them. Group
 * names are binary, 1 to CPG_MAX_NAME_LENGTH bytes. Groups are kept ordered
 * by name so that iterations list them in a stable order; an empty group is
 * removed. Each service has its own table, so a cpg group and an evs group
 * of the same name are different groups. */
#ifndef CONCLAVE_CPG_GROUPS_H
#define CONCLAVE_CPG_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <corosync/cpg.h>

struct cv_session;

struct cpg_member {
	struct cv_session *session;
	uint32_t nodeid;
	uint32_t pid;
	uint32_t flags;          /* the model's CPG_MODEL_V1_* flags, from the join */
	uint64_t confchgs;       /* confchgs sent to it */
	uint64_t pieces_since;   /* confchgs when its large message began */
	uint64_t pieces_total;   /* the size its first piece announced */
	uint64_t pieces_sent;    /* the bytes of its pieces so far */
	bool sending_pieces;     /* a large message is under way */
	struct cpg_group *group; /* NULL while not joined */
	struct cpg_member *next; /* in group->members */
	/* Cluster mode: a member of another node has no session, nor has a
	 * local one whose session closed before its going was agreed. */
	uint64_t session_id;
	bool join_pending, leave_pending, procdown_owed;
	bool suspect;            /* not yet found in its node's joinlist */
	bool marked;             /* changed in the confchg being built */
	uint32_t pending_length; /* the group a pending join names */
	uint8_t pending_name[CPG_MAX_NAME_LENGTH];
	struct cpg_member *next_local; /* in the list of this node's members */
};

struct cpg_group_table {
	struct cpg_group *first;
};

struct cpg_group {
	struct cpg_group_table *table;
	uint32_t length;
	uint8_t name[CPG_MAX_NAME_LENGTH];
	struct cpg_member *members;
	size_t n_members;
	struct cpg_group *next;
};

struct cpg_group *cpg_groups_first(const struct cpg_group_table *table);
/* NULL when no process has joined `name`. */
struct cpg_group *cpg_group_find(struct cpg_group_table *table, const uint8_t *name, size_t length);
/* True when process pid of node nodeid is a member of the group. */
int cpg_group_has_process(const struct cpg_group *g, uint32_t nodeid, uint32_t pid);
/* Adds m to the group `name`, creating it; -1 when out of memory. */
int cpg_group_add(struct cpg_group_table *table, struct cpg_member *m, const uint8_t *name, size_t length);
/* Takes m out of its group, freeing the group once empty. */
void cpg_group_remove(struct cpg_member *m);
void cpg_address_of(const struct cpg_member *m, uint32_t reason, struct cpg_address *out);

#endif
