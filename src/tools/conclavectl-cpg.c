/* conclavectl cpg: the process groups of conclaved and their members, as
 * corosync-cpgtool prints them: a table with each member's addresses, or
 * with -d one line per member with its fields between delimiters, or with
 * -n only the group names. Group names are escaped as cmap's binary values
 * unless -e is given. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <corosync/cfg.h>
#include <corosync/corotypes.h>
#include <corosync/cpg.h>

#include "conclavectl.h"

struct cpg_options {
	char delimiter; /* 0: the table */
	bool escape;
	bool names_only;
};

static void print_group(const struct cpg_options *o, const struct cpg_name *name)
{
	size_t len = name->length < CPG_MAX_NAME_LENGTH ? name->length : CPG_MAX_NAME_LENGTH;

	if (o->escape)
		conclavectl_print_escaped(stdout, name->value, len);
	else
		fwrite(name->value, 1, len, stdout);
}

static bool same_name(const struct cpg_name *a, const struct cpg_name *b)
{
	return a->length == b->length && memcmp(a->value, b->value, a->length) == 0;
}

static void print_member(const struct cpg_options *o, corosync_cfg_handle_t cfg,
			 const struct cpg_iteration_description_t *d)
{
	char addrs[CFG_MAX_LINKS * 48];

	if (o->delimiter) {
		print_group(o, &d->group);
		printf("%c%u%c%u\n", o->delimiter, d->pid, o->delimiter, d->nodeid);
		return;
	}
	conclavectl_node_addresses(cfg, d->nodeid, addrs, sizeof(addrs));
	printf("\t\t%10u\t%10u (%s)\n", d->pid, d->nodeid, addrs);
}

static cs_error_t print_members(cpg_handle_t cpg, corosync_cfg_handle_t cfg, const struct cpg_options *o)
{
	struct cpg_iteration_description_t d, previous = { .group.length = 0 };
	cpg_iteration_handle_t it;
	cs_error_t err = cpg_iteration_initialize(cpg, CPG_ITERATION_ALL, NULL, &it);
	bool first = true;

	if (err != CS_OK)
		return err;
	if (o->delimiter)
		printf("GRP_NAME%cPID%cNODEID\n", o->delimiter, o->delimiter);
	else
		printf("Group Name\t%10s\t%10s\n", "PID", "Node ID");
	while ((err = cpg_iteration_next(it, &d)) == CS_OK) {
		if (!o->delimiter && (first || !same_name(&previous.group, &d.group))) {
			print_group(o, &d.group);
			putchar('\n');
		}
		print_member(o, cfg, &d);
		previous = d;
		first = false;
	}
	cpg_iteration_finalize(it);
	return err == CS_ERR_NO_SECTIONS ? CS_OK : err;
}

static cs_error_t print_names(cpg_handle_t cpg, const struct cpg_options *o)
{
	struct cpg_iteration_description_t d;
	cpg_iteration_handle_t it;
	cs_error_t err = cpg_iteration_initialize(cpg, CPG_ITERATION_NAME_ONLY, NULL, &it);

	if (err != CS_OK)
		return err;
	while ((err = cpg_iteration_next(it, &d)) == CS_OK) {
		print_group(o, &d.group);
		putchar(o->delimiter ? o->delimiter : '\n');
	}
	if (o->delimiter)
		putchar('\n');
	cpg_iteration_finalize(it);
	return err == CS_ERR_NO_SECTIONS ? CS_OK : err;
}

static int parse_options(int argc, char **argv, struct cpg_options *o)
{
	int opt;

	opterr = 0;
	optind = 1;
	while ((opt = getopt(argc, argv, "d:en")) != -1) {
		switch (opt) {
		case 'd':
			o->delimiter = optarg[0];
			break;
		case 'e':
			o->escape = false;
			break;
		case 'n':
			o->names_only = true;
			break;
		default:
			return conclavectl_usage_error(&conclavectl_cpg_command, "unknown cpg option");
		}
	}
	if (optind != argc)
		return conclavectl_usage_error(&conclavectl_cpg_command, "cpg takes options only");
	return CONCLAVECTL_EXIT_OK;
}

static int run_cpg(int argc, char **argv)
{
	struct cpg_options o = { .escape = true };
	corosync_cfg_handle_t cfg;
	cpg_handle_t cpg;
	cs_error_t err;
	int status = parse_options(argc + 1, argv - 1, &o);

	if (status != CONCLAVECTL_EXIT_OK)
		return status;
	err = cpg_initialize(&cpg, NULL);
	if (err != CS_OK)
		return conclavectl_cannot_connect("cpg", err);
	err = corosync_cfg_initialize(&cfg, NULL);
	if (err != CS_OK) {
		cpg_finalize(cpg);
		return conclavectl_cannot_connect("cfg", err);
	}
	err = o.names_only ? print_names(cpg, &o) : print_members(cpg, cfg, &o);
	cpg_finalize(cpg);
	corosync_cfg_finalize(cfg);
	if (err != CS_OK) {
		fprintf(stderr, "conclavectl: cannot list the groups: %s\n", cs_strerror(err));
		return CONCLAVECTL_EXIT_FAILED;
	}
	return CONCLAVECTL_EXIT_OK;
}

const struct conclavectl_command conclavectl_cpg_command = {
	.name = "cpg",
	.usage = "usage: conclavectl cpg [-d DELIMITER] [-e] [-n]\n"
		 "  the groups and their members, as corosync-cpgtool: -d one line per\n"
		 "  member with fields between DELIMITER, -e group names unescaped, -n\n"
		 "  only the group names\n",
	.usage_status = CONCLAVECTL_EXIT_USAGE,
	.run = run_cpg,
};
