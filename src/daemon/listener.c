#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cv-daemon.h"
#include "cv-log.h"
#include "cv-loop.h"

#define ACCEPTS_PER_WAKEUP 64
#define ACCEPT_PAUSE_MS 100 /* after EMFILE: let closes free descriptors */

static struct cv_watch listen_watch = { .fd = -1 };
static struct cv_timer accept_pause;
static const struct cv_settings *settings;
static bool (*ids_allowed)(uid_t uid, gid_t gid);
static int socket_dir_fd = -1; /* the socket's directory, checked (open_safe_dir) */
static char socket_name[sizeof(((struct sockaddr_un *)0)->sun_path)];

static bool id_listed(uint32_t id, const uint32_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == id)
			return true;
	return false;
}

static bool peer_allowed(const struct ucred *cred)
{
	if (cred->uid == 0)
		return true;
	if (ids_allowed)
		return ids_allowed(cred->uid, cred->gid);
	return id_listed(cred->uid, settings->uids, settings->n_uids) ||
	       id_listed(cred->gid, settings->gids, settings->n_gids);
}

void cv_listener_set_access_policy(bool (*allowed)(uid_t uid, gid_t gid))
{
	ids_allowed = allowed;
}

static cs_error_t admission(const struct ucred *cred)
{
	const struct cv_limits *lim = &settings->limits;

	if (!peer_allowed(cred)) {
		cv_log_notice(
			"refusing connection from pid %d (uid %u, gid %u): not in the uidgid allow-list",
			(int)cred->pid, (unsigned)cred->uid, (unsigned)cred->gid);
		return CS_ERR_ACCESS;
	}
	if (cv_sessions_admitted() >= lim->max_connections) {
		cv_log_warning("refusing connection from pid %d: max_connections (%u) reached",
			       (int)cred->pid, lim->max_connections);
		return CS_ERR_TRY_AGAIN;
	}
	if (cv_sessions_of_uid(cred->uid) >= lim->max_connections_per_uid) {
		cv_log_warning(
			"refusing connection from pid %d: max_connections_per_uid (%u) reached for uid %u",
			(int)cred->pid, lim->max_connections_per_uid, (unsigned)cred->uid);
		return CS_ERR_TRY_AGAIN;
	}
	return CS_OK;
}

static void admit(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	cs_error_t status;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		cv_log_warning("SO_PEERCRED failed, dropping the connection: %m");
		close(fd);
		return;
	}
	status = admission(&cred);
	if (status != CS_OK && cv_sessions_refusing() >= CV_MAX_PENDING_REFUSALS) {
		cv_log_warning("dropping connection from pid %d: too many refused connections pending",
			       (int)cred.pid);
		close(fd);
		return;
	}
	cv_session_create(fd, &cred, status);
}

static void resume_accepting(void *data)
{
	(void)data;
	if (cv_watch_set_events(&listen_watch, EPOLLIN) < 0)
		cv_log_error("cannot resume accepting: %m");
}

static void on_listen_ready(void *data, uint32_t events)
{
	(void)data;
	(void)events;
	for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		int fd = accept4(listen_watch.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			admit(fd);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			cv_log_warning("accept: %m; pausing for %d ms", ACCEPT_PAUSE_MS);
			cv_watch_set_events(&listen_watch, 0);
			cv_timer_start(&accept_pause, ACCEPT_PAUSE_MS);
		} else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
			cv_log_error("accept: %m");
		}
		return;
	}
}

static int make_parent_dirs(const char *path)
{
	char copy[PATH_MAX];
	char *dir;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (strcmp(dir, ".") == 0 || strcmp(dir, "/") == 0)
		return 0;
	if (mkdir(dir, 0755) == 0 || errno == EEXIST)
		return 0;
	if (errno == ENOENT && make_parent_dirs(dir) == 0 && (mkdir(dir, 0755) == 0 || errno == EEXIST))
		return 0;
	cv_log_error("cannot create directory %s: %m", dir);
	return -1;
}

/* A directory is safe to hold the socket when nobody but root and the
 * daemon's user can change what it holds: owned by one of them, and
 * writable by nobody else unless sticky (where others cannot rename or
 * remove what is not theirs). */
static bool dir_is_safe(const char *path, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		cv_log_error("cannot check directory %s: %m", path);
		return false;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		cv_log_error("refusing socket directory %s: owned by uid %u, neither root nor the daemon's",
			     path, (unsigned)st.st_uid);
		return false;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
		cv_log_error(
			"refusing socket directory %s: mode %04o lets other users write it and is not sticky",
			path, (unsigned)(st.st_mode & 07777));
		return false;
	}
	return true;
}

/* Opens dir and checks it and every directory above it, walking the
 * resolved path without following links, so what was checked is what the
 * descriptor holds. An O_PATH descriptor, or -1. */
static int open_safe_dir(const char *dir)
{
	char resolved[PATH_MAX], walked[PATH_MAX] = "";
	char *name, *rest;
	int fd;

	if (realpath(dir, resolved) == NULL) {
		cv_log_error("cannot resolve directory %s: %m", dir);
		return -1;
	}
	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !dir_is_safe("/", fd))
		goto fail;
	for (name = strtok_r(resolved, "/", &rest); name != NULL; name = strtok_r(NULL, "/", &rest)) {
		int next = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		close(fd);
		fd = next;
		snprintf(walked + strlen(walked), sizeof(walked) - strlen(walked), "/%s", name);
		if (fd < 0) {
			cv_log_error("cannot open directory %s: %m", walked);
			return -1;
		}
		if (!dir_is_safe(walked, fd))
			goto fail;
	}
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* In the socket's directory, the current one. A socket file left by a
 * daemon that died is removed; a live one, or one another user made, is
 * not. */
static int remove_stale_socket(int dir_fd, const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, r;

	if (fstatat(dir_fd, addr->sun_path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		cv_log_error("%s exists and is not a socket", addr->sun_path);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		cv_log_error("%s exists and belongs to uid %u, not the daemon's", addr->sun_path,
			     (unsigned)st.st_uid);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	r = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	close(fd);
	if (r == 0) {
		cv_log_error("another daemon is listening on %s", addr->sun_path);
		return -1;
	}
	return unlinkat(dir_fd, addr->sun_path, 0);
}

/* In the socket's directory, the current one. The socket is created with
 * its final mode, so no path is ever changed after bind(). */
static int bind_and_listen(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t umask_before;
	int bound;

	if (fd < 0)
		return -1;
	/* Anyone may connect: access is decided per peer with SO_PEERCRED. */
	umask_before = umask(0111);
	bound = bind(fd, (const struct sockaddr *)addr, sizeof(*addr));
	umask(umask_before);
	if (bound < 0) {
		cv_log_error("bind %s: %m", addr->sun_path);
		close(fd);
		return -1;
	}
	if (listen(fd, SOMAXCONN) < 0) {
		cv_log_error("listen %s: %m", addr->sun_path);
		close(fd);
		unlink(addr->sun_path);
		return -1;
	}
	return fd;
}

/* Binds the socket `name` in the directory dir_fd, which becomes the
 * current directory meanwhile: the path is never looked up again from the
 * top, so nothing can be swapped in between. */
static int bind_in_dir(int dir_fd, const char *name)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC), fd = -1;

	if (cwd < 0 || fchdir(dir_fd) < 0) {
		cv_log_error("cannot enter the socket's directory: %m");
		if (cwd >= 0)
			close(cwd);
		return -1;
	}
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", name);
	if (remove_stale_socket(dir_fd, &addr) == 0)
		fd = bind_and_listen(&addr);
	if (fchdir(cwd) < 0)
		cv_log_warning("cannot return to the working directory: %m");
	close(cwd);
	return fd;
}

static int open_socket(const char *path)
{
	char dir_copy[PATH_MAX], name_copy[PATH_MAX];
	const char *name;
	int fd;

	snprintf(dir_copy, sizeof(dir_copy), "%s", path);
	snprintf(name_copy, sizeof(name_copy), "%s", path);
	name = basename(name_copy);
	if (make_parent_dirs(path) < 0 || (socket_dir_fd = open_safe_dir(dirname(dir_copy))) < 0)
		return -1;
	fd = bind_in_dir(socket_dir_fd, name);
	if (fd < 0) {
		close(socket_dir_fd);
		socket_dir_fd = -1;
		return -1;
	}
	snprintf(socket_name, sizeof(socket_name), "%s", name);
	return fd;
}

int cv_listener_open(const char *path, const struct cv_settings *config)
{
	int fd;

	settings = config;
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		cv_log_error("socket path %s is longer than %zu bytes", path,
			     sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return -1;
	}
	fd = open_socket(path);
	if (fd < 0)
		return -1;
	cv_timer_init(&accept_pause, resume_accepting, NULL);
	if (cv_watch_add(&listen_watch, fd, EPOLLIN, on_listen_ready, NULL) < 0) {
		cv_log_error("epoll_ctl for the listening socket: %m");
		cv_listener_close();
		close(fd);
		return -1;
	}
	cv_log_info("listening on %s", path);
	return 0;
}

void cv_listener_close(void)
{
	int fd = listen_watch.fd;

	cv_timer_stop(&accept_pause);
	if (fd >= 0) {
		cv_watch_remove(&listen_watch);
		close(fd);
	}
	if (socket_dir_fd >= 0) {
		unlinkat(socket_dir_fd, socket_name, 0);
		close(socket_dir_fd);
		socket_dir_fd = -1;
	}
}
