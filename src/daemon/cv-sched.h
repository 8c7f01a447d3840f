/* The daemon's scheduling, set once at start from system {} as corosync
 * 3.1.7 sets its own: SCHED_RR at the highest priority unless sched_rr is
 * no, falling back to the highest nice priority when that is refused, and
 * system.priority as a nice value with sched_rr: no. A refusal (not root, a
 * service manager that withholds CAP_SYS_NICE) is a warning: the daemon
 * runs on as it was started. The daemon's loop never polls for longer than
 * cv-spin.h's budget, so realtime priority cannot take a core from the rest
 * of the machine. */
#ifndef CONCLAVE_CV_SCHED_H
#define CONCLAVE_CV_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include <conclave/settings.h>

/* Before any thread starts: the threads started later inherit it. */
void cv_sched_apply(const struct cv_sched_settings *s);

/* Where the loop runs, when it runs in a realtime class. The kernel places
 * a realtime task without regard to who wakes it: woken, it runs on the CPU
 * it last ran on. A client that calls now and then from another CPU then
 * pays, on both sides, for waking an idle CPU at every call (on a virtual
 * machine tens of microseconds of CPU each, three times the round trip),
 * where on one CPU the loop preempts its caller and neither wakes an idle
 * CPU. But a client that keeps the loop busy (a stream, calls back to back)
 * gains from a CPU of its own beside the loop's, which the spinning of
 * cv-spin.h then keeps awake. So, as the kernel's wake-affine placement does
 * for a task of the normal class:
 *  - wakes from a long sleep (longer than cv-spin.h would poll) by a
 *    request of a client on one other CPU that then sleeps until the answer
 *    (a reply, an event: its own message back) move the loop there;
 *  - wakes from a short sleep by that client, on the loop's CPU now, move
 *    it to another: the client has started to stream.
 *
 * Told, at the end of a batch, that a client woke the loop from CPU
 * waker_cpu - 1 (0: it did not say), and whether it `waits`: sleeps until
 * the answer the batch sent it. The move is made then, the answer gone
 * out: the client is awake on its CPU when the loop gets there, and is
 * preempted there from then on instead of sleeping until the loop is done
 * (a task of the normal class woken from sleep goes to an idle CPU, away
 * from the loop). */
void cv_sched_woken_by(uint32_t waker_cpu, bool waits);

#endif
