/* conclavectl call: any request of any service, from the generator's
 * catalog, as busctl call does for D-Bus. */
#include <stdlib.h>
#include <string.h>

#include "conclavectl.h"
#include "conclavectl-catalog.h"
#include "cv-trace.h"

static void list_services(void)
{
	const struct cv_catalog *const *catalogs = conclavectl_catalogs();

	for (size_t i = 0; catalogs[i]; i++)
		printf("%s %u.%u: %u requests, %u events\n", catalogs[i]->service, catalogs[i]->version_major,
		       catalogs[i]->version_minor, catalogs[i]->n_requests, catalogs[i]->n_events);
}

static void list_requests(const struct cv_catalog *c)
{
	for (uint16_t i = 0; i < c->n_requests; i++) {
		const struct cv_catalog_request *r = &c->requests[i];

		if (!r->name)
			continue;
		printf("%s(", r->name);
		conclavectl_print_field_list(stdout, r->request);
		printf(")");
		if (r->reply) {
			printf(" -> (");
			conclavectl_print_field_list(stdout, r->reply);
			printf(")");
		} else {
			printf(" one-way");
		}
		printf("\n\t%s\n", r->summary);
	}
}

static int print_reply(cs_error_t status, const ProtobufCMessage *reply)
{
	struct cv_trace_line l = { .used = 0 };

	cv_trace_status(&l, status);
	printf("status=%s\n", l.text);
	if (reply && status == CS_OK)
		conclavectl_print_fields(stdout, reply);
	return status == CS_OK ? CONCLAVECTL_EXIT_OK : CONCLAVECTL_EXIT_FAILED;
}

static int send_request(const struct cv_catalog *c, uint16_t id, const ProtobufCMessage *request)
{
	const struct cv_catalog_request *r = &c->requests[id];
	struct cv_client_service *svc = conclavectl_service_new(c);
	ProtobufCMessage *reply = NULL;
	uint64_t handle;
	cs_error_t err;
	int status;

	if (!svc)
		return CONCLAVECTL_EXIT_FAILED;
	err = cv_client_initialize(svc, &handle, NULL, NULL);
	if (err != CS_OK) {
		conclavectl_service_free(svc);
		return conclavectl_cannot_connect(c->service, err);
	}
	if (r->reply)
		err = cv_client_call(svc, handle, id, request, r->reply, &reply);
	else
		err = cv_client_post(svc, handle, id, request);
	status = print_reply(err, reply);
	if (reply)
		protobuf_c_message_free_unpacked(reply, NULL);
	cv_client_finalize(svc, handle);
	conclavectl_service_free(svc);
	return status;
}

static int run_call(int argc, char **argv)
{
	const struct cv_catalog *c;
	const struct cv_catalog_request *r;
	ProtobufCMessage *request;
	char why[256];
	uint16_t id;
	int status;

	if (conclavectl_help_asked(&conclavectl_call_command, argc, argv))
		return CONCLAVECTL_EXIT_OK;
	if (!conclavectl_service_dir_options(&argc, &argv, why, sizeof(why)))
		return conclavectl_usage_error(&conclavectl_call_command, why);
	if (argc == 0) {
		list_services();
		return CONCLAVECTL_EXIT_OK;
	}
	c = conclavectl_find_catalog(argv[0]);
	if (!c) {
		snprintf(why, sizeof(why), "no service %s (conclavectl call lists them)", argv[0]);
		return conclavectl_usage_error(&conclavectl_call_command, why);
	}
	if (argc == 1) {
		list_requests(c);
		return CONCLAVECTL_EXIT_OK;
	}
	r = conclavectl_find_request(c, argv[1], &id);
	if (!r) {
		snprintf(why, sizeof(why), "%s has no request %s (conclavectl call %s lists them)",
			 c->service, argv[1], c->service);
		return conclavectl_usage_error(&conclavectl_call_command, why);
	}
	request = conclavectl_build_message(r->request, argc - 2, argv + 2, why, sizeof(why));
	if (!request)
		return conclavectl_usage_error(&conclavectl_call_command, why);
	status = send_request(c, id, request);
	protobuf_c_message_free_unpacked(request, NULL);
	return status;
}

const struct conclavectl_command conclavectl_call_command = {
	.name = "call",
	.usage =
		"usage: conclavectl call [--service-dir DIR | --config FILE] [SERVICE [REQUEST [FIELD=VALUE ...]]]\n",
	.usage_status = CONCLAVECTL_EXIT_USAGE,
	.run = run_call,
};
