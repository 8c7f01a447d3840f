/* An intrusive, circular doubly-linked list with a sentinel head, as in
 * wayland's wl_list: the daemon's one way of keeping things in a list.
 *
 * A head and every element start with cv_list_init(); a removed element is
 * left pointing at itself, so cv_list_linked() tells whether it is in a list
 * and removing it again is harmless.
 */
#ifndef CONCLAVE_LIST_H
#define CONCLAVE_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct cv_list {
	struct cv_list *prev;
	struct cv_list *next;
};

#define CV_LIST_INIT(name)       \
	{                        \
		&(name), &(name) \
	}

#define cv_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static inline void cv_list_init(struct cv_list *list)
{
	list->prev = list->next = list;
}

/* Inserts elm right after `after` (after the head: at the front). */
static inline void cv_list_insert(struct cv_list *after, struct cv_list *elm)
{
	elm->prev = after;
	elm->next = after->next;
	after->next->prev = elm;
	after->next = elm;
}

static inline void cv_list_remove(struct cv_list *elm)
{
	elm->prev->next = elm->next;
	elm->next->prev = elm->prev;
	cv_list_init(elm);
}

static inline bool cv_list_empty(const struct cv_list *head)
{
	return head->next == head;
}

/* For an element: true while it is in a list. */
static inline bool cv_list_linked(const struct cv_list *elm)
{
	return elm->next != elm;
}

#define cv_list_first(head, type, member) cv_container_of((head)->next, type, member)
#define cv_list_last(head, type, member) cv_container_of((head)->prev, type, member)

#define cv_list_for_each(pos, head, member)                                                         \
	for (pos = cv_container_of((head)->next, __typeof__(*pos), member); &pos->member != (head); \
	     pos = cv_container_of(pos->member.next, __typeof__(*pos), member))

/* As cv_list_for_each, but pos may be removed inside the loop. */
#define cv_list_for_each_safe(pos, tmp, head, member)                          \
	for (pos = cv_container_of((head)->next, __typeof__(*pos), member),    \
	    tmp = cv_container_of(pos->member.next, __typeof__(*pos), member); \
	     &pos->member != (head);                                           \
	     pos = tmp, tmp = cv_container_of(pos->member.next, __typeof__(*pos), member))

#endif
