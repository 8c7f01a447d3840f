/* conclavectl's use of the generator's catalogs (<conclave/catalog.h>): finding a
 * service and a request by name, building a request from FIELD=VALUE
 * arguments, printing a message by field name, and a runtime descriptor
 * to connect to any service with. */
#ifndef CONCLAVE_CONCLAVECTL_CATALOG_H
#define CONCLAVE_CONCLAVECTL_CATALOG_H

#include <stdbool.h>
#include <stdio.h>

#include <conclave/catalog.h>
#include <conclave/client-runtime.h>

/* The built-in services' catalogs, then those of the service modules in the
 * service directory (conclavectl-modules.c), NULL-terminated. */
const struct cv_catalog *const *conclavectl_catalogs(void);
/* Takes the leading "--service-dir DIR" and "--config FILE" off the
 * arguments: the directory whose modules conclavectl_catalogs() reads, by
 * default conclaved's (conclave { service_dir } of FILE, by default
 * conclaved's configuration file, or the default directory). False with why. */
bool conclavectl_service_dir_options(int *argc, char ***argv, char *why, size_t why_size);
const struct cv_catalog *conclavectl_find_catalog(const char *service);
/* "store_get" or "cmap_store_get"; the id in *id. */
const struct cv_catalog_request *conclavectl_find_request(const struct cv_catalog *c, const char *name,
							  uint16_t *id);
/* The fields of desc as "name: type, ...". */
void conclavectl_print_field_list(FILE *out, const ProtobufCMessageDescriptor *desc);
/* A new message of desc with each "FIELD=VALUE" set (numbers, strings, and
 * bytes with conclavectl's escapes "\\" and "\xHH"); NULL with why. */
ProtobufCMessage *conclavectl_build_message(const ProtobufCMessageDescriptor *desc, int argc, char **argv,
					    char *why, size_t why_size);
/* One "FIELD=VALUE" line per field, nested messages in braces. */
void conclavectl_print_fields(FILE *out, const ProtobufCMessage *m);

/* A client service descriptor for catalog c (events are printed on stdout
 * by field name when a callback is set); free with conclavectl_service_free. */
struct cv_client_service *conclavectl_service_new(const struct cv_catalog *c);
void conclavectl_service_free(struct cv_client_service *svc);

#endif
