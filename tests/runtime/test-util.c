#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test-service.h"
#include "test-util.h"

struct timespec deadline_after(int timeout_ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += timeout_ms / 1000;
	t.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

bool fd_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r > 0 && (pfd.revents & POLLIN) != 0;
}

static char thread_state(pid_t tid)
{
	char path[64], line[512];
	const char *close_paren;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "re");
	if (f == NULL)
		return '?';
	n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	close_paren = strrchr(line, ')');
	return close_paren != NULL && close_paren[1] == ' ' ? close_paren[2] : '?';
}

bool thread_wait_sleeping(pid_t tid, int timeout_ms)
{
	struct timespec pause = { 0, 1000000 };

	for (int waited = 0; waited <= timeout_ms; waited++) {
		if (thread_state(tid) == 'S')
			return true;
		nanosleep(&pause, NULL);
	}
	return false;
}

int open_fd_count(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *entry;
	int count = 0;

	if (dir == NULL)
		return -1;
	while ((entry = readdir(dir)) != NULL)
		if (entry->d_name[0] != '.')
			count++;
	closedir(dir);
	return count - 1; /* the directory's own fd */
}

static void *background_main(void *arg)
{
	struct background *b = arg;
	cs_error_t result;

	pthread_mutex_lock(&b->lock);
	b->tid = gettid();
	b->started = true;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	switch (b->kind) {
	case BACKGROUND_DISPATCH:
		result = cv_client_dispatch(&test_service, b->handle, b->flags);
		break;
	case BACKGROUND_ECHO:
		result = test_echo(b->handle, b->value, &b->reply_value);
		break;
	default:
		result = test_echo_blob(b->handle, b->value);
		break;
	}
	pthread_mutex_lock(&b->lock);
	b->result = result;
	b->finished = true;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

void background_start(struct background *b, enum background_kind kind, uint64_t handle, int flags,
		      uint32_t value)
{
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	b->handle = handle;
	b->flags = flags;
	b->value = value;
	b->reply_value = BACKGROUND_NO_REPLY;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	if (pthread_create(&b->thread, NULL, background_main, b) != 0)
		abort();
	pthread_mutex_lock(&b->lock);
	while (!b->started)
		pthread_cond_wait(&b->cond, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

bool background_finish(struct background *b, int timeout_ms)
{
	struct timespec deadline = deadline_after(timeout_ms);
	bool finished;

	pthread_mutex_lock(&b->lock);
	while (!b->finished && pthread_cond_timedwait(&b->cond, &b->lock, &deadline) == 0)
		;
	finished = b->finished;
	pthread_mutex_unlock(&b->lock);
	if (finished)
		pthread_join(b->thread, NULL);
	return finished;
}

bool background_running(struct background *b)
{
	bool running;

	pthread_mutex_lock(&b->lock);
	running = !b->finished;
	pthread_mutex_unlock(&b->lock);
	return running;
}
