#include <string.h>
#include <unistd.h>

#include "cv-fds.h"

void cv_fds_attach(struct msghdr *msg, union cv_fds_control *control, const int *fds, size_t n)
{
	struct cmsghdr *c;

	if (n == 0)
		return;
	memset(control, 0, sizeof(*control));
	msg->msg_control = control->space;
	msg->msg_controllen = CMSG_SPACE(n * sizeof(int));
	c = CMSG_FIRSTHDR(msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
}

void cv_fds_expect(struct msghdr *msg, union cv_fds_control *control)
{
	msg->msg_control = control->space;
	msg->msg_controllen = sizeof(control->space);
}

unsigned int cv_fds_take(struct msghdr *msg, int *fd)
{
	unsigned int n = (msg->msg_flags & MSG_CTRUNC) != 0;
	int passed;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++, n++) {
			memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof(passed));
			if (*fd == -1)
				*fd = passed;
			else
				close(passed);
		}
	}
	return n;
}
