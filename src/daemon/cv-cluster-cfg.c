/* Cluster mode: cfg's node status asked of the corosync on this node,
 * through corosync's own libcfg.so.7 (reached as libcpg.so.4 is; see
 * cv-corosync-link.h). One connection per request: node status is asked
 * rarely (corosync-cfgtool -n, a monitor), and nothing is kept across
 * corosync's restarts. */
#include <stdio.h>
#include <string.h>

#include <corosync/cfg.h>

#include "cv-corosync-link.h"
#include "cv-log.h"
#include <conclave/cluster.h>

/* A connection to corosync's cfg whose peer is corosync: CS_OK, or why not
 * (logged). */
static cs_error_t open_cfg(corosync_cfg_handle_t *h)
{
	char why[600], peer[512];
	cs_error_t err;
	int fd;

	if (cv_link_check_cfg(why, sizeof(why)) != 0) {
		cv_log_error("cluster: cannot ask corosync's cfg: %s", why);
		return CS_ERR_LIBRARY;
	}
	err = corosync_cfg_initialize(h, NULL);
	if (err != CS_OK)
		return err == CS_ERR_LIBRARY ? CS_ERR_TRY_AGAIN : err;
	if (corosync_cfg_fd_get(*h, &fd) == CS_OK) {
		enum cv_link_peer who = cv_link_identify_peer(fd, peer, sizeof(peer));

		if (who == CV_PEER_COROSYNC || who == CV_PEER_UNKNOWN)
			return CS_OK;
		cv_log_error("cluster: cfg's peer is not corosync but %s", peer);
	}
	corosync_cfg_finalize(*h);
	return CS_ERR_LIBRARY;
}

cs_error_t cv_cluster_node_status(uint32_t nodeid, void *status, size_t size)
{
	struct corosync_cfg_node_status_v1 got;
	corosync_cfg_handle_t h;
	cs_error_t err;

	if (size != sizeof(got))
		return CS_ERR_INVALID_PARAM;
	err = open_cfg(&h);
	if (err != CS_OK)
		return err;
	err = corosync_cfg_node_status_get(h, nodeid, CFG_NODE_STATUS_V1, &got);
	corosync_cfg_finalize(h);
	if (err == CS_OK)
		memcpy(status, &got, sizeof(got));
	return err;
}
