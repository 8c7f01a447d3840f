/* Waiting on conditions with a bound (for failure detection, never for
 * synchronisation), and threads that run one runtime call in the background.
 */
#ifndef CONCLAVE_TEST_UTIL_H
#define CONCLAVE_TEST_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <conclave/client-runtime.h>

/* Generous bound on anything that should happen "at once". */
#define PROMPTLY_MS 2000

/* An absolute CLOCK_REALTIME time, for pthread_cond_timedwait. */
struct timespec deadline_after(int timeout_ms);
bool fd_readable(int fd, int timeout_ms);
/* Waits until thread `tid` sleeps in the kernel (state S). */
bool thread_wait_sleeping(pid_t tid, int timeout_ms);
/* Number of open descriptors of this process. */
int open_fd_count(void);

enum background_kind {
	BACKGROUND_DISPATCH, /* cv_client_dispatch(handle, flags) */
	BACKGROUND_ECHO,     /* test_echo(handle, value) */
	BACKGROUND_BLOB,     /* test_echo_blob(handle, value bytes) */
};

/* reply_value until a reply arrives */
#define BACKGROUND_NO_REPLY 0xffffffffu

struct background {
	enum background_kind kind;
	uint64_t handle;
	int flags;
	uint32_t value;
	uint32_t reply_value;
	cs_error_t result;
	pid_t tid;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool started;
	bool finished;
};

/* Starts the call on a new thread and returns once the thread runs. */
void background_start(struct background *b, enum background_kind kind, uint64_t handle, int flags,
		      uint32_t value);
/* True when the call returned within timeout_ms (and joins the thread). */
bool background_finish(struct background *b, int timeout_ms);
/* True while the call has not returned. */
bool background_running(struct background *b);

#endif
