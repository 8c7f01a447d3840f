/* The cpg group table: groups by name (binary, length first), members
 * ordered by (nodeid, pid), an empty group removed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cpg-groups.h"

static struct cpg_group_table table, other_table;

static struct cpg_member member(uint32_t nodeid, uint32_t pid)
{
	return (struct cpg_member){ .nodeid = nodeid, .pid = pid };
}

static void test_members_are_ordered_by_node_then_pid(void **state)
{
	struct cpg_member a = member(2, 10), b = member(1, 30), c = member(1, 20);
	struct cpg_group *g;

	assert_int_equal(cpg_group_add(&table, &a, (const uint8_t *)"g", 1), 0);
	assert_int_equal(cpg_group_add(&table, &b, (const uint8_t *)"g", 1), 0);
	assert_int_equal(cpg_group_add(&table, &c, (const uint8_t *)"g", 1), 0);
	g = cpg_group_find(&table, (const uint8_t *)"g", 1);
	assert_non_null(g);
	assert_int_equal(g->n_members, 3);
	assert_ptr_equal(g->members, &c);
	assert_ptr_equal(c.next, &b);
	assert_ptr_equal(b.next, &a);
	assert_true(cpg_group_has_process(g, 1, 30));
	assert_false(cpg_group_has_process(g, 2, 30));
	cpg_group_remove(&b);
	assert_int_equal(g->n_members, 2);
	assert_null(b.group);
	cpg_group_remove(&a);
	cpg_group_remove(&c);
	assert_null(cpg_group_find(&table, (const uint8_t *)"g", 1));
	assert_null(cpg_groups_first(&table));
}

static void test_names_are_binary_and_ordered(void **state)
{
	struct cpg_member a = member(1, 1), b = member(1, 2), c = member(1, 3);
	const uint8_t with_nul[] = { 'x', 0, 'y' };

	assert_int_equal(cpg_group_add(&table, &a, with_nul, 3), 0);
	assert_int_equal(cpg_group_add(&table, &b, (const uint8_t *)"x", 1), 0);
	assert_int_equal(cpg_group_add(&table, &c, (const uint8_t *)"x\0z", 3), 0);
	assert_ptr_equal(cpg_group_find(&table, with_nul, 3), a.group);
	assert_ptr_not_equal(a.group, c.group);
	assert_null(cpg_group_find(&table, (const uint8_t *)"x\0", 2));
	/* Shorter names first, then bytewise. */
	assert_ptr_equal(cpg_groups_first(&table), b.group);
	assert_ptr_equal(cpg_groups_first(&table)->next, a.group);
	assert_ptr_equal(cpg_groups_first(&table)->next->next, c.group);
	cpg_group_remove(&a);
	cpg_group_remove(&b);
	cpg_group_remove(&c);
	assert_null(cpg_groups_first(&table));
}

static void test_remove_when_not_joined_does_nothing(void **state)
{
	struct cpg_member a = member(1, 1);
	struct cpg_address address;

	cpg_group_remove(&a);
	cpg_address_of(&a, 5, &address);
	assert_int_equal(address.nodeid, 1);
	assert_int_equal(address.pid, 1);
	assert_int_equal(address.reason, 5);
}

static void test_tables_keep_their_groups_apart(void **state)
{
	struct cpg_member a = member(1, 1), b = member(1, 2);

	assert_int_equal(cpg_group_add(&table, &a, (const uint8_t *)"g", 1), 0);
	assert_null(cpg_group_find(&other_table, (const uint8_t *)"g", 1));
	assert_int_equal(cpg_group_add(&other_table, &b, (const uint8_t *)"g", 1), 0);
	assert_ptr_not_equal(a.group, b.group);
	assert_int_equal(a.group->n_members, 1);
	cpg_group_remove(&a);
	assert_null(cpg_groups_first(&table));
	assert_ptr_equal(cpg_groups_first(&other_table), b.group);
	cpg_group_remove(&b);
	assert_null(cpg_groups_first(&other_table));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members_are_ordered_by_node_then_pid),
		cmocka_unit_test(test_names_are_binary_and_ordered),
		cmocka_unit_test(test_remove_when_not_joined_does_nothing),
		cmocka_unit_test(test_tables_keep_their_groups_apart),
	};

	return cmocka_run_group_tests_name("cpg_groups", tests, NULL, NULL);
}
