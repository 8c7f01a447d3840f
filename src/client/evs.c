/* The evs functions the IDL marks `manual`. The application's callbacks go
 * straight into the runtime's table: the internal message and membership
 * events have their C signatures (evs.idl). Messages up to
 * EVS_MAX_POSTED_MSGSIZE are posted, as cpg's are; larger ones go with a
 * round trip. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <corosync/evs.h>

#include "evs-client.h"
#include <conclave/client-runtime.h>

/* Larger messages are not posted: a socket's buffer may not take them in
 * one piece, and a half-sent one would wait for the daemon while it holds
 * the connection back. */
#define EVS_MAX_POSTED_MSGSIZE (64u * 1024)

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

/* ---- messages -------------------------------------------------------------- */

/* The handle, then the arguments the daemon would refuse, as the calls of
 * corosync 1.x did: nothing goes out when one is wrong. */
static cs_error_t message_check(evs_handle_t handle, const struct evs_group *groups, size_t group_cnt,
				const struct iovec *iovec, unsigned int iov_len)
{
	cs_error_t err;

	if ((groups == NULL && group_cnt != 0) || (iovec == NULL && iov_len != 0))
		return CS_ERR_INVALID_PARAM;
	err = handle_check(handle);
	if (err != CS_OK)
		return err;
	return group_cnt > EVS_MAX_GROUPS_PER_CALL ? CS_ERR_TOO_MANY_GROUPS : CS_OK;
}

/* To the joined groups when `joined`, else to the group_cnt groups. */
static cs_error_t message_send(evs_handle_t handle, evs_guarantee_t guarantee, bool joined,
			       const struct evs_group *groups, size_t group_cnt, const struct iovec *iovec,
			       unsigned int iov_len)
{
	uint8_t *message, *gathered;
	size_t total;
	cs_error_t err = message_check(handle, groups, group_cnt, iovec, iov_len);

	if (err == CS_OK)
		err = cv_iovec_gather(iovec, iov_len, &message, &total, &gathered);
	if (err != CS_OK)
		return err;
	if (joined && total <= EVS_MAX_POSTED_MSGSIZE)
		err = evs_joined_mcast(handle, message, total);
	else if (joined)
		err = evs_joined_mcast_large(handle, guarantee, message, total);
	else if (total <= EVS_MAX_POSTED_MSGSIZE)
		err = evs_groups_mcast(handle, groups, group_cnt, message, total);
	else
		err = evs_groups_mcast_large(handle, guarantee, groups, group_cnt, message, total);
	free(gathered);
	return err;
}

cs_error_t evs_mcast_joined(evs_handle_t handle, evs_guarantee_t guarantee, const struct iovec *iovec,
			    unsigned int iov_len)
{
	return message_send(handle, guarantee, true, NULL, 0, iovec, iov_len);
}

cs_error_t evs_mcast_groups(evs_handle_t handle, evs_guarantee_t guarantee, const struct evs_group *groups,
			    size_t group_cnt, const struct iovec *iovec, unsigned int iov_len)
{
	return message_send(handle, guarantee, false, groups, group_cnt, iovec, iov_len);
}
