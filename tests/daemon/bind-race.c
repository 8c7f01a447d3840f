/* LD_PRELOAD into conclaved: plays a user who can write the socket's
 * directory and, the moment the daemon's bind() returns, moves the new
 * socket aside and puts a symlink to $BIND_RACE_VICTIM in its place. A
 * daemon that then changes the socket's mode by its path changes the
 * victim's instead. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

__attribute__((visibility("default"))) int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int (*real_bind)(int, const struct sockaddr *, socklen_t) = (int (*)(
		int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
	const struct sockaddr_un *un = (const struct sockaddr_un *)addr;
	const char *victim = getenv("BIND_RACE_VICTIM");
	char moved[sizeof(un->sun_path) + 8];
	int r = real_bind(fd, addr, len);

	if (r == 0 && victim != NULL && addr->sa_family == AF_UNIX && un->sun_path[0] != '\0') {
		snprintf(moved, sizeof(moved), "%s.moved", un->sun_path);
		if (rename(un->sun_path, moved) == 0 && symlink(victim, un->sun_path) < 0)
			perror("bind-race: symlink");
	}
	return r;
}
