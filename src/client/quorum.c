/* The two quorum functions the IDL marks `manual`: both connect and then
 * declare the callback model to the daemon, which decides whether this handle
 * receives version 0 or version 1 notifications. */
#include <corosync/quorum.h>

#include <conclave/client-runtime.h>
#include "quorum-client.h"

static cs_error_t connect_with_model(quorum_handle_t *handle, quorum_model_t model,
				     const cv_callback_fn *callbacks, uint32_t *quorum_type, void *context)
{
	uint32_t type = QUORUM_FREE;
	cs_error_t err;

	err = cv_client_initialize(&quorum_client_service, handle, callbacks, context);
	if (err != CS_OK)
		return err;
	err = quorum_model_gettype(*handle, model, &type);
	if (err != CS_OK) {
		cv_client_finalize(&quorum_client_service, *handle);
		return err;
	}
	if (quorum_type != NULL)
		*quorum_type = type;
	return CS_OK;
}

cs_error_t quorum_initialize(quorum_handle_t *handle, quorum_callbacks_t *callbacks, uint32_t *quorum_type)
{
	cv_callback_fn table[QUORUM_N_EVENTS] = { 0 };

	if (handle == NULL)
		return CS_ERR_INVALID_PARAM;
	if (callbacks != NULL)
		quorum_callback_table_from_quorum_callbacks_t(callbacks, table);
	return connect_with_model(handle, QUORUM_MODEL_V0, table, quorum_type, NULL);
}

/* model_data's own model field is not read: corosync does not require it. */
cs_error_t quorum_model_initialize(quorum_handle_t *handle, quorum_model_t model,
				   quorum_model_data_t *model_data, uint32_t *quorum_type, void *context)
{
	cv_callback_fn table[QUORUM_N_EVENTS] = { 0 };

	if (handle == NULL)
		return CS_ERR_INVALID_PARAM;
	switch (model) {
	case QUORUM_MODEL_V0:
		if (model_data != NULL)
			quorum_callback_table_from_quorum_model_v0_data_t(
				(const quorum_model_v0_data_t *)model_data, table);
		break;
	case QUORUM_MODEL_V1:
		if (model_data != NULL)
			quorum_callback_table_from_quorum_model_v1_data_t(
				(const quorum_model_v1_data_t *)model_data, table);
		break;
	default:
		return CS_ERR_INVALID_PARAM;
	}
	return connect_with_model(handle, model, table, quorum_type, context);
}
