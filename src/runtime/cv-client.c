/* The life of a client handle: initialize, finalize, the calls that only
 * read or change local state (fd, context, callbacks), and the state of its
 * connection (live, dead or finalized; the events read and not delivered).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cv-client.h"
#include "cv-errno.h"
#include "cv-limits.h"
#include "cv-socket.h"

static int handshake_timeout_override = -1;

void cv_runtime_set_handshake_timeout(int timeout_ms)
{
	__atomic_store_n(&handshake_timeout_override, timeout_ms, __ATOMIC_RELAXED);
}

int cv_runtime_handshake_timeout(void)
{
	int timeout_ms = __atomic_load_n(&handshake_timeout_override, __ATOMIC_RELAXED);

	return timeout_ms >= 0 ? timeout_ms : CV_HANDSHAKE_TIMEOUT_MS;
}

/* ---- the connection's state ---- */

/* Timed waits on it count on the monotonic clock, as deadlines do. */
static void cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

static void client_stop(struct cv_client *c)
{
	uint64_t one = 1;
	ssize_t r;

	do
		r = write(c->wake_fd, &one, sizeof(one));
	while (r < 0 && errno == EINTR);
	pthread_cond_broadcast(&c->cond);
}

void cv_client_mark_dead(struct cv_client *c)
{
	if (c->dead)
		return;
	c->dead = true;
	shutdown(c->events.fd, SHUT_RDWR);
	client_stop(c);
}

void cv_client_mark_finalized(struct cv_client *c)
{
	if (c->finalized)
		return;
	c->finalized = true;
	client_stop(c);
}

cs_error_t cv_client_state(const struct cv_client *c)
{
	if (c->finalized)
		return CS_ERR_BAD_HANDLE;
	if (c->dead)
		return CS_ERR_LIBRARY;
	return CS_OK;
}

struct cv_event *cv_client_event_pop(struct cv_client *c)
{
	struct cv_event *event = c->queue_head;

	if (event == NULL)
		return NULL;
	c->queue_head = event->next;
	if (c->queue_head == NULL)
		c->queue_tail = &c->queue_head;
	event->next = NULL;
	event->taken = true;
	if (event->ringed)
		cv_event_ring_taken(&c->event_ring, &event->place);
	return event;
}

void cv_client_event_free(struct cv_client *c, struct cv_event *event)
{
	if (event->storage != NULL) {
		uint8_t *unused = event->storage;

		pthread_mutex_lock(&c->lock);
		if (event->storage_size <= CV_RX_KEEP_MAX &&
		    (c->spare_rx == NULL || c->spare_rx_size < event->storage_size)) {
			unused = c->spare_rx;
			c->spare_rx = event->storage;
			c->spare_rx_size = event->storage_size;
		}
		pthread_mutex_unlock(&c->lock);
		free(unused);
	}
	if (event->ringed && event->taken) {
		pthread_mutex_lock(&c->lock);
		cv_event_ring_done(&c->event_ring);
		pthread_mutex_unlock(&c->lock);
	}
	free(event);
}

/* ---- life ---- */

static void fd_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void client_free(struct cv_client *c)
{
	struct cv_event *event;

	while ((event = c->queue_head) != NULL) {
		c->queue_head = event->next;
		cv_client_event_free(c, event);
	}
	fd_close(c->wake_fd);
	fd_close(c->events.fd);
	fd_close(c->replies.fd);
	cv_rx_release(&c->events.rx);
	cv_rx_release(&c->replies.rx);
	while (c->events.n_fds > 0)
		close(c->events.fds[--c->events.n_fds]);
	cv_event_ring_unmap(&c->event_ring);
	cv_ring_destroy(&c->ring);
	if (c->ring_offer != NULL)
		free(c->ring_offer->payload);
	free(c->ring_offer);
	free(c->spare_rx);
	free(c->callbacks);
	if (c->private_destroy != NULL)
		c->private_destroy(c->private_data);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->send_lock);
	free(c);
}

static void client_destroy(void *object)
{
	client_free(object);
}

/* A copy of `callbacks` (n_events entries), or NULL when there are none. */
static cs_error_t callbacks_copy(const struct cv_client_service *svc, const cv_callback_fn *callbacks,
				 cv_callback_fn **copy)
{
	*copy = NULL;
	if (callbacks == NULL || svc->n_events == 0)
		return CS_OK;
	*copy = malloc(svc->n_events * sizeof(**copy));
	if (*copy == NULL)
		return CS_ERR_NO_MEMORY;
	memcpy(*copy, callbacks, svc->n_events * sizeof(**copy));
	return CS_OK;
}

static cs_error_t client_new(const struct cv_client_service *svc, const cv_callback_fn *callbacks,
			     void *context, struct cv_client **client)
{
	struct cv_client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return CS_ERR_NO_MEMORY;
	c->svc = svc;
	c->events = (struct cv_channel){
		.fd = -1,
		.rx.kinds = CV_RX_KIND(CV_FRAME_EVENT) | CV_RX_KIND(CV_FRAME_EVENT_SPLIT) |
			    CV_RX_KIND(CV_FRAME_EVENT_RING),
	};
	c->replies = (struct cv_channel){
		.fd = -1,
		.rx.kinds = CV_RX_KIND(CV_FRAME_REPLY) | CV_RX_KIND(CV_FRAME_RING_ROOM) |
			    CV_RX_KIND(CV_FRAME_SETTLED),
	};
	c->wake_fd = -1;
	c->next_seq = 1;
	c->call_timeout_ms = cv_call_timeout_from_env();
	c->transport = &cv_transport_socket;
	c->queue_tail = &c->queue_head;
	c->context = context;
	pthread_mutex_init(&c->send_lock, NULL);
	pthread_mutex_init(&c->lock, NULL);
	cond_init_monotonic(&c->cond);
	if (callbacks_copy(svc, callbacks, &c->callbacks) != CS_OK) {
		client_free(c);
		return CS_ERR_NO_MEMORY;
	}
	*client = c;
	return CS_OK;
}

static cs_error_t client_connect(struct cv_client *c)
{
	int timeout_ms = cv_runtime_handshake_timeout();
	struct cv_welcome welcome;
	cs_error_t err;

	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake_fd < 0)
		return cv_errno_to_cs(errno);
	err = cv_socket_connect(&c->events.fd, timeout_ms);
	if (err == CS_OK)
		err = cv_socket_handshake(c->events.fd, c->svc, timeout_ms, &welcome, &c->replies.fd);
	if (err == CS_OK) {
		c->max_request = welcome.max_message_size;
		c->max_ring = welcome.max_ring_size;
	}
	return err;
}

cs_error_t cv_client_initialize_private(const struct cv_client_service *svc, uint64_t *handle,
					const cv_callback_fn *callbacks, void *context, void *data,
					void (*destroy)(void *data))
{
	struct cv_client *c;
	cs_error_t err;

	err = svc == NULL || svc->handles == NULL || handle == NULL ? CS_ERR_INVALID_PARAM
								    : client_new(svc, callbacks, context, &c);
	if (err != CS_OK) {
		if (destroy != NULL)
			destroy(data);
		return err;
	}
	c->private_data = data;
	c->private_destroy = destroy;
	err = client_connect(c);
	if (err == CS_OK)
		err = cv_handle_create(svc->handles, c, client_destroy, handle);
	if (err != CS_OK)
		client_free(c);
	return err;
}

cs_error_t cv_client_initialize(const struct cv_client_service *svc, uint64_t *handle,
				const cv_callback_fn *callbacks, void *context)
{
	return cv_client_initialize_private(svc, handle, callbacks, context, NULL, NULL);
}

cs_error_t cv_client_acquire(const struct cv_client_service *svc, uint64_t handle, struct cv_client **client)
{
	void *object;
	cs_error_t err;

	if (svc == NULL || svc->handles == NULL)
		return CS_ERR_BAD_HANDLE;
	err = cv_handle_get(svc->handles, handle, &object);
	if (err != CS_OK)
		return err;
	if (((struct cv_client *)object)->svc != svc) {
		cv_handle_put(svc->handles, handle);
		return CS_ERR_BAD_HANDLE;
	}
	*client = object;
	return CS_OK;
}

void cv_client_release(const struct cv_client_service *svc, uint64_t handle)
{
	cv_handle_put(svc->handles, handle);
}

cs_error_t cv_client_finalize(const struct cv_client_service *svc, uint64_t handle)
{
	struct cv_client *c;
	cs_error_t err;

	err = cv_client_acquire(svc, handle, &c);
	if (err != CS_OK)
		return err;
	/* Only one of several racing finalize calls gets past destroy. */
	err = cv_handle_destroy(svc->handles, handle);
	if (err == CS_OK) {
		pthread_mutex_lock(&c->lock);
		cv_client_mark_finalized(c);
		pthread_mutex_unlock(&c->lock);
	}
	cv_client_release(svc, handle);
	return err;
}

/* The daemon closes its end when it exits or is killed: the socket then
 * reports a hang-up, also before anything read from it noticed. */
static bool daemon_gone(struct cv_client *c)
{
	struct pollfd p = { .fd = c->events.fd, .events = 0 };
	bool dead;

	pthread_mutex_lock(&c->lock);
	dead = c->dead;
	pthread_mutex_unlock(&c->lock);
	return dead || (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) != 0);
}

cs_error_t cv_client_finalize_reporting_death(const struct cv_client_service *svc, uint64_t handle)
{
	struct cv_client *c;
	cs_error_t err;
	bool gone;

	err = cv_client_acquire(svc, handle, &c);
	if (err != CS_OK)
		return err;
	gone = daemon_gone(c);
	cv_client_release(svc, handle);
	err = cv_client_finalize(svc, handle);
	return err == CS_OK && gone ? CS_ERR_LIBRARY : err;
}

cs_error_t cv_client_fd_get(const struct cv_client_service *svc, uint64_t handle, int *fd)
{
	struct cv_client *c;
	cs_error_t err;

	if (fd == NULL)
		return CS_ERR_INVALID_PARAM;
	err = cv_client_acquire(svc, handle, &c);
	if (err != CS_OK)
		return err;
	*fd = c->events.fd;
	cv_client_release(svc, handle);
	return CS_OK;
}

cs_error_t cv_client_context_get(const struct cv_client_service *svc, uint64_t handle, void **context)
{
	struct cv_client *c;
	cs_error_t err;

	if (context == NULL)
		return CS_ERR_INVALID_PARAM;
	err = cv_client_acquire(svc, handle, &c);
	if (err != CS_OK)
		return err;
	pthread_mutex_lock(&c->lock);
	*context = c->context;
	pthread_mutex_unlock(&c->lock);
	cv_client_release(svc, handle);
	return CS_OK;
}

cs_error_t cv_client_context_set(const struct cv_client_service *svc, uint64_t handle, void *context)
{
	struct cv_client *c;
	cs_error_t err;

	err = cv_client_acquire(svc, handle, &c);
	if (err != CS_OK)
		return err;
	pthread_mutex_lock(&c->lock);
	c->context = context;
	pthread_mutex_unlock(&c->lock);
	cv_client_release(svc, handle);
	return CS_OK;
}

cs_error_t cv_client_callbacks_set(const struct cv_client_service *svc, uint64_t handle,
				   const cv_callback_fn *callbacks)
{
	cv_callback_fn *copy, *old;
	struct cv_client *c;
	cs_error_t err;

	err = cv_client_acquire(svc, handle, &c);
	if (err != CS_OK)
		return err;
	err = callbacks_copy(svc, callbacks, &copy);
	if (err == CS_OK) {
		pthread_mutex_lock(&c->lock);
		old = c->callbacks;
		c->callbacks = copy;
		pthread_mutex_unlock(&c->lock);
		free(old);
	}
	cv_client_release(svc, handle);
	return err;
}

cs_error_t cv_client_private_get(const struct cv_client_service *svc, uint64_t handle, void **data)
{
	struct cv_client *c;
	cs_error_t err;

	err = cv_client_acquire(svc, handle, &c);
	if (err != CS_OK)
		return err;
	*data = c->private_data; /* fixed at initialize */
	return CS_OK;
}

void cv_client_private_put(const struct cv_client_service *svc, uint64_t handle)
{
	cv_client_release(svc, handle);
}
