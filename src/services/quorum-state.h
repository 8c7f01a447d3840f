/* What the quorum provider (votequorum) decided, as the quorum service and
 * the daemon's request gate see it. The provider computes and publishes; the
 * quorum service observes.
 *
 * Publishing is two-phase so that a client request can be refused with
 * CS_ERR_TRY_AGAIN before anything changes: quorum_state_can_publish() asks
 * the observer whether every tracker has room for the notifications the new
 * view would cause; quorum_state_publish() commits and notifies.
 */
#ifndef CONCLAVE_QUORUM_STATE_H
#define CONCLAVE_QUORUM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUORUM_VIEW_MAX_MEMBERS 384

struct quorum_view {
	bool provider; /* QUORUM_SET; without a provider the node is always quorate */
	bool quorate;
	uint32_t ring_nodeid;
	uint64_t ring_seq;
	uint32_t n_members;
	uint32_t members[QUORUM_VIEW_MAX_MEMBERS];
};

struct quorum_observer {
	/* True when every tracker could take the notifications of the changes
	 * from `previous` to next[0], then to next[1], ... next[n - 1]. */
	bool (*has_room)(const struct quorum_view *previous, const struct quorum_view *next, size_t n);
	/* Sends them; a tracker whose queue is full is closed. */
	void (*notify)(const struct quorum_view *previous, const struct quorum_view *next);
};

bool quorum_view_membership_differs(const struct quorum_view *a, const struct quorum_view *b);
/* Whether going from a to b notifies trackers: as in corosync, only a
 * change of quorate or of the members does. */
bool quorum_view_notifies(const struct quorum_view *a, const struct quorum_view *b);

/* The view without a provider: quorate, ring id 0.0, no members. */
const struct quorum_view *quorum_state_current(void);

void quorum_state_set_observer(const struct quorum_observer *observer);

/* Whether publishing next[0], ... next[n - 1] in turn would find room. */
bool quorum_state_can_publish(const struct quorum_view *next, size_t n);
void quorum_state_publish(const struct quorum_view *next);

/* Back to the view without a provider (daemon shutdown, tests). */
void quorum_state_reset(void);

#endif
