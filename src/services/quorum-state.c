#include <stddef.h>
#include <string.h>

#include <conclave/service.h>

#include "quorum-state.h"

static struct quorum_view current = { .quorate = true };
static const struct quorum_observer *observer;

const struct quorum_view *quorum_state_current(void)
{
	return &current;
}

void quorum_state_set_observer(const struct quorum_observer *o)
{
	observer = o;
}

bool quorum_view_membership_differs(const struct quorum_view *a, const struct quorum_view *b)
{
	return a->ring_nodeid != b->ring_nodeid || a->ring_seq != b->ring_seq ||
	       a->n_members != b->n_members ||
	       memcmp(a->members, b->members, a->n_members * sizeof(a->members[0])) != 0;
}

bool quorum_view_notifies(const struct quorum_view *a, const struct quorum_view *b)
{
	return a->quorate != b->quorate || quorum_view_membership_differs(a, b);
}

bool quorum_state_can_publish(const struct quorum_view *next, size_t n)
{
	return n == 0 || !observer || !observer->has_room || observer->has_room(&current, next, n);
}

void quorum_state_publish(const struct quorum_view *next)
{
	struct quorum_view previous = current;

	current = *next;
	cv_server_set_quorate(current.quorate);
	if (observer && observer->notify && quorum_view_notifies(&previous, &current))
		observer->notify(&previous, &current);
}

void quorum_state_reset(void)
{
	memset(&current, 0, sizeof(current));
	current.quorate = true;
	cv_server_set_quorate(true);
}
