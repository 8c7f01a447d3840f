/* A session's life: created for an accepted connection, closed later (once
 * the current handler has returned), destroyed when the batch is reaped. */
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "cv-server-private.h"

static void hello_timed_out(void *data)
{
	struct cv_session *s = data;

	session_close_later(s, CV_LOG_WARNING, "no HELLO in time");
}

void cv_session_create(int fd, const struct ucred *cred, cs_error_t refusal)
{
	struct cv_server *server = server_get();
	struct cv_session *s = calloc(1, sizeof(*s));

	if (!s) {
		cv_log_error("out of memory for a connection from pid %d", (int)cred->pid);
		close(fd);
		return;
	}
	s->server = server;
	s->id = ++server->last_session_id;
	s->sock = fd;
	s->reply_sock = s->reply_gift = -1;
	s->reply_watch.fd = -1;
	s->passed_fd = -1;
	cv_list_init(&s->polled_link);
	s->cred = *cred;
	s->refusal = refusal;
	s->state = SESSION_AWAIT_HELLO;
	if (cv_watch_add(&s->watch, fd, EPOLLIN, input_on_event, s) < 0) {
		cv_log_error("epoll_ctl for a connection from pid %d: %m", (int)cred->pid);
		close(fd);
		free(s);
		return;
	}
	if (refusal == CS_OK)
		server_admit(server, cred->uid);
	else
		server->n_refusing++;
	cv_list_insert(&server->sessions, &s->link);
	cv_timer_init(&s->hello_timer, hello_timed_out, s);
	cv_timer_start(&s->hello_timer, server->settings->limits.hello_timeout_ms);
}

void session_close_later(struct cv_session *s, enum cv_log_level level, const char *why)
{
	if (s->state == SESSION_CLOSING)
		return;
	if (s->flush_pending) {
		output_flush_list_remove(s);
		output_flush(s);
		if (s->state == SESSION_CLOSING)
			return;
	}
	cv_log(level, "closing connection %llu (pid %d, uid %u%s%s): %s", (unsigned long long)s->id,
	       (int)s->cred.pid, (unsigned)s->cred.uid, s->service ? ", service " : "",
	       s->service ? s->service->name : "", why);
	s->state = SESSION_CLOSING;
	s->next_closing = s->server->closing_head;
	s->server->closing_head = s;
}

void session_protocol_violation(struct cv_session *s, const char *format, ...)
{
	struct cv_service_stats *service = server_stats_of(s->server, s->service);
	char why[160];
	va_list args;

	va_start(args, format);
	vsnprintf(why, sizeof(why), format, args);
	va_end(args);
	if (s->state != SESSION_CLOSING && service)
		service->invalid_requests++;
	session_close_later(s, CV_LOG_WARNING, why);
}

void cv_session_close(struct cv_session *s, const char *why)
{
	session_close_later(s, CV_LOG_WARNING, why);
}

void session_client_gone(struct cv_session *s)
{
	s->peer_gone = true;
	output_free(s);
	cv_watch_remove(&s->watch);
	cv_watch_remove(&s->reply_watch);
	if (!cv_list_linked(&s->polled_link))
		cv_list_insert(&s->server->polled_sessions, &s->polled_link);
}

void session_free_reply_memory(struct cv_session *s)
{
	while (s->reply_memory) {
		struct reply_block *next = s->reply_memory->next;

		free(s->reply_memory);
		s->reply_memory = next;
	}
	s->reply_memory_bytes = 0;
}

static void session_disconnect(struct cv_session *s)
{
	const struct cv_session_observer *observer = s->server->observer;

	if (!s->connected)
		return;
	if (observer && observer->closed)
		observer->closed(s);
	if (s->service->ops && s->service->ops->disconnect)
		s->service->ops->disconnect(s);
	server_stats_of(s->server, s->service)->connections--;
}

static void session_destroy(struct cv_session *s)
{
	output_flush_list_remove(s);
	session_disconnect(s);

	cv_watch_remove(&s->watch);
	cv_watch_remove(&s->reply_watch);
	close(s->sock);
	if (s->reply_sock >= 0)
		close(s->reply_sock);
	if (s->reply_gift >= 0)
		close(s->reply_gift);
	cv_timer_stop(&s->hello_timer);
	input_free(s);
	output_free(s);
	event_ring_free(s);
	session_free_reply_memory(s);
	if (s->refusal == CS_OK)
		server_release(s->server, s->cred.uid);
	else
		s->server->n_refusing--;
	cv_list_remove(&s->link);
	free(s);
}

/* Gives back to the system the heap that queues of closed sessions grew:
 * freed small frames stay in the process otherwise. */
static void trim_heap(struct cv_server *server)
{
	if (server->freed_since_trim < CV_TRIM_AFTER_FREED_BYTES)
		return;
	cv_log_debug("trimming the heap: closed connections freed %zu bytes of queued output",
		     server->freed_since_trim);
	malloc_trim(0);
	server->freed_since_trim = 0;
}

bool cv_sessions_take_wake(uint32_t *cpu, bool *waits)
{
	struct cv_wake *wake = &server_get()->wake;
	bool woken = wake->session != NULL;

	*cpu = wake->cpu;
	*waits = (wake->on_reply && wake->replied) || (wake->on_event && wake->evented);
	*wake = (struct cv_wake){ 0 };
	return woken;
}

/* Closing a session can queue output to others (a service's disconnect
 * hook), and flushing can close sessions: repeat until both settle. */
void cv_sessions_reap(void)
{
	struct cv_server *server = server_get();

	output_flush_pending(server);
	while (server->closing_head) {
		while (server->closing_head) {
			struct cv_session *s = server->closing_head;

			server->closing_head = s->next_closing;
			session_destroy(s);
		}
		output_flush_pending(server);
	}
	trim_heap(server);
}

void cv_sessions_close_all(void)
{
	struct cv_server *server = server_get();
	struct cv_session *s;

	cv_list_for_each (s, &server->sessions, link)
		session_close_later(s, CV_LOG_DEBUG, "daemon shutting down");
	cv_sessions_reap();
	cv_packed_frame_release(server->ring_room);
	cv_packed_frame_release(server->settled_wakeup);
	server->ring_room = server->settled_wakeup = NULL;
}
