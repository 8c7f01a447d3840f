/* Internals shared by the daemon's own modules (not for service code). */
#ifndef CONCLAVE_CV_DAEMON_H
#define CONCLAVE_CV_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "cv-loop.h"
#include "cv-server.h"
#include "cv-settings.h"

/* Refused connections waiting for their HELLO, beyond which new ones are
 * dropped at once without a WELCOME. */
#define CV_MAX_PENDING_REFUSALS 256u

void cv_sessions_init(const struct cv_settings *settings, const struct cv_server_service *const *services,
		      size_t n_services);
/* Takes ownership of fd. refusal: CS_OK to admit, or the WELCOME status
 * answering the client's HELLO before the connection is closed. */
void cv_session_create(int fd, const struct ucred *cred, cs_error_t refusal);
void cv_sessions_close_all(void);
void cv_sessions_reap(void); /* writes output queued in the batch, closes sessions marked for closing */
/* Reads what no descriptor announces: clients' shared rings, and what
 * departed clients sent (cv_loop_set_poller). */
extern const struct cv_loop_poller cv_sessions_poller;

size_t cv_sessions_admitted(void);
size_t cv_sessions_refusing(void);
size_t cv_sessions_of_uid(uid_t uid);

int cv_listener_open(const char *path, const struct cv_settings *settings);
/* Who besides root may connect; without a policy, the uidgid settings. */
void cv_listener_set_access_policy(bool (*allowed)(uid_t uid, gid_t gid));
void cv_listener_close(void);

#endif
