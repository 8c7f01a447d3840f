/* Descriptors passed over a Unix socket (SCM_RIGHTS): the one way the
 * runtime and conclaved attach them to a message and take them from one
 * received (cv-wire.h: RING_OPEN's memfd, WELCOME's reply channel). */
#ifndef CONCLAVE_CV_FDS_H
#define CONCLAVE_CV_FDS_H

#include <stddef.h>
#include <sys/socket.h>

/* The most descriptors a message carries: one, and room to see that a
 * peer sent more. */
#define CV_FDS_MAX 4

/* Control space for CV_FDS_MAX descriptors, aligned for a cmsghdr. */
union cv_fds_control {
	struct cmsghdr align;
	char space[CMSG_SPACE(CV_FDS_MAX * sizeof(int))];
};

/* Attaches the n (at most CV_FDS_MAX) descriptors fds to msg, in control. */
void cv_fds_attach(struct msghdr *msg, union cv_fds_control *control, const int *fds, size_t n)
	__attribute__((visibility("hidden")));

/* Points msg at control, to receive descriptors. */
void cv_fds_expect(struct msghdr *msg, union cv_fds_control *control) __attribute__((visibility("hidden")));

/* Takes the descriptors msg brought: the first into *fd when *fd is -1,
 * closing every other. Returns how many came (one more when the kernel
 * cut the control data short). */
unsigned int cv_fds_take(struct msghdr *msg, int *fd) __attribute__((visibility("hidden")));

#endif
