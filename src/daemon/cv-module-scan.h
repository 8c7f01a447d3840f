/* Which files of a service directory are service modules, and in what order
 * conclaved loads them: shared by conclaved and conclavectl, which reads the
 * modules' catalogs. */
#ifndef CONCLAVE_CV_MODULE_SCAN_H
#define CONCLAVE_CV_MODULE_SCAN_H

#include <dirent.h>

/* dir's *.so files that are not hidden, sorted by name, as scandir(3) gives
 * them (free each entry, then the array): their count, or -1 with errno. */
int cv_service_modules_scan(const char *dir, struct dirent ***entries);

#endif
