/* conclavectl cfg: corosync-cfgtool's options and output: the links (-s,
 * with -b briefly, with -i one link), the reachable nodes (-n), a node's
 * addresses (-a), reloading the configuration (-R), reopening the log
 * (-L), killing a node (-k) and shutting conclaved down (-H, --force). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <corosync/cfg.h>
#include <corosync/cmap.h>
#include <corosync/corodefs.h>
#include <corosync/corotypes.h>

#include "conclavectl.h"

enum cfg_action { NONE, LINK_STATUS, NODE_STATUS, RELOAD, REOPEN_LOGS, SHUTDOWN, SHOW_ADDRESSES, KILL_NODE };

struct cfg_options {
	enum cfg_action action;
	bool brief;
	bool force;
	const char *link; /* -i: a link id or a local address */
	unsigned int nodeid;
};

/* The nodes of the nodelist in node id order, the transport and the
 * transport of each link, as corosync-cfgtool reads them from cmap. */
struct cluster_view {
	uint32_t nodes[PROCESSOR_COUNT_MAX];
	int n_nodes;
	char *transport;
	char *link_transport[CFG_MAX_LINKS];
	bool knet;
};

static void view_free(struct cluster_view *v)
{
	free(v->transport);
	for (int i = 0; i < CFG_MAX_LINKS; i++)
		free(v->link_transport[i]);
}

static int compare_nodeids(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x == y ? 0 : x > y ? 1 : -1;
}

static void read_nodes(cmap_handle_t cmap, struct cluster_view *v)
{
	char key[CMAP_KEYNAME_MAXLEN + 1];
	cmap_iter_handle_t iter;

	if (cmap_iter_init(cmap, "nodelist.node.", &iter) != CS_OK)
		return;
	while (v->n_nodes < PROCESSOR_COUNT_MAX && cmap_iter_next(cmap, iter, key, NULL, NULL) == CS_OK) {
		int end = 0;

		if (sscanf(key, "nodelist.node.%*u.nodeid%n", &end) != 0 || end != (int)strlen(key))
			continue;
		if (cmap_get_uint32(cmap, key, &v->nodes[v->n_nodes]) == CS_OK)
			v->n_nodes++;
	}
	cmap_iter_finalize(cmap, iter);
	qsort(v->nodes, (size_t)v->n_nodes, sizeof(v->nodes[0]), compare_nodeids);
}

static void read_link_transports(cmap_handle_t cmap, struct cluster_view *v)
{
	char key[CMAP_KEYNAME_MAXLEN + 1];
	cmap_iter_handle_t iter;
	unsigned int link;

	for (int i = 0; i < CFG_MAX_LINKS; i++)
		v->link_transport[i] = strdup(v->knet ? "udp" : "");
	if (cmap_iter_init(cmap, "totem.interface.", &iter) != CS_OK)
		return;
	while (cmap_iter_next(cmap, iter, key, NULL, NULL) == CS_OK) {
		const char *field;
		char *value;

		if (!conclavectl_key_index(key, "totem.interface.", &link, &field) || link >= CFG_MAX_LINKS)
			continue;
		if (strcmp(field, "knet_transport") == 0 && cmap_get_string(cmap, key, &value) == CS_OK) {
			free(v->link_transport[link]);
			v->link_transport[link] = value;
		}
	}
	cmap_iter_finalize(cmap, iter);
}

static int read_view(struct cluster_view *v)
{
	cmap_handle_t cmap;
	cs_error_t err = cmap_initialize(&cmap);

	if (err != CS_OK)
		return conclavectl_cannot_connect("cmap", err);
	if (cmap_get_string(cmap, "totem.transport", &v->transport) != CS_OK)
		v->transport = strdup("knet");
	v->knet = strcmp(v->transport, "udpu") != 0 && strcmp(v->transport, "udp") != 0;
	read_nodes(cmap, v);
	read_link_transports(cmap, v);
	cmap_finalize(cmap);
	if (v->n_nodes == 0) {
		fprintf(stderr, "No nodes found in nodelist\n");
		return CONCLAVECTL_EXIT_FAILED;
	}
	return CONCLAVECTL_EXIT_OK;
}

/* ---- -n: the reachable nodes and their links ----------------------------------- */

static void print_node_links(const struct cluster_view *v, const struct corosync_cfg_node_status_v1 *st)
{
	printf("nodeid: " CS_PRI_NODE_ID " reachable", st->nodeid);
	if (st->remote)
		printf(" remote");
	if (st->external)
		printf(" external");
	printf("\n");
	for (int j = 0; j < CFG_MAX_LINKS; j++) {
		const struct corosync_knet_link_status_v1 *l = &st->link_status[j];

		if (!l->enabled)
			continue;
		printf("   LINK: %d %s (%s%s%s) enabled", j, v->link_transport[j], l->src_ipaddr,
		       v->knet ? "->" : "", l->dst_ipaddr);
		if (l->connected)
			printf(" connected");
		if (l->dynconnected)
			printf(" dynconnected");
		printf(" mtu: %u\n", l->mtu);
	}
	printf("\n");
}

static void print_node_status(corosync_cfg_handle_t cfg, const struct cluster_view *v, unsigned int local)
{
	for (int i = 0; i < v->n_nodes; i++) {
		struct corosync_cfg_node_status_v1 st;

		if (corosync_cfg_node_status_get(cfg, v->nodes[i], CFG_NODE_STATUS_V1, &st) != CS_OK)
			continue;
		if (st.reachable && st.nodeid != local)
			print_node_links(v, &st);
	}
}

/* ---- -s: the links, with each node's state on it ---------------------------------- */

static bool link_selected(const struct cfg_options *o, int link, const char *addr)
{
	char id[16];

	if (o->link == NULL)
		return true;
	snprintf(id, sizeof(id), "%d", link);
	return strcmp(o->link, id) == 0 || strcmp(o->link, addr) == 0;
}

static void print_link_nodes(const struct cluster_view *v, const struct corosync_cfg_node_status_v1 *st,
			     int link, int local_index, bool brief)
{
	if (brief) {
		printf("\tstatus\t= ");
		for (int j = 0; j < v->n_nodes; j++) {
			const struct corosync_knet_link_status_v1 *l = &st[j].link_status[link];

			putchar(j == local_index ? 'n' : '0' + ((l->enabled | (l->connected << 1)) & 3));
		}
		printf("\n");
		return;
	}
	printf("\tstatus:\n");
	for (int j = 0; j < v->n_nodes; j++) {
		printf("\t\tnodeid: " CS_PRI_NODE_ID_PADDED ":\t", st[j].nodeid);
		if (j == local_index)
			printf("localhost\n");
		else
			printf("%s\n", st[j].link_status[link].connected ? "connected" : "disconnected");
	}
}

/* A link's local address is read from another node's status, as the local
 * node's own has one link, to itself. */
static void print_link_status(corosync_cfg_handle_t cfg, const struct cluster_view *v, unsigned int local,
			      const struct cfg_options *o)
{
	struct corosync_cfg_node_status_v1 *st;
	int local_index = 0, other_index = 0;

	if (v->n_nodes == 0 || (st = calloc((size_t)v->n_nodes, sizeof(*st))) == NULL)
		return;
	for (int i = 0; i < v->n_nodes; i++) {
		cs_error_t err = corosync_cfg_node_status_get(cfg, v->nodes[i], CFG_NODE_STATUS_V1, &st[i]);

		if (err != CS_OK)
			fprintf(stderr, "Could not get the node status for nodeid %u, the error is: %d\n",
				v->nodes[i], err);
		if (v->nodes[i] == local)
			local_index = i;
		else
			other_index = i;
	}
	for (int link = 0; link < CFG_MAX_LINKS; link++) {
		const struct corosync_knet_link_status_v1 *l = &st[other_index].link_status[link];

		if (!l->enabled || !link_selected(o, link, l->src_ipaddr))
			continue;
		printf("LINK ID %d %s\n\taddr\t= %s\n", link, v->link_transport[link], l->src_ipaddr);
		print_link_nodes(v, st, link, local_index, o->brief);
	}
	free(st);
}

static int status(corosync_cfg_handle_t cfg, const struct cfg_options *o)
{
	struct cluster_view v = { .n_nodes = 0 };
	unsigned int local;
	cs_error_t err = corosync_cfg_local_get(cfg, &local);
	int result;

	if (err != CS_OK) {
		fprintf(stderr, "Could not get the local node id, the error is: %d\n", err);
		return CONCLAVECTL_EXIT_FAILED;
	}
	result = read_view(&v);
	if (result == CONCLAVECTL_EXIT_OK) {
		printf("Local node ID " CS_PRI_NODE_ID ", transport %s\n", local, v.transport);
		if (o->action == NODE_STATUS)
			print_node_status(cfg, &v, local);
		else
			print_link_status(cfg, &v, local, o);
	}
	view_free(&v);
	return result;
}

/* ---- the other actions -------------------------------------------------------------- */

/* corosync-cfgtool exits with the cs_error_t of a failed reload or reopen. */
static int reload(corosync_cfg_handle_t cfg)
{
	cs_error_t err = corosync_cfg_reload_config(cfg);

	if (err != CS_OK) {
		fprintf(stderr, "Could not reload configuration. Error %s\n", cs_strerror(err));
		return (int)err;
	}
	printf("Done\n");
	return CONCLAVECTL_EXIT_OK;
}

static int reopen_logs(corosync_cfg_handle_t cfg)
{
	cs_error_t err = corosync_cfg_reopen_log_files(cfg);

	if (err != CS_OK) {
		fprintf(stderr, "Could not reopen corosync logging files. Error %s\n", cs_strerror(err));
		return (int)err;
	}
	return CONCLAVECTL_EXIT_OK;
}

/* Retries a busy daemon for up to 30 s, as corosync-cfgtool does. */
static int shutdown_daemon(corosync_cfg_handle_t cfg, bool force)
{
	corosync_cfg_shutdown_flags_t flag = force ? COROSYNC_CFG_SHUTDOWN_FLAG_REGARDLESS
						   : COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST;
	cs_error_t err;

	printf("Shutting down corosync\n");
	fflush(stdout);
	for (int tries = 0; (err = corosync_cfg_try_shutdown(cfg, flag)) == CS_ERR_TRY_AGAIN && tries < 30;
	     tries++)
		sleep(1);
	if (err != CS_OK) {
		fprintf(stderr, "Could not shutdown (error = %d)\n", err);
		return CONCLAVECTL_EXIT_FAILED;
	}
	return CONCLAVECTL_EXIT_OK;
}

static int show_addresses(corosync_cfg_handle_t cfg, unsigned int nodeid)
{
	char addrs[CFG_MAX_LINKS * 48];

	if (!conclavectl_node_addresses(cfg, nodeid, addrs, sizeof(addrs))) {
		fprintf(stderr, "Could not get node address for nodeid %u\n", nodeid);
		return CONCLAVECTL_EXIT_FAILED;
	}
	printf("%s\n", addrs);
	return CONCLAVECTL_EXIT_OK;
}

static int kill_node(corosync_cfg_handle_t cfg, unsigned int nodeid)
{
	cs_error_t err = corosync_cfg_kill_node(cfg, nodeid, "Killed by corosync-cfgtool");

	if (err != CS_OK) {
		fprintf(stderr, "Could not kill node (error = %s)\n", cs_strerror(err));
		return CONCLAVECTL_EXIT_FAILED;
	}
	return CONCLAVECTL_EXIT_OK;
}

static int run_action(corosync_cfg_handle_t cfg, const struct cfg_options *o)
{
	switch (o->action) {
	case LINK_STATUS:
	case NODE_STATUS:
		return status(cfg, o);
	case RELOAD:
		return reload(cfg);
	case REOPEN_LOGS:
		return reopen_logs(cfg);
	case SHUTDOWN:
		return shutdown_daemon(cfg, o->force);
	case SHOW_ADDRESSES:
		return show_addresses(cfg, o->nodeid);
	case KILL_NODE:
		return kill_node(cfg, o->nodeid);
	default:
		return CONCLAVECTL_EXIT_OK;
	}
}

/* ---- options ----------------------------------------------------------------------- */

static bool parse_nodeid(const char *text, struct cfg_options *o)
{
	long long v;

	if (conclavectl_parse_number(text, 1, UINT_MAX, &v)) {
		o->nodeid = (unsigned int)v;
		return true;
	}
	fprintf(stderr, "The nodeid was not valid, try a positive number\n");
	return false;
}

static const struct option LONG_OPTIONS[] = {
	{ "if", required_argument, 0, 'i' },
	{ "status", no_argument, 0, 's' },
	{ "nodes", no_argument, 0, 'n' },
	{ "brief", no_argument, 0, 'b' },
	{ "reload", no_argument, 0, 'R' },
	{ "reopen", no_argument, 0, 'L' },
	{ "kill", required_argument, 0, 'k' },
	{ "address", required_argument, 0, 'a' },
	{ "shutdown", no_argument, 0, 'H' },
	{ "force", no_argument, 0, 'F' },
	{ 0, 0, 0, 0 },
};

/* Returns -1 when the option is good, else the exit status. */
static int parse_option(int opt, struct cfg_options *o)
{
	switch (opt) {
	case 'i':
		o->link = optarg;
		return -1;
	case 's':
		o->action = LINK_STATUS;
		return -1;
	case 'n':
		o->action = NODE_STATUS;
		return -1;
	case 'b':
		o->brief = true;
		return -1;
	case 'R':
		o->action = RELOAD;
		return -1;
	case 'L':
		o->action = REOPEN_LOGS;
		return -1;
	case 'H':
		o->action = SHUTDOWN;
		return -1;
	case 'F':
		o->force = true;
		return -1;
	case 'k':
		o->action = KILL_NODE;
		return parse_nodeid(optarg, o) ? -1 : CONCLAVECTL_EXIT_FAILED;
	case 'a':
		o->action = SHOW_ADDRESSES;
		return parse_nodeid(optarg, o) ? -1 : CONCLAVECTL_EXIT_FAILED;
	default:
		return conclavectl_usage_error(&conclavectl_cfg_command, "unknown cfg option");
	}
}

static int run_cfg(int argc, char **argv)
{
	struct cfg_options o = { .action = NONE };
	corosync_cfg_handle_t cfg;
	cs_error_t err;
	int opt, result = -1;

	opterr = 0;
	optind = 1;
	while (result < 0 &&
	       (opt = getopt_long(argc + 1, argv - 1, "i:snbRLk:a:H", LONG_OPTIONS, NULL)) != -1)
		result = parse_option(opt, &o);
	if (result < 0 && optind != argc + 1)
		result = conclavectl_usage_error(&conclavectl_cfg_command, "cfg takes options only");
	if (result >= 0)
		return result;
	if (o.action == NONE) {
		fputs(conclavectl_cfg_command.usage, stdout);
		return CONCLAVECTL_EXIT_OK;
	}
	if (o.action == RELOAD)
		printf("Reloading corosync.conf...\n");
	else if (o.action == KILL_NODE)
		printf("Killing node " CS_PRI_NODE_ID "\n", o.nodeid);
	fflush(stdout);
	err = corosync_cfg_initialize(&cfg, NULL);
	if (err != CS_OK)
		return conclavectl_cannot_connect("cfg", err);
	result = run_action(cfg, &o);
	corosync_cfg_finalize(cfg);
	return result;
}

const struct conclavectl_command conclavectl_cfg_command = {
	.name = "cfg",
	.usage =
		"usage: conclavectl cfg [-i LINK] [-b] -s | -n | -a NODEID | -R | -L | -k NODEID | -H [--force]\n"
		"  as corosync-cfgtool: -s the links and each node's state on them (-b\n"
		"  briefly, -i only the link with this id or local address), -n the\n"
		"  reachable nodes, -a a node's addresses, -R reload the configuration,\n"
		"  -L reopen the log file, -k kill a node, -H shut conclaved down (asking\n"
		"  the processes that track shutdowns; --force whatever they answer)\n",
	.usage_status = CONCLAVECTL_EXIT_USAGE,
	.run = run_cfg,
};
