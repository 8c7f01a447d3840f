/* The configured nodes as the cfg service reports them: each node's link
 * addresses (ringN_addr, resolved once at start) and the link status a
 * single-node knet cluster has. */
#ifndef CONCLAVE_CFG_NODES_H
#define CONCLAVE_CFG_NODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <corosync/cfg.h>

#include <conclave/service.h>

struct cfg_link_address {
	bool configured; /* the node has this link and its address resolved */
	struct sockaddr_storage addr;
	char text[CFG_MAX_HOST_LEN]; /* numeric form */
};

struct cfg_node {
	uint32_t nodeid;
	bool local;
	struct cfg_link_address links[CFG_MAX_LINKS];
};

/* Resolves the nodes of settings; 0, or -1 on exhaustion. Addresses that do
 * not resolve are logged and left out. */
int cfg_nodes_load(const struct cv_settings *settings);
void cfg_nodes_free(void);

/* NULL for a node that is not configured. */
const struct cfg_node *cfg_node_find(uint32_t nodeid);
const struct cfg_node *cfg_node_local(void);

void cfg_node_status(const struct cfg_node *node, struct corosync_cfg_node_status_v1 *out);
/* Fills up to CFG_MAX_LINKS entries of out; returns how many. */
size_t cfg_node_addresses(const struct cfg_node *node, corosync_cfg_node_address_t out[CFG_MAX_LINKS]);
/* The ring status corosync gives for link: "N ADDRESS" and one character per
 * node in node id order ('n' for this node, else '0' + enabled + 2 * connected).
 * false when this node has no such link. status holds one byte per node plus
 * the NUL. */
bool cfg_link_describe(unsigned link, char name[CFG_MAX_HOST_LEN + 16], char *status, size_t status_size);
size_t cfg_nodes_count(void);

#endif
