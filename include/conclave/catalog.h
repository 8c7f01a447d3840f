/* What the generator says about each service's messages (S-catalog.c):
 * the name of every request, reply and event, with the protobuf descriptor
 * that names and types its fields. Tracing (CONCLAVE_DEBUG=1 in clients,
 * conclaved -d) and conclavectl's call and monitor read nothing else, so a
 * service added to the IDL gets them for free. */
#ifndef CONCLAVE_CV_CATALOG_H
#define CONCLAVE_CV_CATALOG_H

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

struct cv_catalog_request {
	const char *name;     /* "store_set"; NULL for an unused id */
	const char *function; /* the public function, "cmap_store_set" */
	const char *summary;  /* the IDL's first sentence about it */
	const ProtobufCMessageDescriptor *request;
	const ProtobufCMessageDescriptor *reply; /* NULL: one-way */
};

struct cv_catalog_event {
	const char *name; /* NULL for an unused id */
	const ProtobufCMessageDescriptor *message;
};

struct cv_catalog {
	const char *service;
	uint16_t version_major;
	uint16_t version_minor;
	uint16_t n_requests;
	const struct cv_catalog_request *requests; /* indexed by request id */
	uint16_t n_events;
	const struct cv_catalog_event *events; /* indexed by event id */
};

/* Every service's catalog, NULL-terminated (generated/catalogs.c). */
extern const struct cv_catalog *const cv_catalogs[];

#endif
