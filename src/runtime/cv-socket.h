/* Socket-level pieces of a client connection: connecting to conclaved, the
 * HELLO/WELCOME handshake, and EINTR-proof send and receive primitives. None
 * of this knows about handles or threads.
 */
#ifndef CONCLAVE_CV_SOCKET_H
#define CONCLAVE_CV_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <conclave/client-runtime.h>
#include "cv-wire.h"

/* Connects a SOCK_STREAM | SOCK_CLOEXEC socket to $CONCLAVE_SOCKET, else
 * CV_DEFAULT_SOCKET_PATH. CS_ERR_LIBRARY when nobody listens there,
 * CS_ERR_TRY_AGAIN when the daemon's backlog stays full for timeout_ms. */
CV_HIDDEN cs_error_t cv_socket_connect(int *sock, int timeout_ms);

/* Sends HELLO for `svc` and waits up to timeout_ms for the WELCOME, which
 * is in *welcome on CS_OK, with the reply channel it carries in *reply_fd
 * (cv-wire.h). Reads exactly the WELCOME frame, so events that follow it
 * stay in the socket. */
CV_HIDDEN cs_error_t cv_socket_handshake(int sock, const struct cv_client_service *svc, int timeout_ms,
					 struct cv_welcome *welcome, int *reply_fd);

/* One non-blocking send of the iovcnt buffers of iov without SIGPIPE.
 * Returns the bytes sent, 0 when the socket buffer is full, or -errno. */
struct iovec;
CV_HIDDEN ssize_t cv_socket_send_some(int sock, const struct iovec *iov, size_t iovcnt);
/* As cv_socket_send_some for one buffer, with fd attached to its first
 * byte sent. */
CV_HIDDEN ssize_t cv_socket_send_fd(int sock, const void *buf, size_t len, int fd);

/* One non-blocking receive. Returns the bytes read, 0 at end of stream,
 * -EAGAIN when nothing is there, or another -errno. */
CV_HIDDEN ssize_t cv_socket_recv_some(int sock, void *buf, size_t len);

/* poll() that retries on EINTR, recomputing what is left of timeout_ms
 * (negative: forever). Returns poll's result or -errno. */
struct pollfd;
CV_HIDDEN int cv_poll(struct pollfd *fds, unsigned int nfds, int timeout_ms);

#endif
