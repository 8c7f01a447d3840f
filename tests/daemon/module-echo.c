/* A service module for the tests, loaded by a real conclaved from its
 * service directory: "echo" answers a request with its argument plus one,
 * and counts its connections in cmap, through <conclave/service.h> only;
 * its catalog names its request and fields for conclaved -d, conclavectl
 * call and monitor.
 * Built three ways: as it should be, for another service API
 * (ECHO_MODULE_API), and without its module (ECHO_NO_MODULE). */
#include <conclave/service.h>

#include <conclave/catalog.h>
#include "quorum.pb-c.h"

static uint32_t connects;

static cs_error_t echo_plus_one(struct cv_session *s, const ProtobufCMessage *request,
				ProtobufCMessage *reply)
{
	((QuorumModelGettypeReply *)reply)->quorum_type = ((const QuorumTrackstartRequest *)request)->flags +
							  1;
	return CS_OK;
}

static int echo_connect(struct cv_session *s)
{
	cv_log_info("echo: connection %llu", (unsigned long long)cv_session_id(s));
	return cmap_store_write_u32(cmap_default_map(), "runtime.echo.connects", ++connects) == CS_OK ? 0
												      : -1;
}

static const struct cv_request_desc echo_requests[] = {
	{ "plus_one", &quorum_trackstart_request__descriptor, &quorum_model_gettype_reply__descriptor,
	  echo_plus_one, NULL, 0 },
};
static const struct cv_catalog_request echo_catalog_requests[] = {
	{ "plus_one", "echo_plus_one", "Replies with flags plus one as quorum_type.",
	  &quorum_trackstart_request__descriptor, &quorum_model_gettype_reply__descriptor },
};
static const struct cv_catalog echo_catalog = {
	.service = "echo",
	.version_major = 1,
	.version_minor = 0,
	.n_requests = 1,
	.requests = echo_catalog_requests,
};
static const struct cv_service_ops echo_ops = { .connect = echo_connect };
static const struct cv_server_service echo_service = {
	.name = "echo",
	.id = 100,
	.version_major = 1,
	.version_minor = 0,
	.n_requests = 1,
	.requests = echo_requests,
	.ops = &echo_ops,
	.catalog = &echo_catalog,
};

#if defined(ECHO_MODULE_API)
__attribute__((visibility("default"))) extern const struct cv_service_module conclave_service_module;
const struct cv_service_module conclave_service_module = { ECHO_MODULE_API, &echo_service };
#elif !defined(ECHO_NO_MODULE)
CV_SERVICE_MODULE(echo_service);
#else
__attribute__((visibility("default"))) const struct cv_server_service *echo_not_a_module(void);
const struct cv_server_service *echo_not_a_module(void)
{
	return &echo_service;
}
#endif
