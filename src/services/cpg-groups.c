/* The cpg group table (cpg-groups.h). */
#include <stdlib.h>
#include <string.h>

#include "cpg-groups.h"

/* Shorter names first, then bytewise: any total order will do. */
static int name_compare(const uint8_t *a, size_t a_length, const uint8_t *b, size_t b_length)
{
	if (a_length != b_length)
		return a_length < b_length ? -1 : 1;
	return memcmp(a, b, a_length);
}

struct cpg_group *cpg_groups_first(const struct cpg_group_table *table)
{
	return table->first;
}

static struct cpg_group **group_link(struct cpg_group_table *table, const uint8_t *name, size_t length)
{
	struct cpg_group **link = &table->first;

	while (*link != NULL && name_compare((*link)->name, (*link)->length, name, length) < 0)
		link = &(*link)->next;
	return link;
}

struct cpg_group *cpg_group_find(struct cpg_group_table *table, const uint8_t *name, size_t length)
{
	struct cpg_group *g = *group_link(table, name, length);

	if (g != NULL && name_compare(g->name, g->length, name, length) == 0)
		return g;
	return NULL;
}

int cpg_group_has_process(const struct cpg_group *g, uint32_t nodeid, uint32_t pid)
{
	for (const struct cpg_member *m = g->members; m != NULL; m = m->next)
		if (m->nodeid == nodeid && m->pid == pid)
			return 1;
	return 0;
}

static struct cpg_group *group_get(struct cpg_group_table *table, const uint8_t *name, size_t length)
{
	struct cpg_group **link = group_link(table, name, length);
	struct cpg_group *g = *link;

	if (g != NULL && name_compare(g->name, g->length, name, length) == 0)
		return g;
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return NULL;
	g->table = table;
	g->length = (uint32_t)length;
	memcpy(g->name, name, length);
	g->next = *link;
	*link = g;
	return g;
}

static int member_before(const struct cpg_member *a, const struct cpg_member *b)
{
	if (a->nodeid != b->nodeid)
		return a->nodeid < b->nodeid;
	return a->pid < b->pid;
}

int cpg_group_add(struct cpg_group_table *table, struct cpg_member *m, const uint8_t *name, size_t length)
{
	struct cpg_group *g = group_get(table, name, length);
	struct cpg_member **link;

	if (g == NULL)
		return -1;
	link = &g->members;
	while (*link != NULL && member_before(*link, m))
		link = &(*link)->next;
	m->next = *link;
	*link = m;
	m->group = g;
	g->n_members++;
	return 0;
}

static void group_free_if_empty(struct cpg_group *g)
{
	struct cpg_group **link = &g->table->first;

	if (g->members != NULL)
		return;
	while (*link != g)
		link = &(*link)->next;
	*link = g->next;
	free(g);
}

void cpg_group_remove(struct cpg_member *m)
{
	struct cpg_group *g = m->group;
	struct cpg_member **link;

	if (g == NULL)
		return;
	link = &g->members;
	while (*link != m)
		link = &(*link)->next;
	*link = m->next;
	m->next = NULL;
	m->group = NULL;
	g->n_members--;
	group_free_if_empty(g);
}

void cpg_address_of(const struct cpg_member *m, uint32_t reason, struct cpg_address *out)
{
	out->nodeid = m->nodeid;
	out->pid = m->pid;
	out->reason = reason;
}
