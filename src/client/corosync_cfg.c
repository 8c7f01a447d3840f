/* The cfg functions the IDL marks `manual`: they unpack what the internal
 * requests return into the caller's structures and string arrays. */
#include <stdlib.h>
#include <string.h>

#include <corosync/cfg.h>

#include "corosync_cfg-client.h"
#include <conclave/client-runtime.h>

static void free_strings(char **strings, size_t n)
{
	if (!strings)
		return;
	for (size_t i = 0; i < n; i++)
		free(strings[i]);
	free(strings);
}

/* The next NUL-terminated string of entries at *offset, or NULL when the
 * entries end without one. */
static const char *next_string(const char *entries, size_t len, size_t *offset)
{
	const char *start = entries + *offset;
	const char *end;

	if (*offset >= len)
		return NULL;
	end = memchr(start, '\0', len - *offset);
	if (!end)
		return NULL;
	*offset += (size_t)(end - start) + 1;
	return start;
}

static size_t count_strings(const char *entries, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += entries[i] == '\0';
	return n;
}

/* entries: name and status of each link, alternating. */
static cs_error_t split_links(const char *entries, size_t len, char ***names, char ***statuses,
			      unsigned int *count)
{
	size_t n = count_strings(entries, len) / 2, offset = 0;
	char **name_array = calloc(n ? n : 1, sizeof(char *));
	char **status_array = calloc(n ? n : 1, sizeof(char *));

	if (!name_array || !status_array)
		goto no_memory;
	for (size_t i = 0; i < n; i++) {
		const char *name = next_string(entries, len, &offset);
		const char *status = next_string(entries, len, &offset);

		if (!name || !status) {
			free_strings(name_array, n);
			free_strings(status_array, n);
			return CS_ERR_LIBRARY;
		}
		name_array[i] = strdup(name);
		status_array[i] = strdup(status);
		if (!name_array[i] || !status_array[i])
			goto no_memory;
	}
	*names = name_array;
	*statuses = status_array;
	*count = (unsigned int)n;
	return CS_OK;
no_memory:
	free_strings(name_array, n);
	free_strings(status_array, n);
	return CS_ERR_NO_MEMORY;
}

cs_error_t corosync_cfg_ring_status_get(corosync_cfg_handle_t cfg_handle, char ***interface_names,
					char ***status, unsigned int *interface_count)
{
	void *entries = NULL;
	size_t len = 0;
	cs_error_t err;

	if (!interface_names || !status || !interface_count)
		return CS_ERR_INVALID_PARAM;
	err = corosync_cfg_links(cfg_handle, &entries, &len);
	if (err == CS_OK)
		err = split_links(entries, len, interface_names, status, interface_count);
	free(entries);
	return err;
}

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
	void *wire = NULL;
	size_t len = 0, n;
	cs_error_t err;

	if (!num_addrs || (!addrs && max_addrs > 0))
		return CS_ERR_INVALID_PARAM;
	err = corosync_cfg_node_addrs(cfg_handle, nodeid, &wire, &len);
	if (err == CS_OK && len % sizeof(corosync_cfg_node_address_t) != 0)
		err = CS_ERR_LIBRARY;
	if (err == CS_OK) {
		n = len / sizeof(corosync_cfg_node_address_t);
		if (n > 0 && max_addrs > 0)
			memcpy(addrs, wire, (n < max_addrs ? n : max_addrs) * sizeof(*addrs));
		*num_addrs = (int)n;
	} else if (err == CS_ERR_NOT_EXIST) {
		*num_addrs = 0;
	}
	free(wire);
	return err;
}
