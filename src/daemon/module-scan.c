#include <dirent.h>
#include <string.h>

#include "cv-module-scan.h"

static int is_module(const struct dirent *e)
{
	size_t len = strlen(e->d_name);

	return e->d_name[0] != '.' && len > 3 && strcmp(e->d_name + len - 3, ".so") == 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int cv_service_modules_scan(const char *dir, struct dirent ***entries)
{
	return scandir(dir, entries, is_module, by_name);
}
