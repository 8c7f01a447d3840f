/* Checks that the corosync libraries and daemon are corosync's; see cv-corosync-link.h. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <corosync/corotypes.h>
#include <corosync/cfg.h>
#include <corosync/cmap.h>
#include <corosync/cpg.h>
#include <corosync/votequorum.h>

#include "cv-corosync-link.h"

/* 0 when the object providing symbol is the file libdir/soname. */
static int check_origin(void *symbol, const char *name, const char *soname, char *why, size_t size)
{
	char expected[PATH_MAX];
	struct stat want, have;
	Dl_info info;

	snprintf(expected, sizeof(expected), "%s/%s", CV_COROSYNC_LIBDIR, soname);
	if (dladdr(symbol, &info) == 0 || info.dli_fname == NULL) {
		snprintf(why, size, "cannot tell which library provides %s", name);
		return -1;
	}
	if (stat(expected, &want) != 0) {
		snprintf(why, size, "corosync's %s is not installed (%s: %s)", soname, expected,
			 strerror(errno));
		return -1;
	}
	if (stat(info.dli_fname, &have) != 0 || have.st_dev != want.st_dev || have.st_ino != want.st_ino) {
		snprintf(
			why, size,
			"%s comes from %s, not from corosync's %s: another %s (Conclave's?) was loaded in its "
			"place, through LD_PRELOAD or a copy in %s",
			name, info.dli_fname, expected, soname, CV_COROSYNC_LIBDIR);
		return -1;
	}
	return 0;
}

int cv_link_check_libraries(char *why, size_t size)
{
	if (check_origin((void *)cpg_initialize, "cpg_initialize", "libcpg.so.4", why, size) != 0)
		return -1;
	return check_origin((void *)cs_strerror, "cs_strerror", "libcorosync_common.so.4", why, size);
}

int cv_link_check_votequorum(char *why, size_t size)
{
	return check_origin((void *)votequorum_initialize, "votequorum_initialize", "libvotequorum.so.8", why,
			    size);
}

int cv_link_check_cmap(char *why, size_t size)
{
	return check_origin((void *)cmap_initialize, "cmap_initialize", "libcmap.so.4", why, size);
}

int cv_link_check_cfg(char *why, size_t size)
{
	return check_origin((void *)corosync_cfg_initialize, "corosync_cfg_initialize", "libcfg.so.7", why,
			    size);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The executable of pid, or failing that its comm, into name. */
static void program_of(pid_t pid, char *name, size_t size)
{
	char link[64], path[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, path, sizeof(path) - 1);
	if (n > 0) {
		path[n] = '\0';
		/* a replaced binary reads "/usr/sbin/corosync (deleted)" */
		char *deleted = strstr(path, " (deleted)");
		if (deleted)
			*deleted = '\0';
		snprintf(name, size, "%s", path);
		return;
	}
	snprintf(link, sizeof(link), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(link, "r");
	if (f == NULL || fgets(name, (int)size, f) == NULL)
		snprintf(name, size, "?");
	else
		name[strcspn(name, "\n")] = '\0';
	if (f)
		fclose(f);
}

enum cv_link_peer cv_link_identify_peer(int fd, char *what, size_t size)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char program[PATH_MAX];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		snprintf(what, size, "fd %d: SO_PEERCRED: %s", fd, strerror(errno));
		return CV_PEER_ERROR;
	}
	if (cred.pid == 0) {
		snprintf(what, size, "a process of another pid namespace (uid %u)", (unsigned)cred.uid);
		return CV_PEER_UNKNOWN;
	}
	program_of(cred.pid, program, sizeof(program));
	snprintf(what, size, "pid %d (%s, uid %u)", (int)cred.pid, program, (unsigned)cred.uid);
	if (cred.pid == getpid())
		return CV_PEER_SELF;
	if (strcmp(base_name(program), "corosync") == 0)
		return CV_PEER_COROSYNC;
	if (strcmp(base_name(program), "conclaved") == 0)
		return CV_PEER_CONCLAVED;
	return CV_PEER_OTHER;
}
