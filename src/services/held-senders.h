/* Senders whose pipelined message (CV_REQUEST_NOWAIT) waits for room, as
 * cpg and evs hold them: the daemon keeps the frame and stops reading the
 * sender, and the service retries the held frames, oldest sender first,
 * from a timer (never inside a handler) whenever room may have come. */
#ifndef CONCLAVE_HELD_SENDERS_H
#define CONCLAVE_HELD_SENDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <conclave/service.h>

struct held_senders {
	struct cv_session **sessions; /* oldest first */
	size_t n, capacity;
	struct cv_timer *timer;
};

/* 0, or -1 on exhaustion. */
int held_senders_start(struct held_senders *h);
void held_senders_stop(struct held_senders *h);
/* After a pipelined message's handler: CS_ERR_TRY_AGAIN holds the sender
 * (closing it, not leaving it stuck, when even the list cannot grow);
 * anything else releases it. */
void held_senders_note(struct held_senders *h, struct cv_session *s, cs_error_t handled);
/* The session is going. */
void held_senders_remove(struct held_senders *h, struct cv_session *s);
bool held_senders_any(const struct held_senders *h);
/* Room may have come: retries every held sender once, at the next turn of
 * the loop, or after `ms`. */
void held_senders_retry_soon(struct held_senders *h);
void held_senders_retry_in(struct held_senders *h, uint64_t ms);

#endif
