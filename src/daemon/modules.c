/* Service modules: shared objects in the service directory, each naming its
 * service with CV_SERVICE_MODULE(). A module that cannot be used is refused
 * with a log line naming its file, and the daemon serves the others. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv-daemon.h"
#include "cv-log.h"
#include "cv-module-scan.h"

static void **handles; /* of the modules loaded, closed at shutdown */
static size_t n_handles;

/* Why the service cannot join the ones offered, or NULL. */
static const char *clash(const struct cv_server_service *service)
{
	size_t n;
	const struct cv_server_service *const *offered = cv_server_services(&n);

	for (size_t i = 0; i < n; i++) {
		if (strcmp(offered[i]->name, service->name) == 0)
			return "a service of that name is offered already";
		if (offered[i]->id == service->id)
			return "another service has its number";
	}
	return NULL;
}

/* The module's service, or NULL after logging why not. */
static const struct cv_server_service *module_service(void *handle, const char *path)
{
	const struct cv_service_module *module = dlsym(handle, CV_SERVICE_MODULE_SYMBOL);
	const char *why;

	if (!module) {
		cv_log_error("service module %s not loaded: it defines no " CV_SERVICE_MODULE_SYMBOL, path);
		return NULL;
	}
	if (module->api_version != CV_SERVICE_API) {
		cv_log_error(
			"service module %s not loaded: it was built for service API %u, conclaved has %u",
			path, module->api_version, CV_SERVICE_API);
		return NULL;
	}
	if (!module->service || !module->service->name) {
		cv_log_error("service module %s not loaded: it names no service", path);
		return NULL;
	}
	why = clash(module->service);
	if (why) {
		cv_log_error("service module %s not loaded: service %s: %s", path, module->service->name,
			     why);
		return NULL;
	}
	return module->service;
}

static bool keep_handle(void *handle)
{
	void **grown = realloc(handles, (n_handles + 1) * sizeof(*handles));

	if (!grown)
		return false;
	handles = grown;
	handles[n_handles++] = handle;
	return true;
}

static void load_module(const char *path, const struct cv_conf *conf)
{
	char err[CV_CONF_ERROR_MAX + 256];
	const struct cv_server_service *service;
	void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!handle) {
		cv_log_error("service module %s not loaded: %s", path, dlerror());
		return;
	}
	service = module_service(handle, path);
	if (!service || !keep_handle(handle)) {
		dlclose(handle);
		return;
	}
	switch (cv_services_offer(service, conf, err, sizeof(err))) {
	case CV_SERVICE_OFFERED:
		cv_log_info("service %s loaded from %s", service->name, path);
		return;
	case CV_SERVICE_NOT_OFFERED:
		return;
	default:
		cv_log_error("service module %s not loaded: %s", path, err);
	}
}

void cv_modules_load(const char *dir, const struct cv_conf *conf)
{
	struct dirent **entries;
	int n = cv_service_modules_scan(dir, &entries);
	char path[4096];

	if (n < 0) {
		if (errno == ENOENT)
			cv_log_debug("no service directory %s: no service modules", dir);
		else
			cv_log_warning("cannot read the service directory %s: %m", dir);
		return;
	}
	for (int i = 0; i < n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, entries[i]->d_name) < sizeof(path))
			load_module(path, conf);
		free(entries[i]);
	}
	free(entries);
}

void cv_modules_unload(void)
{
	for (size_t i = n_handles; i-- > 0;)
		dlclose(handles[i]);
	free(handles);
	handles = NULL;
	n_handles = 0;
}
