#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cv-notify.h"

static struct sockaddr_un manager;
static socklen_t manager_length; /* 0: no service manager */

int cv_notify_init(void)
{
	const char *name = getenv("NOTIFY_SOCKET");
	size_t length;

	manager_length = 0;
	if (!name || !name[0])
		return 0;
	length = strlen(name);
	if ((name[0] != '/' && name[0] != '@') || length < 2 || length >= sizeof(manager.sun_path)) {
		unsetenv("NOTIFY_SOCKET");
		return -EINVAL;
	}
	memset(&manager, 0, sizeof(manager));
	manager.sun_family = AF_UNIX;
	memcpy(manager.sun_path, name, length);
	if (name[0] == '@')
		manager.sun_path[0] = '\0'; /* abstract: the length counts, not a NUL */
	manager_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length + (name[0] == '/'));
	unsetenv("NOTIFY_SOCKET");
	return 0;
}

int cv_notify(const char *state)
{
	int fd;
	ssize_t sent;
	int err = 0;

	if (manager_length == 0)
		return 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&manager,
		      manager_length);
	if (sent < 0)
		err = -errno;
	else if ((size_t)sent != strlen(state))
		err = -EMSGSIZE;
	close(fd);
	return err;
}

int cv_notify_reloading(void)
{
	struct timespec now;
	char state[64];

	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)now.tv_sec * 1000000ull + (unsigned long long)now.tv_nsec / 1000u);
	return cv_notify(state);
}
