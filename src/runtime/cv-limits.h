/* Internal limits of the client runtime, and the few knobs unit tests turn.
 * Nothing here is part of the contract with generated code.
 */
#ifndef CONCLAVE_CV_LIMITS_H
#define CONCLAVE_CV_LIMITS_H

#include <conclave/client-runtime.h>

/* Live handles per table. Each client handle holds three descriptors, so the
 * process runs out of fds long before this. */
#define CV_HANDLE_TABLE_MAX_ENTRIES (1u << 16)

/* Initial size of a connection's receive buffer, with room for a 64 KiB
 * message and its framing; a larger frame grows it to the frame's size. */
#define CV_RX_DEFAULT_SIZE (68u * 1024u)

/* A receive buffer of up to this size is kept once its frame is gone, for
 * the next large frame: giving it back to malloc would have the pages
 * returned to the kernel and faulted in again for each large message. A
 * larger one shrinks back to CV_RX_DEFAULT_SIZE. */
#define CV_RX_KEEP_MAX (2u * 1024u * 1024u)

/* An event at least this large takes the receive buffer it arrived in
 * instead of a copy (cv_rx_adopt). */
#define CV_RX_ADOPT_MIN (16u * 1024u)

/* How long initialize waits for room in the daemon's listen backlog, and
 * then for its WELCOME, before giving up with CS_ERR_TRY_AGAIN: a stuck
 * daemon must not hang us. */
#define CV_HANDSHAKE_TIMEOUT_MS 10000

/* The shared ring a connection offers the daemon with its first pipelined
 * request: room for a few thousand small frames, about what the socket's
 * buffer would hold. */
#define CV_CLIENT_RING_CAPACITY (256u * 1024u)

/* How long a dispatch waits at most for the daemon to handle what the
 * handle posted (cv_client_settle_posts): a daemon that is stopped, or
 * busy for longer, must not hold the program's dispatch up. */
#define CV_SETTLE_WAIT_MS 1000

/* How long a call waits for its reply before it returns CS_ERR_TIMEOUT,
 * unless $CONCLAVE_CALL_TIMEOUT_MS says otherwise (0: for ever): a daemon
 * that is alive but stopped must not hang an HA program. */
#define CV_CALL_TIMEOUT_MS 60000
#define CV_CALL_TIMEOUT_ENV "CONCLAVE_CALL_TIMEOUT_MS"

/* $CONCLAVE_CALL_TIMEOUT_MS in milliseconds (0: none), or the default
 * when unset or not a number; read as each handle is initialized. */
CV_HIDDEN int64_t cv_call_timeout_from_env(void);

/* Overrides CV_HANDSHAKE_TIMEOUT_MS (tests); a negative value restores it. */
CV_HIDDEN void cv_runtime_set_handshake_timeout(int timeout_ms);
CV_HIDDEN int cv_runtime_handshake_timeout(void);

#endif
