/* The catalogs of the services conclaved loads from its service directory
 * (conclave-service(7)), beside the built-in ones: conclavectl opens each
 * module as conclaved would find it, without running anything of it but
 * its constructors, and reads the catalog its service points to. Functions
 * of the daemon a module calls are bound lazily (RTLD_LAZY), so they need
 * not exist here; a module that cannot be opened is named on stderr. */
#include <dirent.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <conclave/config.h>
#include <conclave/service.h>
#include <conclave/settings.h>

#include "conclavectl-catalog.h"
#include "cv-module-scan.h"

#define MAX_CATALOGS 256

static const char *service_dir;                          /* --service-dir, or NULL: the configuration's */
static const char *config_path = CV_DEFAULT_CONFIG_PATH; /* --config */
static const struct cv_catalog *catalogs[MAX_CATALOGS + 1];
static bool catalogs_read;

bool conclavectl_service_dir_options(int *argc, char ***argv, char *why, size_t why_size)
{
	while (*argc > 0 &&
	       (strcmp((*argv)[0], "--service-dir") == 0 || strcmp((*argv)[0], "--config") == 0)) {
		if (*argc < 2) {
			snprintf(why, why_size, "%s needs a %s", (*argv)[0],
				 strcmp((*argv)[0], "--config") == 0 ? "file" : "directory");
			return false;
		}
		if (strcmp((*argv)[0], "--config") == 0)
			config_path = (*argv)[1];
		else
			service_dir = (*argv)[1];
		*argc -= 2;
		*argv += 2;
	}
	return true;
}

/* conclave { service_dir } of conclaved's configuration file, or the default
 * when the file says nothing or cannot be read; *conf (to free) holds the
 * text returned. */
static const char *configured_service_dir(struct cv_conf **conf)
{
	char err[CV_CONF_ERROR_MAX];
	const struct cv_conf_node *section;
	const char *dir;

	*conf = NULL;
	if (cv_conf_parse_file(config_path, conf, err, sizeof(err)) < 0)
		return CV_DEFAULT_SERVICE_DIR;
	section = cv_conf_child(&(*conf)->root, "conclave");
	dir = section ? cv_conf_value(section, "service_dir") : NULL;
	return dir ? dir : CV_DEFAULT_SERVICE_DIR;
}

static bool known(const struct cv_catalog *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(catalogs[i]->service, c->service) == 0)
			return true;
	return false;
}

/* The catalog of the module at path, or NULL (a module whose service has
 * none is not callable, and says nothing). The module stays open. */
static const struct cv_catalog *module_catalog(const char *path)
{
	void *handle = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
	const struct cv_service_module *module;

	if (!handle) {
		fprintf(stderr, "conclavectl: cannot read service module %s: %s\n", path, dlerror());
		return NULL;
	}
	module = dlsym(handle, CV_SERVICE_MODULE_SYMBOL);
	if (module && module->api_version == CV_SERVICE_API && module->service && module->service->catalog)
		return module->service->catalog;
	dlclose(handle);
	return NULL;
}

static size_t read_module_catalogs(const char *dir, size_t n)
{
	struct dirent **entries;
	int n_entries = cv_service_modules_scan(dir, &entries);
	char path[4096];

	for (int i = 0; i < n_entries; i++) {
		const struct cv_catalog *c = NULL;

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, entries[i]->d_name) < sizeof(path))
			c = module_catalog(path);
		if (c && n < MAX_CATALOGS && !known(c, n))
			catalogs[n++] = c;
		free(entries[i]);
	}
	if (n_entries >= 0)
		free(entries);
	return n;
}

const struct cv_catalog *const *conclavectl_catalogs(void)
{
	struct cv_conf *conf = NULL;
	size_t n = 0;

	if (catalogs_read)
		return catalogs;
	catalogs_read = true;
	for (; cv_catalogs[n]; n++)
		catalogs[n] = cv_catalogs[n];
	n = read_module_catalogs(service_dir ? service_dir : configured_service_dir(&conf), n);
	catalogs[n] = NULL;
	cv_conf_free(conf);
	return catalogs;
}
