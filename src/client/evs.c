/* The evs functions the IDL marks `manual`. The application's callbacks go
 * straight into the runtime's table: the internal message and membership
 * events have their C signatures (evs.idl). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/evs.h>

#include "evs-client.h"
#include <conclave/client-runtime.h>

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
