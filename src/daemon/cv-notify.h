/* The service manager's readiness protocol (systemd's sd_notify(3)), spoken
 * directly: one datagram of "KEY=VALUE" lines to the socket named by
 * $NOTIFY_SOCKET (a path, or an abstract name after '@'). Without that
 * variable every call does nothing. */
#ifndef CONCLAVE_CV_NOTIFY_H
#define CONCLAVE_CV_NOTIFY_H

/* Takes $NOTIFY_SOCKET and removes it from the environment, so that nothing
 * the daemon starts speaks for it. 0, or -EINVAL for a name that is neither
 * an absolute path nor '@' and a name, or too long. */
int cv_notify_init(void);
/* Sends state ("READY=1\nSTATUS=..."): 0 (also without a service manager),
 * or -errno. */
int cv_notify(const char *state);
/* RELOADING=1 with MONOTONIC_USEC=, as Type=notify-reload wants it. */
int cv_notify_reloading(void);

#endif
