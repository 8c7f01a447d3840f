/* The evs functions the IDL marks `manual`. The application's callbacks go
 * straight into the runtime's table: the internal message and membership
 * events have their C signatures (evs.idl). An array of struct evs_group is
 * already the packed keys the daemon takes, 32 bytes each. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <corosync/evs.h>

#include "evs-client.h"
#include <conclave/client-runtime.h>

_Static_assert(sizeof(struct evs_group) == EVS_GROUP_KEY_LENGTH, "struct evs_group is one packed key");

cs_error_t evs_initialize(evs_handle_t *handle, evs_callbacks_t *callbacks)
{
	cv_callback_fn table[EVS_N_EVENTS] = { 0 };

	if (handle == NULL)
		return CS_ERR_INVALID_PARAM;
	if (callbacks != NULL) {
		table[EVS_EVENT_MESSAGE] = (cv_callback_fn)callbacks->evs_deliver_fn;
		table[EVS_EVENT_MEMBERSHIP] = (cv_callback_fn)callbacks->evs_confchg_fn;
	}
	return cv_client_initialize(&evs_client_service, handle, table, NULL);
}

/* The handle first, as corosync checks it before the arguments. */
static cs_error_t handle_check(evs_handle_t handle)
{
	void *context;

	return cv_client_context_get(&evs_client_service, handle, &context);
}

static cs_error_t groups_check(evs_handle_t handle, const struct evs_group *groups, size_t group_cnt)
{
	cs_error_t err = handle_check(handle);

	if (err != CS_OK)
		return err;
	if (groups == NULL && group_cnt != 0)
		return CS_ERR_INVALID_PARAM;
	if (group_cnt > EVS_MAX_GROUPS_PER_CALL)
		return CS_ERR_TOO_MANY_GROUPS;
	return CS_OK;
}

cs_error_t evs_join(evs_handle_t handle, const struct evs_group *groups, size_t group_cnt)
{
	cs_error_t err = groups_check(handle, groups, group_cnt);

	if (err != CS_OK)
		return err;
	return evs_groups_join(handle, groups, group_cnt * sizeof(*groups));
}

cs_error_t evs_leave(evs_handle_t handle, const struct evs_group *groups, size_t group_cnt)
{
	cs_error_t err = groups_check(handle, groups, group_cnt);

	if (err != CS_OK)
		return err;
	return evs_groups_leave(handle, groups, group_cnt * sizeof(*groups));
}

/* ---- messages -------------------------------------------------------------- */

struct message {
	const uint8_t *data;
	size_t length;
	uint8_t *gathered; /* when the iovec had more than one entry */
};

/* One entry is sent as it is; more are copied into one buffer. */
static cs_error_t message_gather(const struct iovec *iovec, unsigned int iov_len, struct message *m)
{
	size_t offset = 0;
	cs_error_t err;

	memset(m, 0, sizeof(*m));
	if (iovec == NULL && iov_len != 0)
		return CS_ERR_INVALID_PARAM;
	err = cv_iovec_total(iovec, iov_len, &m->length);
	if (err != CS_OK || m->length == 0)
		return err;
	if (iov_len == 1) {
		m->data = iovec[0].iov_base;
		return CS_OK;
	}
	m->gathered = malloc(m->length);
	if (m->gathered == NULL)
		return CS_ERR_NO_MEMORY;
	for (unsigned int i = 0; i < iov_len; i++) {
		if (iovec[i].iov_len != 0)
			memcpy(m->gathered + offset, iovec[i].iov_base, iovec[i].iov_len);
		offset += iovec[i].iov_len;
	}
	m->data = m->gathered;
	return CS_OK;
}

cs_error_t evs_mcast_joined(evs_handle_t handle, evs_guarantee_t guarantee, const struct iovec *iovec,
			    unsigned int iov_len)
{
	struct message m;
	cs_error_t err = handle_check(handle);

	if (err != CS_OK)
		return err;
	err = message_gather(iovec, iov_len, &m);
	if (err == CS_OK)
		err = evs_groups_mcast(handle, m.data, m.length);
	free(m.gathered);
	return err;
}

cs_error_t evs_mcast_groups(evs_handle_t handle, evs_guarantee_t guarantee, const struct evs_group *groups,
			    size_t group_cnt, const struct iovec *iovec, unsigned int iov_len)
{
	struct message m;
	cs_error_t err = groups_check(handle, groups, group_cnt);

	if (err != CS_OK)
		return err;
	err = message_gather(iovec, iov_len, &m);
	if (err == CS_OK)
		err = evs_groups_mcast_to(handle, groups, group_cnt * sizeof(*groups), m.data, m.length);
	free(m.gathered);
	return err;
}

/* ---- membership ------------------------------------------------------------ */

cs_error_t evs_membership_get(evs_handle_t handle, unsigned int *local_nodeid, unsigned int *member_list,
			      size_t *member_list_entries)
{
	unsigned int self, *members = NULL;
	size_t n_members = 0;
	cs_error_t err = handle_check(handle);

	if (err != CS_OK)
		return err;
	if (member_list_entries == NULL)
		return CS_ERR_INVALID_PARAM;
	err = evs_members(handle, &self, &members, &n_members);
	if (err != CS_OK)
		return err;
	if (local_nodeid != NULL)
		*local_nodeid = self;
	if (member_list != NULL) {
		if (n_members > *member_list_entries)
			n_members = *member_list_entries;
		memcpy(member_list, members, n_members * sizeof(*members));
	}
	*member_list_entries = n_members;
	free(members);
	return CS_OK;
}
