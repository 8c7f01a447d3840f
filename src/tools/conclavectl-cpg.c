/* conclavectl cpg: the process groups of conclaved and their members, in
 * corosync-cpgtool's layout. Group names are binary: bytes outside printable
 * ASCII, and the backslash, are shown as \xNN. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <corosync/corotypes.h>
#include <corosync/cpg.h>

#include "conclavectl.h"

static void print_name(const struct cpg_name *name)
{
	for (uint32_t i = 0; i < name->length && i < CPG_MAX_NAME_LENGTH; i++) {
		unsigned char c = (unsigned char)name->value[i];

		if (isprint(c) && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	putchar('\n');
}

static int same_name(const struct cpg_name *a, const struct cpg_name *b)
{
	return a->length == b->length && memcmp(a->value, b->value, a->length) == 0;
}

static cs_error_t print_groups(cpg_handle_t handle)
{
	struct cpg_iteration_description_t d, previous = { .group.length = 0 };
	cpg_iteration_handle_t it;
	cs_error_t err = cpg_iteration_initialize(handle, CPG_ITERATION_ALL, NULL, &it);

	if (err != CS_OK)
		return err;
	printf("Group Name\t       PID\t Node ID\n");
	while ((err = cpg_iteration_next(it, &d)) == CS_OK) {
		if (previous.group.length == 0 || !same_name(&previous.group, &d.group))
			print_name(&d.group);
		printf("\t\t%10u\t%10u\n", d.pid, d.nodeid);
		previous = d;
	}
	cpg_iteration_finalize(it);
	return err == CS_ERR_NO_SECTIONS ? CS_OK : err;
}

int conclavectl_cpg(int argc, char **argv)
{
	cpg_handle_t handle;
	cs_error_t err;

	if (argc != 0)
		return conclavectl_usage_error("cpg takes no arguments");
	err = cpg_initialize(&handle, NULL);
	if (err != CS_OK) {
		fprintf(stderr, "conclavectl: cannot connect to the cpg service: %s\n", cs_strerror(err));
		return CONCLAVECTL_EXIT_NO_SERVICE;
	}
	err = print_groups(handle);
	cpg_finalize(handle);
	if (err != CS_OK) {
		fprintf(stderr, "conclavectl: cannot list the groups: %s\n", cs_strerror(err));
		return CONCLAVECTL_EXIT_FAILED;
	}
	return CONCLAVECTL_EXIT_OK;
}
