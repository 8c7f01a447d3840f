#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <conclave/service.h>

#include "cfg-nodes.h"

/* knet's MTU for a node's link to itself. */
#define LOOPBACK_LINK_MTU 65535

static struct cfg_node *nodes; /* sorted by node id */
static size_t n_nodes;

static bool resolve(const char *host, struct cfg_link_address *out)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM };
	struct addrinfo *found = NULL;
	const void *addr;

	if (getaddrinfo(host, NULL, &hints, &found) != 0 || !found)
		return false;
	memcpy(&out->addr, found->ai_addr, found->ai_addrlen);
	freeaddrinfo(found);
	if (out->addr.ss_family == AF_INET) {
		((struct sockaddr_in *)&out->addr)->sin_port = 0;
		addr = &((struct sockaddr_in *)&out->addr)->sin_addr;
	} else {
		((struct sockaddr_in6 *)&out->addr)->sin6_port = 0;
		addr = &((struct sockaddr_in6 *)&out->addr)->sin6_addr;
	}
	out->configured = inet_ntop(out->addr.ss_family, addr, out->text, sizeof(out->text)) != NULL;
	return out->configured;
}

/* Link 0 falls back on the node's name, as the local node is found. */
static void load_node(const struct cv_node_settings *from, bool local, struct cfg_node *to)
{
	to->nodeid = from->nodeid;
	to->local = local;
	for (unsigned link = 0; link < CFG_MAX_LINKS; link++) {
		const char *host = from->ring_addrs[link];

		if (link == 0 && !host)
			host = from->name;
		if (host && !resolve(host, &to->links[link]))
			cv_log_warning("cfg: node %u: cannot resolve ring%u_addr %s", from->nodeid, link,
				       host);
	}
}

static int by_nodeid(const void *a, const void *b)
{
	const struct cfg_node *x = a, *y = b;

	return x->nodeid < y->nodeid ? -1 : x->nodeid > y->nodeid;
}

int cfg_nodes_load(const struct cv_settings *settings)
{
	nodes = calloc(settings->n_nodes, sizeof(*nodes));
	if (!nodes)
		return -1;
	n_nodes = settings->n_nodes;
	for (size_t i = 0; i < n_nodes; i++)
		load_node(&settings->nodes[i], i == settings->local_node, &nodes[i]);
	qsort(nodes, n_nodes, sizeof(*nodes), by_nodeid);
	return 0;
}

void cfg_nodes_free(void)
{
	free(nodes);
	nodes = NULL;
	n_nodes = 0;
}

size_t cfg_nodes_count(void)
{
	return n_nodes;
}

const struct cfg_node *cfg_node_find(uint32_t nodeid)
{
	for (size_t i = 0; i < n_nodes; i++)
		if (nodes[i].nodeid == nodeid)
			return &nodes[i];
	return NULL;
}

const struct cfg_node *cfg_node_local(void)
{
	for (size_t i = 0; i < n_nodes; i++)
		if (nodes[i].local)
			return &nodes[i];
	return NULL;
}

/* Only the local node is up: its links connect to itself; a link to any
 * other node is configured but down. */
static void link_status(const struct cfg_link_address *local, const struct cfg_link_address *remote,
			bool to_self, struct corosync_knet_link_status_v1 *out)
{
	if (!local->configured || !remote->configured)
		return;
	out->enabled = 1;
	out->connected = to_self;
	out->mtu = to_self ? LOOPBACK_LINK_MTU : 0;
	snprintf(out->src_ipaddr, sizeof(out->src_ipaddr), "%s", local->text);
	snprintf(out->dst_ipaddr, sizeof(out->dst_ipaddr), "%s", remote->text);
}

void cfg_node_status(const struct cfg_node *node, struct corosync_cfg_node_status_v1 *out)
{
	const struct cfg_node *local = cfg_node_local();

	memset(out, 0, sizeof(*out));
	out->version = CFG_NODE_STATUS_V1;
	out->nodeid = node->nodeid;
	out->reachable = node->local;
	for (unsigned link = 0; link < CFG_MAX_LINKS; link++)
		link_status(&local->links[link], &node->links[link], node->local, &out->link_status[link]);
}

size_t cfg_node_addresses(const struct cfg_node *node, corosync_cfg_node_address_t out[CFG_MAX_LINKS])
{
	size_t n = 0;

	for (unsigned link = 0; link < CFG_MAX_LINKS; link++) {
		const struct cfg_link_address *a = &node->links[link];

		if (!a->configured)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].address_length = a->addr.ss_family == AF_INET ? (int)sizeof(struct sockaddr_in)
								     : (int)sizeof(struct sockaddr_in6);
		memcpy(out[n].address, &a->addr, (size_t)out[n].address_length);
		n++;
	}
	return n;
}

bool cfg_link_describe(unsigned link, char name[CFG_MAX_HOST_LEN + 16], char *status, size_t status_size)
{
	const struct cfg_node *local = cfg_node_local();
	size_t i;

	if (!local->links[link].configured || status_size < n_nodes + 1)
		return false;
	snprintf(name, CFG_MAX_HOST_LEN + 16, "%u %s", link, local->links[link].text);
	for (i = 0; i < n_nodes; i++) {
		struct corosync_knet_link_status_v1 s = { 0 };

		link_status(&local->links[link], &nodes[i].links[link], nodes[i].local, &s);
		status[i] = nodes[i].local ? 'n' : (char)('0' + s.enabled + 2 * s.connected);
	}
	status[i] = '\0';
	return true;
}
