/* The cfg functions the IDL marks `manual`: they unpack what the internal
 * requests return into the caller's structures. */
#include <stdlib.h>
#include <string.h>

#include <corosync/cfg.h>

#include "corosync_cfg-client.h"
#include <conclave/client-runtime.h>

cs_error_t corosync_cfg_node_status_get(corosync_cfg_handle_t cfg_handle, unsigned int nodeid,
					corosync_cfg_node_status_version_t version, void *node_status)
{
	void *v1 = NULL;
	size_t len = 0;
	cs_error_t err;

	if (version != CFG_NODE_STATUS_V1 || !node_status)
		return CS_ERR_INVALID_PARAM;
	err = corosync_cfg_node_status(cfg_handle, nodeid, &v1, &len);
	if (err == CS_OK && len != sizeof(struct corosync_cfg_node_status_v1))
		err = CS_ERR_LIBRARY;
	if (err == CS_OK)
		memcpy(node_status, v1, len);
	free(v1);
	return err;
}

cs_error_t corosync_cfg_get_node_addrs(corosync_cfg_handle_t cfg_handle, unsigned int nodeid,
				       size_t max_addrs, int *num_addrs, corosync_cfg_node_address_t *addrs)
{
	corosync_cfg_node_address_t *all = NULL;
	size_t n = 0;
	cs_error_t err;

	if (!num_addrs || (!addrs && max_addrs > 0))
		return CS_ERR_INVALID_PARAM;
	err = corosync_cfg_node_addrs(cfg_handle, nodeid, &all, &n);
	if (err == CS_OK) {
		if (n > 0 && max_addrs > 0)
			memcpy(addrs, all, (n < max_addrs ? n : max_addrs) * sizeof(*addrs));
		*num_addrs = (int)n;
	} else if (err == CS_ERR_NOT_EXIST) {
		*num_addrs = 0;
	}
	free(all);
	return err;
}
