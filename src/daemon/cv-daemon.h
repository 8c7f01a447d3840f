/* Internals shared by the daemon's own modules (not for service code). */
#ifndef CONCLAVE_CV_DAEMON_H
#define CONCLAVE_CV_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <conclave/service.h>
#include <conclave/settings.h>

#include "cv-loop.h"

/* Refused connections waiting for their HELLO, beyond which new ones are
 * dropped at once without a WELCOME. */
#define CV_MAX_PENDING_REFUSALS 256u

void cv_sessions_init(const struct cv_settings *settings);

/* The services built into conclaved (generated/services.c), in the order of
 * their numbers, NULL-terminated. */
extern const struct cv_server_service *const cv_builtin_services[];

/* Offers a service to clients: 0, or -1 (out of memory, or a service of
 * that name is offered already). Before the first client. */
int cv_server_add_service(const struct cv_server_service *service);
/* The services offered, in the order they were added. */
const struct cv_server_service *const *cv_server_services(size_t *n);
void cv_server_remove_services(void);

/* Offers each built-in service its settings read from conf (NULL: none) turn
 * on: 0, or -1 with "FILE:LINE: error: message" in err. */
int cv_services_configure(const struct cv_conf *conf, char *err, size_t err_size);
/* One service: CV_SERVICE_OFFERED, CV_SERVICE_NOT_OFFERED, or -1 with the
 * error in err. */
int cv_services_offer(const struct cv_server_service *service, const struct cv_conf *conf, char *err,
		      size_t err_size);

/* Each service that read its settings (cv_services_offer), offered or not,
 * checks the file a reload would load: 0, or -1 with the error in err. */
int cv_services_check_reload(const struct cv_conf *next, char *err, size_t err_size);
void cv_services_forget(void); /* at shutdown */

/* Loads the service modules of dir (modules.c) and offers their services;
 * a module that cannot be used is logged and left out. */
void cv_modules_load(const char *dir, const struct cv_conf *conf);
void cv_modules_unload(void); /* after the services stopped */
int cv_services_start(void);  /* 0, or -1 (logged) when a service cannot start */
void cv_services_stop(void);
/* Takes ownership of fd. refusal: CS_OK to admit, or the WELCOME status
 * answering the client's HELLO before the connection is closed. */
void cv_session_create(int fd, const struct ucred *cred, cs_error_t refusal);
void cv_sessions_close_all(void);
void cv_sessions_reap(void); /* writes output queued in the batch, closes sessions marked for closing */
/* Then, whether a client woke the loop in the batch through its ring (the
 * last one, if several did): the CPU it says it woke it from, plus one (0:
 * it did not say), and whether it sleeps until what the batch sent it: a
 * reply, or an event (a program that sends a message and dispatches until
 * it comes back). */
bool cv_sessions_take_wake(uint32_t *cpu, bool *waits);
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
