/* The client runtime: one handle table, one connection layer and one dispatch
 * engine, shared by every client library the generator writes. Its stubs
 * (S-client.c) are thin typed wrappers over these calls, and the
 * hand-written functions an IDL declares are built on them too. A library
 * links the runtime statically (libcv_runtime.a, pkg-config's
 * conclave-client-runtime, CMake's Conclave::client_runtime): nothing here is
 * exported from it (hidden visibility, its version script), so a program
 * sees only the library's own API.
 *
 * Service authors do not call these functions by hand unless their IDL
 * declares functions it implements itself; the generated code is the
 * reference for how each is used.
 */
#ifndef CONCLAVE_CLIENT_RUNTIME_H
#define CONCLAVE_CLIENT_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include <protobuf-c/protobuf-c.h>
#include <corosync/corotypes.h>

struct cv_catalog;

/* ---- Versions and visibility ---- */

/* Generated code checks this and refuses to build against another runtime. */
#define CV_RUNTIME_ABI 1

#define CV_HIDDEN __attribute__((visibility("hidden")))
/* Public API functions: the only symbols a library exports (see its .map). */
#define CV_EXPORT __attribute__((visibility("default")))

/* ---- Handle tables ---- */

/* 64-bit handles: high 32 bits a random non-zero check value, low 32 bits an
 * index. Entries are refcounted; destroy marks the entry for removal (later
 * gets fail) and the object's destructor runs when the last reference drops.
 * All operations are thread-safe. */
struct cv_handle_entry;

struct cv_handle_table {
	pthread_mutex_t lock;
	struct cv_handle_entry *entries;
	uint32_t capacity;
	uint32_t used;
};

#define CV_HANDLE_TABLE_INIT                          \
	{                                             \
		PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0 \
	}

/* Returns CS_OK, CS_ERR_NO_MEMORY or CS_ERR_NO_RESOURCES (table full). */
CV_HIDDEN cs_error_t cv_handle_create(struct cv_handle_table *table, void *object,
				      void (*destroy)(void *object), uint64_t *handle);
/* Takes a reference; CS_ERR_BAD_HANDLE for 0, unknown, stale or destroyed. */
CV_HIDDEN cs_error_t cv_handle_get(struct cv_handle_table *table, uint64_t handle, void **object);
CV_HIDDEN void cv_handle_put(struct cv_handle_table *table, uint64_t handle);
/* Marks for removal and drops the creation reference; CS_ERR_BAD_HANDLE if
 * already destroyed or invalid. */
CV_HIDDEN cs_error_t cv_handle_destroy(struct cv_handle_table *table, uint64_t handle);

/* ---- Service descriptors (generated) ---- */

typedef void (*cv_callback_fn)(void);

struct cv_event_desc {
	const char *name;
	const ProtobufCMessageDescriptor *message;
	/* Converts the unpacked event into the callback's C arguments and calls
	 * fn(handle, ...). Returns CS_OK or CS_ERR_NO_MEMORY. */
	cs_error_t (*deliver)(uint64_t handle, cv_callback_fn fn, const ProtobufCMessage *event);
};

struct cv_client_service {
	const char *name;
	uint16_t version_major;
	uint16_t version_minor;
	uint16_t n_events;
	const struct cv_event_desc *events; /* indexed by event id */
	struct cv_handle_table *handles;    /* one table per library */
	const struct cv_catalog *catalog;   /* its messages by name, for CONCLAVE_DEBUG's traces */
};

/* ---- The calls generated stubs make ---- */

/* Every function validates its arguments (NULL out-pointers give
 * CS_ERR_INVALID_PARAM) and its handle (CS_ERR_BAD_HANDLE). */

/* Connects to conclaved (socket from $CONCLAVE_SOCKET, else
 * CV_DEFAULT_SOCKET_PATH), performs the HELLO/WELCOME handshake and creates
 * a handle. `callbacks` has svc->n_events entries (NULL entries allowed; a
 * NULL array means no callbacks). Errors: CS_ERR_INVALID_PARAM (NULL handle),
 * CS_ERR_LIBRARY (no daemon), CS_ERR_ACCESS (refused by the allow-list),
 * CS_ERR_NOT_SUPPORTED (unknown service or incompatible IDL version),
 * CS_ERR_TRY_AGAIN / CS_ERR_NO_RESOURCES (connection limits),
 * CS_ERR_NO_MEMORY. */
CV_HIDDEN cs_error_t cv_client_initialize(const struct cv_client_service *svc, uint64_t *handle,
					  const cv_callback_fn *callbacks, void *context);

/* cv_client_initialize for a library with state of its own per handle, as
 * wayland's proxy user data: `data`, which cv_client_private_get gives.
 * `destroy` (may be NULL) runs when the handle's last reference is gone,
 * after finalize and once no call or dispatch still uses it, or at once
 * when initialize fails. A library keeps no table of its handles. */
CV_HIDDEN cs_error_t cv_client_initialize_private(const struct cv_client_service *svc, uint64_t *handle,
						  const cv_callback_fn *callbacks, void *context, void *data,
						  void (*destroy)(void *data));

/* Destroys the handle. Safe inside a callback (the enclosing dispatch returns
 * CS_ERR_BAD_HANDLE and runs no further callbacks) and from another thread
 * (a dispatcher blocked on the handle wakes and returns CS_ERR_BAD_HANDLE).
 * The connection closes when the last reference drops. Returns CS_OK even
 * when the daemon is gone. */
CV_HIDDEN cs_error_t cv_client_finalize(const struct cv_client_service *svc, uint64_t handle);
/* As cv_client_finalize(), but CS_ERR_LIBRARY, with the handle freed all
 * the same, when the daemon is gone: corosync's cpg_finalize() asks the
 * daemon and reports that it could not, where its other libraries do not. */
CV_HIDDEN cs_error_t cv_client_finalize_reporting_death(const struct cv_client_service *svc, uint64_t handle);

/* The fd is stable for the handle's life and readable exactly while events
 * are pending (buffered in the library or unread on the socket), and when the
 * daemon is gone. */
CV_HIDDEN cs_error_t cv_client_fd_get(const struct cv_client_service *svc, uint64_t handle, int *fd);

/* CS_DISPATCH_ONE, ALL, BLOCKING, ONE_NONBLOCKING as corosync defines them;
 * any other value gives CS_ERR_INVALID_PARAM. */
CV_HIDDEN cs_error_t cv_client_dispatch(const struct cv_client_service *svc, uint64_t handle,
					int dispatch_flags);

CV_HIDDEN cs_error_t cv_client_context_get(const struct cv_client_service *svc, uint64_t handle,
					   void **context);
CV_HIDDEN cs_error_t cv_client_context_set(const struct cv_client_service *svc, uint64_t handle,
					   void *context);

/* Takes a reference on the handle and gives its private state, which stays
 * valid until cv_client_private_put; CS_ERR_BAD_HANDLE once finalized. */
CV_HIDDEN cs_error_t cv_client_private_get(const struct cv_client_service *svc, uint64_t handle, void **data);
CV_HIDDEN void cv_client_private_put(const struct cv_client_service *svc, uint64_t handle);

/* Replaces the callback table (used by hand-written model_initialize
 * variants before any event can arrive). */
CV_HIDDEN cs_error_t cv_client_callbacks_set(const struct cv_client_service *svc, uint64_t handle,
					     const cv_callback_fn *callbacks);

/* Sends request `request_id` and, unless reply_desc is NULL (one-way), waits
 * for its reply. Safe from several threads on one handle, and while another
 * thread is in a BLOCKING dispatch. Returns the daemon's status, or
 * CS_ERR_LIBRARY when the daemon is gone, CS_ERR_TOO_BIG when the request
 * exceeds the daemon's announced maximum, CS_ERR_NO_MEMORY.
 * *reply is set to the unpacked reply (whatever the status) or NULL; the
 * caller frees it with protobuf_c_message_free_unpacked(*reply, NULL). */
CV_HIDDEN cs_error_t cv_client_call(const struct cv_client_service *svc, uint64_t handle, uint16_t request_id,
				    const ProtobufCMessage *request,
				    const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply);

/* Sends one-way request `request_id` without waiting for room: pipelined
 * senders get back-pressure as CS_ERR_TRY_AGAIN, with nothing sent, when the
 * socket cannot take any of the request now (the daemon has stopped reading
 * this connection). A request the socket took in part is finished, so the
 * stream is never left inside a frame. Other errors as cv_client_call. */
CV_HIDDEN cs_error_t cv_client_post(const struct cv_client_service *svc, uint64_t handle, uint16_t request_id,
				    const ProtobufCMessage *request);

/* ---- Helpers for hand-written functions ---- */

struct iovec;

/* The total length of a message given as an iovec array, as the multicast
 * calls take it: CS_ERR_INVALID_PARAM for an entry with a NULL base and a
 * length, CS_ERR_TOO_BIG when the lengths add up past SIZE_MAX - 1. */
CV_HIDDEN cs_error_t cv_iovec_total(const struct iovec *iovec, unsigned int count, size_t *total);
/* The same for buffers already checked (the frames the runtime sends). */
CV_HIDDEN size_t cv_iovec_length(const struct iovec *iovec, size_t count);

#endif
