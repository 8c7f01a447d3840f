/* libsam.so.4: corosync's service availability manager, built as corosync's
 * is, on the public cmap and quorum APIs. sam_register() forks: the calling
 * process becomes the supervisor (supervise() below, which never returns to
 * the application), and the child goes on as the application, talking to its
 * supervisor over a socket pair: one command byte, then the command's
 * arguments, and for some commands a reply (a status byte, then a cs_error_t
 * when it is an error). A socket rather than corosync's pipes lets both sides
 * write with MSG_NOSIGNAL, so a supervisor whose application died is not
 * killed by SIGPIPE while it answers. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <corosync/cmap.h>
#include <corosync/quorum.h>

#include "sam-client.h"

#define SAM_POLICY_FLAGS (SAM_RECOVERY_POLICY_QUORUM | SAM_RECOVERY_POLICY_CMAP)

/* The cmap states of corosync's lib/sam.c. */
#define SAM_STATE_FAILED "failed"
#define SAM_STATE_STOPPED "stopped"
#define SAM_STATE_RUNNING "running"
#define SAM_STATE_WAITING "waiting for quorum"

enum sam_status { SAM_NOT_INITIALIZED, SAM_INITIALIZED, SAM_REGISTERED, SAM_STARTED, SAM_FINALIZED };

enum sam_command {
	SAM_COMMAND_START,
	SAM_COMMAND_STOP,
	SAM_COMMAND_HC,
	SAM_COMMAND_DATA_STORE,
	SAM_COMMAND_WARN_SIGNAL_SET,
	SAM_COMMAND_MARK_FAILED,
};

enum sam_reply { SAM_REPLY_OK, SAM_REPLY_ERROR };

/* What the supervisor does once an instance is over. */
enum sam_action { SAM_CONTINUE, SAM_RECOVER, SAM_QUIT, SAM_ERROR };

static struct {
	enum sam_status status;
	int time_interval;
	sam_recovery_policy_t policy;
	int warn_signal;
	unsigned int instance_id;
	bool is_child;
	int channel; /* the child's end of the socket pair */

	void *data;
	size_t data_size;

	quorum_handle_t quorum;
	int quorum_fd;
	uint32_t quorate;

	cmap_handle_t cmap;
	char cmap_prefix[CMAP_KEYNAME_MAXLEN];

	sam_hc_callback_t hc_callback;
	bool hc_thread_running;
	int hc_pipe[2];
} sam;

static pthread_mutex_t sam_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- the channel ------------------------------------------------------- */

static bool send_all(int fd, const void *buf, size_t size)
{
	const char *p = buf;
	while (size > 0) {
		ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return false;
		p += n;
		size -= (size_t)n;
	}
	return true;
}

/* Returns the bytes read: size, or less at end of file, or -1. */
static ssize_t recv_all(int fd, void *buf, size_t size)
{
	char *p = buf;
	size_t done = 0;
	while (done < size) {
		ssize_t n = recv(fd, p + done, size - done, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static bool recv_exact(int fd, void *buf, size_t size)
{
	return recv_all(fd, buf, size) == (ssize_t)size;
}

static cs_error_t child_send(enum sam_command command, const void *args, size_t size)
{
	char byte = (char)command;
	if (!send_all(sam.channel, &byte, 1) || (size > 0 && !send_all(sam.channel, args, size)))
		return CS_ERR_LIBRARY;
	return CS_OK;
}

static cs_error_t child_read_reply(void)
{
	char reply;
	cs_error_t error;
	if (!recv_exact(sam.channel, &reply, 1))
		return CS_ERR_LIBRARY;
	if (reply == SAM_REPLY_OK)
		return CS_OK;
	if (reply != SAM_REPLY_ERROR || !recv_exact(sam.channel, &error, sizeof(error)))
		return CS_ERR_LIBRARY;
	return error;
}

static void supervisor_reply(int fd, cs_error_t error)
{
	char reply = error == CS_OK ? SAM_REPLY_OK : SAM_REPLY_ERROR;
	if (send_all(fd, &reply, 1) && error != CS_OK)
		send_all(fd, &error, sizeof(error));
}

/* ---- state shared by both sides ---------------------------------------- */

static bool status_is_active(void)
{
	return sam.status == SAM_INITIALIZED || sam.status == SAM_REGISTERED || sam.status == SAM_STARTED;
}

static sam_recovery_policy_t base_policy(sam_recovery_policy_t policy)
{
	return policy & ~SAM_POLICY_FLAGS;
}

static bool policy_has(sam_recovery_policy_t flag)
{
	return (sam.policy & flag) != 0;
}

static cs_error_t data_replace(const void *data, size_t size)
{
	void *copy = NULL;
	if (data != NULL && size > 0) {
		copy = malloc(size);
		if (copy == NULL)
			return CS_ERR_NO_MEMORY;
		memcpy(copy, data, size);
	}
	free(sam.data);
	sam.data = copy;
	sam.data_size = copy != NULL ? size : 0;
	return CS_OK;
}

/* ---- cmap ---------------------------------------------------------------- */

static cs_error_t cmap_key(const char *name, char key[CMAP_KEYNAME_MAXLEN])
{
	int n = snprintf(key, CMAP_KEYNAME_MAXLEN, "%s%s", sam.cmap_prefix, name);
	return n < 0 || n >= CMAP_KEYNAME_MAXLEN ? CS_ERR_NAME_TOO_LONG : CS_OK;
}

static cs_error_t cmap_put_string(const char *name, const char *value)
{
	char key[CMAP_KEYNAME_MAXLEN];
	cs_error_t error = cmap_key(name, key);
	return error == CS_OK ? cmap_set_string(sam.cmap, key, value) : error;
}

static cs_error_t cmap_put_uint64(const char *name, uint64_t value)
{
	char key[CMAP_KEYNAME_MAXLEN];
	cs_error_t error = cmap_key(name, key);
	return error == CS_OK ? cmap_set_uint64(sam.cmap, key, value) : error;
}

static cs_error_t cmap_put_state(const char *state)
{
	return cmap_put_string("state", state);
}

static void cmap_delete_keys(void)
{
	cmap_iter_handle_t iter;
	char key[CMAP_KEYNAME_MAXLEN + 1];
	if (cmap_iter_init(sam.cmap, sam.cmap_prefix, &iter) != CS_OK)
		return;
	while (cmap_iter_next(sam.cmap, iter, key, NULL, NULL) == CS_OK)
		cmap_delete(sam.cmap, key);
	cmap_iter_finalize(sam.cmap, iter);
}

static cs_error_t cmap_register(void)
{
	const char *recovery = base_policy(sam.policy) == SAM_RECOVERY_POLICY_QUIT ? "quit" : "restart";
	cs_error_t error = cmap_initialize(&sam.cmap);
	if (error != CS_OK)
		return error;
	snprintf(sam.cmap_prefix, sizeof(sam.cmap_prefix), "resources.process.%d.", (int)getpid());
	error = cmap_put_string("recovery", recovery);
	if (error == CS_OK)
		error = cmap_put_uint64("poll_period", (uint64_t)sam.time_interval);
	if (error != CS_OK) {
		cmap_delete_keys();
		cmap_finalize(sam.cmap);
	}
	return error;
}

/* ---- quorum -------------------------------------------------------------- */

static void quorum_notified(quorum_handle_t handle, uint32_t quorate, uint64_t ring_seq,
			    uint32_t view_list_entries, uint32_t *view_list)
{
	sam.quorate = quorate;
}

/* Connects, tracks changes and reads the current state, as corosync's does. */
static cs_error_t quorum_connect(void)
{
	quorum_callbacks_t callbacks = { .quorum_notify_fn = quorum_notified };
	uint32_t quorum_type;
	cs_error_t error = quorum_initialize(&sam.quorum, &callbacks, &quorum_type);
	if (error != CS_OK)
		return error;
	error = quorum_trackstart(sam.quorum, CS_TRACK_CHANGES);
	if (error == CS_OK)
		error = quorum_fd_get(sam.quorum, &sam.quorum_fd);
	if (error == CS_OK)
		error = quorum_dispatch(sam.quorum, CS_DISPATCH_ONE);
	if (error != CS_OK)
		quorum_finalize(sam.quorum);
	return error;
}

/* ---- public calls before and outside sam_register ------------------------ */

cs_error_t sam_initialize(int time_interval, sam_recovery_policy_t recovery_policy)
{
	sam_recovery_policy_t base = base_policy(recovery_policy);
	cs_error_t error = CS_OK;

	pthread_mutex_lock(&sam_lock);
	if (sam.status != SAM_NOT_INITIALIZED)
		error = CS_ERR_BAD_HANDLE;
	else if (base != SAM_RECOVERY_POLICY_QUIT && base != SAM_RECOVERY_POLICY_RESTART)
		error = CS_ERR_INVALID_PARAM;
	else if (recovery_policy & SAM_RECOVERY_POLICY_QUORUM)
		error = quorum_connect();
	if (error == CS_OK) {
		sam.policy = recovery_policy;
		sam.time_interval = time_interval;
		sam.warn_signal = SIGTERM;
		sam.status = SAM_INITIALIZED;
	}
	pthread_mutex_unlock(&sam_lock);
	return error;
}

cs_error_t sam_data_getsize(size_t *size)
{
	cs_error_t error = CS_OK;
	if (size == NULL)
		return CS_ERR_INVALID_PARAM;
	pthread_mutex_lock(&sam_lock);
	if (status_is_active())
		*size = sam.data_size;
	else
		error = CS_ERR_BAD_HANDLE;
	pthread_mutex_unlock(&sam_lock);
	return error;
}

cs_error_t sam_data_restore(void *data, size_t size)
{
	cs_error_t error = CS_OK;
	if (data == NULL)
		return CS_ERR_INVALID_PARAM;
	pthread_mutex_lock(&sam_lock);
	if (!status_is_active())
		error = CS_ERR_BAD_HANDLE;
	else if (size < sam.data_size)
		error = CS_ERR_INVALID_PARAM;
	else if (sam.data_size > 0)
		memcpy(data, sam.data, sam.data_size);
	pthread_mutex_unlock(&sam_lock);
	return error;
}

/* The application's copy changes only once its supervisor holds the new one. */
static cs_error_t data_store_locked(const void *data, size_t size)
{
	if (sam.is_child) {
		cs_error_t error = child_send(SAM_COMMAND_DATA_STORE, &size, sizeof(size));
		if (error == CS_OK && size > 0 && !send_all(sam.channel, data, size))
			error = CS_ERR_LIBRARY;
		if (error == CS_OK)
			error = child_read_reply();
		if (error != CS_OK)
			return error;
	}
	return data_replace(data, size);
}

cs_error_t sam_data_store(const void *data, size_t size)
{
	cs_error_t error;
	pthread_mutex_lock(&sam_lock);
	if (status_is_active())
		error = data_store_locked(data, data == NULL ? 0 : size);
	else
		error = CS_ERR_BAD_HANDLE;
	pthread_mutex_unlock(&sam_lock);
	return error;
}

static cs_error_t warn_signal_set_locked(int warn_signal)
{
	if (sam.is_child) {
		cs_error_t error = child_send(SAM_COMMAND_WARN_SIGNAL_SET, &warn_signal, sizeof(warn_signal));
		if (error == CS_OK)
			error = child_read_reply();
		if (error != CS_OK)
			return error;
	}
	sam.warn_signal = warn_signal;
	return CS_OK;
}

cs_error_t sam_warn_signal_set(int warn_signal)
{
	cs_error_t error;
	pthread_mutex_lock(&sam_lock);
	error = status_is_active() ? warn_signal_set_locked(warn_signal) : CS_ERR_BAD_HANDLE;
	pthread_mutex_unlock(&sam_lock);
	return error;
}

/* ---- the application's calls after sam_register -------------------------- */

static void hc_thread_notify(enum sam_command command)
{
	char byte = (char)command;
	if (sam.hc_callback != NULL && sam.hc_thread_running)
		(void)!write(sam.hc_pipe[1], &byte, 1);
}

static cs_error_t start_locked(void)
{
	cs_error_t error = child_send(SAM_COMMAND_START, NULL, 0);
	if (error == CS_OK &&
	    (policy_has(SAM_RECOVERY_POLICY_QUORUM) || policy_has(SAM_RECOVERY_POLICY_CMAP)))
		error = child_read_reply();
	if (error != CS_OK)
		return error;
	hc_thread_notify(SAM_COMMAND_START);
	sam.status = SAM_STARTED;
	return CS_OK;
}

cs_error_t sam_start(void)
{
	cs_error_t error;
	pthread_mutex_lock(&sam_lock);
	error = sam.status == SAM_REGISTERED ? start_locked() : CS_ERR_BAD_HANDLE;
	pthread_mutex_unlock(&sam_lock);
	return error;
}

static cs_error_t stop_locked(void)
{
	cs_error_t error = child_send(SAM_COMMAND_STOP, NULL, 0);
	if (error == CS_OK && policy_has(SAM_RECOVERY_POLICY_CMAP))
		error = child_read_reply();
	if (error != CS_OK)
		return error;
	hc_thread_notify(SAM_COMMAND_STOP);
	sam.status = SAM_REGISTERED;
	return CS_OK;
}

cs_error_t sam_stop(void)
{
	cs_error_t error;
	pthread_mutex_lock(&sam_lock);
	error = sam.status == SAM_STARTED ? stop_locked() : CS_ERR_BAD_HANDLE;
	pthread_mutex_unlock(&sam_lock);
	return error;
}

cs_error_t sam_hc_send(void)
{
	cs_error_t error;
	pthread_mutex_lock(&sam_lock);
	error = sam.status == SAM_STARTED ? child_send(SAM_COMMAND_HC, NULL, 0) : CS_ERR_BAD_HANDLE;
	pthread_mutex_unlock(&sam_lock);
	return error;
}

/* The stop's error is not returned, as in corosync. */
cs_error_t sam_finalize(void)
{
	cs_error_t error = CS_OK;
	pthread_mutex_lock(&sam_lock);
	if (!status_is_active()) {
		error = CS_ERR_BAD_HANDLE;
	} else {
		if (sam.status == SAM_STARTED)
			(void)stop_locked();
		free(sam.data);
		sam.data = NULL;
		sam.data_size = 0;
		sam.status = SAM_FINALIZED;
	}
	pthread_mutex_unlock(&sam_lock);
	return error;
}

cs_error_t sam_mark_failed(void)
{
	cs_error_t error;
	pthread_mutex_lock(&sam_lock);
	if (sam.status != SAM_STARTED && sam.status != SAM_REGISTERED)
		error = CS_ERR_BAD_HANDLE;
	else if (!policy_has(SAM_RECOVERY_POLICY_CMAP))
		error = CS_ERR_INVALID_PARAM;
	else
		error = child_send(SAM_COMMAND_MARK_FAILED, NULL, 0);
	pthread_mutex_unlock(&sam_lock);
	return error;
}

/* ---- event-driven health checks ------------------------------------------ */

/* Four health checks per interval while started; the callback is asked
 * every fourth, and once it reports a failure no more checks are sent. */
static void *hc_thread(void *unused)
{
	int period = sam.time_interval / 4 > 0 ? sam.time_interval / 4 : 1;
	bool started = false, failed = false;
	int sent = 0;
	for (;;) {
		struct pollfd pfd = { .fd = sam.hc_pipe[0], .events = POLLIN };
		int n = poll(&pfd, 1, started && !failed ? period : -1);
		char command;
		if (n == 0) {
			if (sam_hc_send() == CS_OK)
				sent++;
			if (sent >= 4) {
				sam_hc_callback_t callback;
				pthread_mutex_lock(&sam_lock);
				callback = sam.hc_callback;
				pthread_mutex_unlock(&sam_lock);
				failed = callback != NULL && callback() != 0;
				sent = 0;
			}
		} else if (n > 0 && read(sam.hc_pipe[0], &command, 1) == 1) {
			if (command == SAM_COMMAND_START)
				started = true;
			else if (command == SAM_COMMAND_STOP)
				started = false;
		}
	}
	return unused;
}

static cs_error_t hc_thread_create(void)
{
	pthread_attr_t attr;
	pthread_t thread;
	int error;
	if (pipe(sam.hc_pipe) != 0)
		return CS_ERR_LIBRARY;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	error = pthread_create(&thread, &attr, hc_thread, NULL);
	pthread_attr_destroy(&attr);
	if (error != 0) {
		close(sam.hc_pipe[0]);
		close(sam.hc_pipe[1]);
		return CS_ERR_LIBRARY;
	}
	sam.hc_thread_running = true;
	return CS_OK;
}

cs_error_t sam_hc_callback_register(sam_hc_callback_t cb)
{
	cs_error_t error = CS_OK;
	pthread_mutex_lock(&sam_lock);
	if (sam.status != SAM_REGISTERED)
		error = CS_ERR_BAD_HANDLE;
	else if (sam.time_interval == 0)
		error = CS_ERR_INVALID_PARAM;
	else if (!sam.hc_thread_running)
		error = cb == NULL ? CS_ERR_INVALID_PARAM : hc_thread_create();
	if (error == CS_OK)
		sam.hc_callback = cb;
	pthread_mutex_unlock(&sam_lock);
	return error;
}

/* ---- the supervisor ------------------------------------------------------- */

struct instance {
	pid_t pid;
	int channel; /* the supervisor's end of the socket pair */
	bool started;
	bool warned; /* the warning signal has been sent */
	bool quit_on_failure;
	enum sam_action action;
};

/* The warning signal first; SIGKILL when it comes round again. */
static void instance_kill(struct instance *in)
{
	if (!in->warned) {
		kill(in->pid, sam.warn_signal);
		in->warned = true;
	} else {
		kill(in->pid, SIGKILL);
		in->action = SAM_RECOVER;
	}
}

static void instance_mark_failed(struct instance *in)
{
	in->started = true;
	in->warned = true;
	in->quit_on_failure = true;
	instance_kill(in);
}

static cs_error_t supervisor_store_data(struct instance *in)
{
	size_t size;
	void *data = NULL;
	cs_error_t error = CS_OK;
	if (!recv_exact(in->channel, &size, sizeof(size)))
		return CS_ERR_LIBRARY;
	if (size > 0 && (data = malloc(size)) == NULL)
		return CS_ERR_NO_MEMORY;
	if (size > 0 && !recv_exact(in->channel, data, size))
		error = CS_ERR_LIBRARY;
	if (error == CS_OK) {
		pthread_mutex_lock(&sam_lock);
		error = data_replace(data, size);
		pthread_mutex_unlock(&sam_lock);
	}
	free(data);
	return error;
}

static cs_error_t supervisor_set_warn_signal(struct instance *in)
{
	int warn_signal;
	if (!recv_exact(in->channel, &warn_signal, sizeof(warn_signal)))
		return CS_ERR_LIBRARY;
	sam.warn_signal = warn_signal;
	return CS_OK;
}

/* Waits until the node is quorate. Returns CS_OK, an error, or
 * CS_ERR_BAD_HANDLE when the application ended while waiting. */
static cs_error_t supervisor_await_quorum(struct instance *in)
{
	cs_error_t error = quorum_dispatch(sam.quorum, CS_DISPATCH_ALL);
	while (error == CS_OK && !sam.quorate) {
		struct pollfd pfds[2] = {
			{ .fd = in->channel, .events = 0 },
			{ .fd = sam.quorum_fd, .events = POLLIN },
		};
		if (poll(pfds, 2, -1) < 0) {
			if (errno != EINTR)
				error = CS_ERR_LIBRARY;
			continue;
		}
		if (pfds[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			return CS_ERR_BAD_HANDLE;
		if (pfds[1].revents != 0)
			error = quorum_dispatch(sam.quorum, CS_DISPATCH_ONE);
	}
	return error;
}

/* START: with the quorum flag, wait for quorum first; the application's
 * sam_start() waits for the answer when either flag is set. */
static void supervisor_start(struct instance *in)
{
	bool cmap = policy_has(SAM_RECOVERY_POLICY_CMAP);
	cs_error_t error = CS_OK;
	if (in->started)
		return;
	if (policy_has(SAM_RECOVERY_POLICY_QUORUM)) {
		if (cmap)
			error = cmap_put_state(SAM_STATE_WAITING);
		if (error == CS_OK)
			error = supervisor_await_quorum(in);
		if (error == CS_ERR_BAD_HANDLE) {
			in->started = true; /* it ended while starting: a failure */
			return;
		}
	}
	if (error == CS_OK && cmap)
		error = cmap_put_state(SAM_STATE_RUNNING);
	if (error != CS_OK && cmap)
		cmap_put_state(SAM_STATE_STOPPED);
	if (cmap || policy_has(SAM_RECOVERY_POLICY_QUORUM))
		supervisor_reply(in->channel, error);
	in->started = error == CS_OK;
}

static void supervisor_stop(struct instance *in)
{
	if (!in->started)
		return;
	if (policy_has(SAM_RECOVERY_POLICY_CMAP))
		supervisor_reply(in->channel, cmap_put_state(SAM_STATE_STOPPED));
	in->started = false;
}

static void supervisor_command(struct instance *in, char command)
{
	switch (command) {
	case SAM_COMMAND_START:
		supervisor_start(in);
		break;
	case SAM_COMMAND_STOP:
		supervisor_stop(in);
		break;
	case SAM_COMMAND_DATA_STORE:
		supervisor_reply(in->channel, supervisor_store_data(in));
		break;
	case SAM_COMMAND_WARN_SIGNAL_SET:
		supervisor_reply(in->channel, supervisor_set_warn_signal(in));
		break;
	case SAM_COMMAND_MARK_FAILED:
		instance_mark_failed(in);
		break;
	default: /* SAM_COMMAND_HC: the poll timeout starts again */
		break;
	}
}

/* End of file: a failure if the application was started. */
static void supervisor_read(struct instance *in)
{
	char command;
	ssize_t n = recv_all(in->channel, &command, 1);
	if (n < 0) {
		in->action = SAM_ERROR;
		return;
	}
	if (n == 0) {
		in->action = in->started ? SAM_RECOVER : SAM_QUIT;
		return;
	}
	if (policy_has(SAM_RECOVERY_POLICY_CMAP))
		cmap_put_uint64("last_updated", cs_timestamp_get());
	supervisor_command(in, command);
}

/* A lost connection to the daemon counts as a loss of quorum; its fd is
 * then left out of the polls, which would otherwise never block again. */
static void supervisor_quorum_changed(struct instance *in)
{
	cs_error_t error = quorum_dispatch(sam.quorum, CS_DISPATCH_ALL);
	bool lost = error != CS_OK && error != CS_ERR_TRY_AGAIN;
	if (lost)
		sam.quorum_fd = -1;
	if (in->started && (!sam.quorate || lost))
		instance_kill(in);
}

static void supervise(struct instance *in)
{
	bool quorum = policy_has(SAM_RECOVERY_POLICY_QUORUM);
	while (in->action == SAM_CONTINUE) {
		struct pollfd pfds[2] = {
			{ .fd = in->channel, .events = POLLIN },
			{ .fd = sam.quorum_fd, .events = POLLIN },
		};
		int timeout = in->started && sam.time_interval != 0 ? sam.time_interval : -1;
		int n = poll(pfds, quorum ? 2 : 1, timeout);
		if (n < 0 && errno != EINTR)
			in->action = SAM_ERROR;
		if (n == 0)
			instance_kill(in);
		if (n <= 0)
			continue;
		if (pfds[0].revents != 0)
			supervisor_read(in);
		if (quorum && pfds[1].revents != 0)
			supervisor_quorum_changed(in);
	}
}

/* The supervisor's end: cmap keeps the state of a failure and forgets a
 * clean stop; the exit status is the application's. */
static void supervisor_exit(bool failed, int wait_status)
{
	if (policy_has(SAM_RECOVERY_POLICY_QUORUM))
		quorum_finalize(sam.quorum);
	if (policy_has(SAM_RECOVERY_POLICY_CMAP)) {
		if (failed)
			cmap_put_state(SAM_STATE_FAILED);
		else
			cmap_delete_keys();
	}
	exit(WEXITSTATUS(wait_status));
}

static void become_instance(int channel, unsigned int *instance_id)
{
	sam.channel = channel;
	sam.is_child = true;
	sam.status = SAM_REGISTERED;
	if (instance_id != NULL)
		*instance_id = sam.instance_id;
}

/* Forks one instance. Returns 0 in the child (the application), 1 in the
 * supervisor once the instance is over and must be restarted, or -1. */
static int run_instance(unsigned int *instance_id)
{
	int fds[2], wait_status;
	struct instance in = { .action = SAM_CONTINUE };
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
		return -1;
	if (policy_has(SAM_RECOVERY_POLICY_CMAP) && cmap_put_state(SAM_STATE_STOPPED) != CS_OK) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	sam.instance_id++;
	in.pid = fork();
	if (in.pid < 0) {
		sam.instance_id--;
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (in.pid == 0) {
		close(fds[0]);
		become_instance(fds[1], instance_id);
		return 0;
	}
	close(fds[1]);
	in.channel = fds[0];
	supervise(&in);
	close(in.channel);
	if (in.action == SAM_ERROR)
		return -1;
	while (waitpid(in.pid, &wait_status, 0) < 0 && errno == EINTR)
		;
	if (in.action == SAM_RECOVER && !in.quit_on_failure &&
	    base_policy(sam.policy) == SAM_RECOVERY_POLICY_RESTART)
		return 1;
	supervisor_exit(in.action == SAM_RECOVER, wait_status);
	return -1;
}

cs_error_t sam_register(unsigned int *instance_id)
{
	cs_error_t error = CS_OK;
	int instance;

	pthread_mutex_lock(&sam_lock);
	if (sam.status != SAM_INITIALIZED)
		error = CS_ERR_BAD_HANDLE;
	else if (policy_has(SAM_RECOVERY_POLICY_CMAP))
		error = cmap_register();
	pthread_mutex_unlock(&sam_lock);
	if (error != CS_OK)
		return error;
	while ((instance = run_instance(instance_id)) == 1)
		;
	if (instance < 0)
		return CS_ERR_LIBRARY;
	return CS_OK;
}
