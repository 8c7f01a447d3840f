/* What a failed system call means to a caller of the API: the one mapping
 * of errno to cs_error_t, for the client runtime and conclaved. */
#ifndef CONCLAVE_CV_ERRNO_H
#define CONCLAVE_CV_ERRNO_H

#include <corosync/corotypes.h>

/* EMFILE, ENFILE: CS_ERR_NO_RESOURCES; ENOMEM, ENOBUFS: CS_ERR_NO_MEMORY;
 * EACCES, EPERM: CS_ERR_ACCESS; EAGAIN (a connect that found the daemon's
 * backlog full for its whole timeout): CS_ERR_TRY_AGAIN; anything else
 * (ENOENT, ECONNREFUSED: no daemon): CS_ERR_LIBRARY. */
cs_error_t cv_errno_to_cs(int err) __attribute__((visibility("hidden")));

#endif
