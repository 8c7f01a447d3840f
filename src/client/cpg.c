/* The cpg functions the IDL marks `manual`. The application's deliver and
 * confchg callbacks are reached through the internal message, fragment and
 * membership events, translated here with the callbacks of the handle's
 * instance, its private state in the runtime. Iterations are snapshots the
 * daemon takes at cpg_iteration_initialize().
 * Messages larger than CPG_MAX_ATOMIC_MSGSIZE travel in pieces that each
 * receiver reassembles per sender; a confchg drops every unfinished
 * reassembly, as the daemon refuses the rest of such a message with
 * CS_ERR_INTERRUPT. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/uio.h>
#include <unistd.h>

#include <corosync/cpg.h>

#include "cpg-client.h"
#include <conclave/client-runtime.h>
#include "cv-wire.h"

/* corosync's IPC_REQUEST_SIZE - 1024; the daemon's default message limit
 * leaves room for it and the frame around it. */
#define CPG_MAX_ATOMIC_MSGSIZE 1047552u

/* cpg.idl, cpg_fragment_fn_t. */
enum { PART_FIRST = 1, PART_CONTINUED = 2, PART_LAST = 3 };

/* Larger messages are not posted: a socket's buffer may not take them in
 * one piece, and a half-sent one would wait for the daemon while it holds
 * the connection back. They go with a round trip instead. */
#define CPG_MAX_POSTED_MSGSIZE (64u * 1024)

/* How long a piece after the first waits for room before the message is
 * given up with CS_ERR_TRY_AGAIN, as corosync's 100 tries 10 ms apart. */
#define PIECE_RETRIES 1000
#define PIECE_RETRY_US 1000
/* A message's pieces are assembled in a buffer kept for the next message
 * when it is no larger than this (a message of a few pieces). */
#define ASSEMBLY_KEEP_MAX (2u * 1024u * 1024u)

/* A large message being reassembled: `total` bytes from one sender, as its
 * first piece announced. The buffer grows with the pieces that arrive, so an
 * announced total costs nothing until the bytes come. */
struct cpg_assembly {
	struct cpg_assembly *next;
	uint32_t nodeid;
	uint32_t pid;
	uint64_t total;
	uint64_t have;
	size_t capacity;
	uint8_t *data;
};

/* A handle's state, kept by the runtime (cv_client_private_get). */
struct cpg_instance {
	cpg_deliver_fn_t deliver_fn;
	cpg_confchg_fn_t confchg_fn;
	unsigned int flags;
	/* Calls and dispatch may run on different threads. */
	pthread_mutex_t lock;
	bool joined; /* messages are one-way: the library refuses them unjoined */
	struct cpg_assembly *assemblies;
	/* The buffer of the last message assembled, of up to
	 * ASSEMBLY_KEEP_MAX, for the next: giving it back to malloc would have
	 * its pages returned to the kernel and faulted in again. */
	uint8_t *spare;
	size_t spare_capacity;
};

struct cpg_iteration {
	struct cpg_iteration *next;
	cpg_iteration_handle_t id;
	cpg_handle_t owner;
	struct cpg_iteration_description_t *entries;
	size_t n_entries;
	size_t next_entry;
};

/* Iterations are the process's, as their handles are: cpg_iteration_next
 * names no cpg handle. */
static pthread_mutex_t iterations_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cpg_iteration *iterations;
static cpg_iteration_handle_t next_iteration_id = 1;

/* ---- instances ------------------------------------------------------------- */

static void assemblies_free(struct cpg_assembly *a)
{
	while (a != NULL) {
		struct cpg_assembly *next = a->next;

		free(a->data);
		free(a);
		a = next;
	}
}

static void instance_destroy(void *data)
{
	struct cpg_instance *instance = data;

	assemblies_free(instance->assemblies);
	free(instance->spare);
	pthread_mutex_destroy(&instance->lock);
	free(instance);
}

/* Takes a reference on the handle until instance_put. */
static cs_error_t instance_get(cpg_handle_t handle, struct cpg_instance **instance)
{
	return cv_client_private_get(&cpg_client_service, handle, (void **)instance);
}

static void instance_put(cpg_handle_t handle)
{
	cv_client_private_put(&cpg_client_service, handle);
}

static void instance_set_joined(cpg_handle_t handle, bool joined)
{
	struct cpg_instance *instance;

	if (instance_get(handle, &instance) != CS_OK)
		return;
	pthread_mutex_lock(&instance->lock);
	instance->joined = joined;
	pthread_mutex_unlock(&instance->lock);
	instance_put(handle);
}

/* CS_OK with whether the handle's member has joined, or CS_ERR_BAD_HANDLE. */
static cs_error_t instance_joined(cpg_handle_t handle, bool *joined)
{
	struct cpg_instance *instance;
	cs_error_t err = instance_get(handle, &instance);

	if (err != CS_OK)
		return err;
	pthread_mutex_lock(&instance->lock);
	*joined = instance->joined;
	pthread_mutex_unlock(&instance->lock);
	instance_put(handle);
	return CS_OK;
}

static void iterations_drop_owned_by(cpg_handle_t owner)
{
	struct cpg_iteration **link, *gone = NULL;

	pthread_mutex_lock(&iterations_lock);
	link = &iterations;
	while (*link != NULL) {
		struct cpg_iteration *it = *link;

		if (it->owner == owner) {
			*link = it->next;
			it->next = gone;
			gone = it;
		} else {
			link = &it->next;
		}
	}
	pthread_mutex_unlock(&iterations_lock);
	while (gone != NULL) {
		struct cpg_iteration *next = gone->next;

		free(gone->entries);
		free(gone);
		gone = next;
	}
}

/* ---- events ---------------------------------------------------------------- */

/* The callbacks of the instance of a handle, which dispatch holds. */
static bool callbacks_of(cpg_handle_t handle, cpg_deliver_fn_t *deliver_fn, cpg_confchg_fn_t *confchg_fn)
{
	struct cpg_instance *instance;

	if (instance_get(handle, &instance) != CS_OK)
		return false;
	*deliver_fn = instance->deliver_fn;
	*confchg_fn = instance->confchg_fn;
	instance_put(handle);
	return true;
}

static void deliver_message(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
			    size_t msg_len, const void *msg)
{
	cpg_deliver_fn_t deliver_fn;
	cpg_confchg_fn_t confchg_fn;

	if (!callbacks_of(handle, &deliver_fn, &confchg_fn) || deliver_fn == NULL)
		return;
	/* The decoded event is ours; corosync's callback may convert it in place. */
	deliver_fn(handle, group, nodeid, pid, (void *)msg, msg_len);
}

static void assemblies_drop(cpg_handle_t handle)
{
	struct cpg_instance *instance;
	struct cpg_assembly *dropped;

	if (instance_get(handle, &instance) != CS_OK)
		return;
	pthread_mutex_lock(&instance->lock);
	dropped = instance->assemblies;
	instance->assemblies = NULL;
	pthread_mutex_unlock(&instance->lock);
	instance_put(handle);
	assemblies_free(dropped);
}

/* Instance lock held. The sender's assembly, taken out of the list. */
static struct cpg_assembly *assembly_take(struct cpg_instance *instance, uint32_t nodeid, uint32_t pid)
{
	struct cpg_assembly **link = &instance->assemblies;
	struct cpg_assembly *a;

	while (*link != NULL && ((*link)->nodeid != nodeid || (*link)->pid != pid))
		link = &(*link)->next;
	a = *link;
	if (a != NULL)
		*link = a->next;
	return a;
}

/* Instance lock held. A first piece starts a new assembly, in the spare
 * buffer if there is one, dropping any older one. A total larger than any
 * daemon passes on is refused. */
static struct cpg_assembly *assembly_start(struct cpg_instance *instance, uint32_t nodeid, uint32_t pid,
					   uint64_t total)
{
	struct cpg_assembly *a;

	if (total > CV_CPG_MAX_MESSAGE_SIZE || (a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->nodeid = nodeid;
	a->pid = pid;
	a->total = total;
	a->data = instance->spare;
	a->capacity = instance->spare_capacity;
	instance->spare = NULL;
	instance->spare_capacity = 0;
	return a;
}

/* Appends a piece that fits in what is left of a->total, doubling the
 * buffer up to the total as pieces come (one byte more, so that a message
 * of length 0 has a buffer too). */
static bool assembly_append(struct cpg_assembly *a, const void *msg, size_t msg_len)
{
	size_t need = (size_t)a->have + msg_len;

	if (need > a->capacity) {
		size_t grown = a->capacity * 2 < a->total ? a->capacity * 2 : (size_t)a->total;
		size_t capacity = grown > need ? grown : need;
		uint8_t *data = realloc(a->data, capacity + 1);

		if (data == NULL)
			return false;
		a->data = data;
		a->capacity = capacity;
	}
	if (msg_len > 0)
		memcpy(a->data + a->have, msg, msg_len);
	a->have = need;
	return true;
}

static void assembly_free(struct cpg_assembly *a)
{
	if (a != NULL) {
		a->next = NULL;
		assemblies_free(a);
	}
}

/* Keeps a delivered assembly's buffer as the handle's spare when it is the
 * larger and not above ASSEMBLY_KEEP_MAX, and frees the rest. */
static void assembly_recycle(cpg_handle_t handle, struct cpg_assembly *a)
{
	struct cpg_instance *instance;

	if (a->capacity <= ASSEMBLY_KEEP_MAX && instance_get(handle, &instance) == CS_OK) {
		pthread_mutex_lock(&instance->lock);
		if (instance->spare == NULL || instance->spare_capacity < a->capacity) {
			uint8_t *smaller = instance->spare;

			instance->spare = a->data;
			instance->spare_capacity = a->capacity;
			a->data = smaller;
		}
		pthread_mutex_unlock(&instance->lock);
		instance_put(handle);
	}
	assembly_free(a);
}

/* Adds a piece; returns the finished assembly (the caller recycles it), or
 * NULL while more pieces are due or when the piece does not fit. */
static struct cpg_assembly *assembly_add(cpg_handle_t handle, uint32_t nodeid, uint32_t pid, uint32_t part,
					 uint64_t total, const void *msg, size_t msg_len)
{
	struct cpg_instance *found;
	struct cpg_assembly *a, *old = NULL, *bad = NULL;

	if (instance_get(handle, &found) != CS_OK)
		return NULL;
	pthread_mutex_lock(&found->lock);
	a = assembly_take(found, nodeid, pid);
	if (part == PART_FIRST) {
		old = a;
		a = assembly_start(found, nodeid, pid, total);
	}
	if (a != NULL &&
	    (a->total != total || msg_len > a->total - a->have || !assembly_append(a, msg, msg_len))) {
		bad = a;
		a = NULL;
	}
	if (a != NULL) {
		if (part != PART_LAST) {
			a->next = found->assemblies;
			found->assemblies = a;
			a = NULL;
		}
	}
	pthread_mutex_unlock(&found->lock);
	instance_put(handle);
	assembly_free(old);
	assembly_free(bad);
	return a;
}

static void deliver_fragment(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
			     uint32_t part, uint64_t total, size_t msg_len, const void *msg)
{
	cpg_deliver_fn_t deliver_fn;
	cpg_confchg_fn_t confchg_fn;
	struct cpg_assembly *done;

	if (!callbacks_of(handle, &deliver_fn, &confchg_fn) || deliver_fn == NULL)
		return;
	done = assembly_add(handle, nodeid, pid, part, total, msg, msg_len);
	if (done == NULL)
		return;
	if (done->have == done->total)
		deliver_fn(handle, group, nodeid, pid, done->data, (size_t)done->total);
	assembly_recycle(handle, done);
}

static void deliver_membership(cpg_handle_t handle, const struct cpg_name *group, size_t member_list_entries,
			       const struct cpg_address *member_list, size_t left_list_entries,
			       const struct cpg_address *left_list, size_t joined_list_entries,
			       const struct cpg_address *joined_list)
{
	cpg_deliver_fn_t deliver_fn;
	cpg_confchg_fn_t confchg_fn;

	if (!callbacks_of(handle, &deliver_fn, &confchg_fn))
		return;
	assemblies_drop(handle);
	if (confchg_fn == NULL)
		return;
	confchg_fn(handle, group, member_list, member_list_entries, left_list, left_list_entries, joined_list,
		   joined_list_entries);
}

/* ---- initialize and finalize ----------------------------------------------- */

static cs_error_t connect_instance(cpg_handle_t *handle, const cpg_model_v1_data_t *data, void *context)
{
	cv_callback_fn table[CPG_N_EVENTS] = { 0 };
	struct cpg_instance *instance = calloc(1, sizeof(*instance));

	if (instance == NULL)
		return CS_ERR_NO_MEMORY;
	pthread_mutex_init(&instance->lock, NULL);
	if (data != NULL) {
		cpg_callback_table_from_cpg_model_v1_data_t(data, table);
		instance->deliver_fn = data->cpg_deliver_fn;
		instance->confchg_fn = data->cpg_confchg_fn;
		instance->flags = data->flags;
	}
	table[CPG_EVENT_MESSAGE] = (cv_callback_fn)deliver_message;
	table[CPG_EVENT_MEMBERSHIP] = (cv_callback_fn)deliver_membership;
	table[CPG_EVENT_FRAGMENT] = (cv_callback_fn)deliver_fragment;
	return cv_client_initialize_private(&cpg_client_service, handle, table, context, instance,
					    instance_destroy);
}

cs_error_t cpg_initialize(cpg_handle_t *handle, cpg_callbacks_t *callbacks)
{
	cpg_model_v1_data_t data = { .model = CPG_MODEL_V1 };

	if (handle == NULL)
		return CS_ERR_INVALID_PARAM;
	if (callbacks != NULL) {
		data.cpg_deliver_fn = callbacks->cpg_deliver_fn;
		data.cpg_confchg_fn = callbacks->cpg_confchg_fn;
	}
	return connect_instance(handle, &data, NULL);
}

cs_error_t cpg_model_initialize(cpg_handle_t *handle, cpg_model_t model, cpg_model_data_t *model_data,
				void *context)
{
	const cpg_model_v1_data_t *data = (const cpg_model_v1_data_t *)model_data;

	if (handle == NULL || model != CPG_MODEL_V1)
		return CS_ERR_INVALID_PARAM;
	if (data != NULL && (data->flags & ~(unsigned int)CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF) != 0)
		return CS_ERR_INVALID_PARAM;
	return connect_instance(handle, data, context);
}

/* The daemon sees the connection close, which gives the other members of a
 * joined group their PROCDOWN confchg. */
cs_error_t cpg_finalize(cpg_handle_t handle)
{
	cs_error_t err = cv_client_finalize_reporting_death(&cpg_client_service, handle);

	if (err == CS_OK || err == CS_ERR_LIBRARY)
		iterations_drop_owned_by(handle);
	return err;
}

cs_error_t cpg_max_atomic_msgsize_get(cpg_handle_t handle, uint32_t *size)
{
	struct cpg_instance *instance;
	cs_error_t err = instance_get(handle, &instance);

	if (err != CS_OK)
		return err;
	instance_put(handle);
	if (size == NULL)
		return CS_ERR_INVALID_PARAM;
	*size = CPG_MAX_ATOMIC_MSGSIZE;
	return CS_OK;
}

/* ---- groups ---------------------------------------------------------------- */

static cs_error_t name_check(const struct cpg_name *name)
{
	if (name == NULL)
		return CS_ERR_INVALID_PARAM;
	if (name->length > CPG_MAX_NAME_LENGTH)
		return CS_ERR_NAME_TOO_LONG;
	return CS_OK;
}

cs_error_t cpg_join(cpg_handle_t handle, const struct cpg_name *group)
{
	struct cpg_instance *instance;
	unsigned int flags;
	cs_error_t err = instance_get(handle, &instance);

	if (err != CS_OK)
		return err;
	flags = instance->flags;
	instance_put(handle);
	err = name_check(group);
	if (err != CS_OK)
		return err;
	/* An empty name would make a member no PROCDOWN can ever remove in corosync. */
	if (group->length == 0)
		return CS_ERR_INVALID_PARAM;
	err = cpg_groups_join(handle, group, flags);
	if (err == CS_OK)
		instance_set_joined(handle, true);
	return err;
}

/* As corosync, the name is not compared with the joined group's. */
cs_error_t cpg_leave(cpg_handle_t handle, const struct cpg_name *group)
{
	cs_error_t err = name_check(group);

	if (err != CS_OK)
		return err;
	err = cpg_groups_leave(handle);
	if (err == CS_OK)
		instance_set_joined(handle, false);
	return err;
}

/* The first piece may be refused with CS_ERR_TRY_AGAIN like any message;
 * once it is out, the rest waits up to about a second for room, which the
 * members make by dispatching (the sender too, when it is one: a call
 * never takes events in, so it dispatches on another thread meanwhile). */
static cs_error_t piece_send(cpg_handle_t handle, uint32_t part, uint64_t total, const uint8_t *piece,
			     size_t length)
{
	cs_error_t err;

	for (int tries = 0;; tries++) {
		err = cpg_groups_fragment(handle, part, total, piece, length);
		if (err != CS_ERR_TRY_AGAIN || part == PART_FIRST || tries == PIECE_RETRIES)
			return err;
		usleep(PIECE_RETRY_US);
	}
}

static cs_error_t pieces_send(cpg_handle_t handle, const uint8_t *message, size_t total)
{
	size_t offset = 0;
	cs_error_t err = CS_OK;

	while (err == CS_OK && offset < total) {
		size_t length = total - offset < CPG_MAX_ATOMIC_MSGSIZE ? total - offset
									: CPG_MAX_ATOMIC_MSGSIZE;
		uint32_t part = offset == 0                ? PART_FIRST
				: offset + length == total ? PART_LAST
							   : PART_CONTINUED;

		err = piece_send(handle, part, total, message + offset, length);
		offset += length;
	}
	return err;
}

static cs_error_t message_send(cpg_handle_t handle, const uint8_t *message, size_t total)
{
	if (total <= CPG_MAX_POSTED_MSGSIZE)
		return cpg_groups_mcast(handle, message, total);
	if (total <= CPG_MAX_ATOMIC_MSGSIZE)
		return cpg_groups_mcast_large(handle, message, total);
	return pieces_send(handle, message, total);
}

cs_error_t cpg_mcast_joined(cpg_handle_t handle, cpg_guarantee_t guarantee, const struct iovec *iovec,
			    unsigned int iov_len)
{
	bool joined;
	size_t total;
	uint8_t *message, *gathered;
	cs_error_t err = instance_joined(handle, &joined);

	if (err != CS_OK)
		return err;
	if (iovec == NULL && iov_len != 0)
		return CS_ERR_INVALID_PARAM;
	if (!joined)
		return CS_ERR_NOT_EXIST;
	err = cv_iovec_total(iovec, iov_len, &total);
	if (err != CS_OK)
		return err;
	if (total > CV_CPG_MAX_MESSAGE_SIZE)
		return CS_ERR_TOO_BIG;
	err = cv_iovec_gather(iovec, iov_len, &message, &total, &gathered);
	if (err == CS_OK)
		err = message_send(handle, message, total);
	free(gathered);
	return err;
}

/* corosync's API has no capacity argument; CPG_MEMBERS_MAX is the one the
 * header promises. */
cs_error_t cpg_membership_get(cpg_handle_t handle, struct cpg_name *groupName,
			      struct cpg_address *member_list, int *member_list_entries)
{
	struct cpg_address *members = NULL;
	size_t n_members = 0;
	size_t written;
	cs_error_t err = name_check(groupName);

	if (err != CS_OK)
		return err;
	if (member_list == NULL || member_list_entries == NULL)
		return CS_ERR_INVALID_PARAM;
	err = cpg_groups_members(handle, groupName, &members, &n_members);
	if (err != CS_OK)
		return err;
	written = n_members < CPG_MEMBERS_MAX ? n_members : CPG_MEMBERS_MAX;
	for (size_t i = 0; i < written; i++) {
		member_list[i] = members[i];
		member_list[i].reason = CPG_REASON_UNDEFINED;
	}
	*member_list_entries = (int)written;
	free(members);
	return n_members > CPG_MEMBERS_MAX ? CS_ERR_NO_SPACE : CS_OK;
}

/* ---- zero-copy buffers: plain heap memory, as corosync after 3.1.7 --------- */

cs_error_t cpg_zcb_alloc(cpg_handle_t handle, size_t size, void **buffer)
{
	if (buffer == NULL)
		return CS_ERR_INVALID_PARAM;
	*buffer = malloc(size > 0 ? size : 1);
	return *buffer != NULL ? CS_OK : CS_ERR_NO_MEMORY;
}

cs_error_t cpg_zcb_free(cpg_handle_t handle, void *buffer)
{
	free(buffer);
	return CS_OK;
}

cs_error_t cpg_zcb_mcast_joined(cpg_handle_t handle, cpg_guarantee_t guarantee, void *msg, size_t msg_len)
{
	struct iovec iov = { .iov_base = msg, .iov_len = msg_len };

	if (msg == NULL && msg_len != 0)
		return CS_ERR_INVALID_PARAM;
	return cpg_mcast_joined(handle, guarantee, &iov, 1);
}

/* ---- iteration ------------------------------------------------------------- */

static cs_error_t iteration_arguments_check(cpg_iteration_type_t type, const struct cpg_name *group,
					    const cpg_iteration_handle_t *out)
{
	if (out == NULL)
		return CS_ERR_INVALID_PARAM;
	switch (type) {
	case CPG_ITERATION_ONE_GROUP:
		return name_check(group);
	case CPG_ITERATION_NAME_ONLY:
	case CPG_ITERATION_ALL:
		return group == NULL ? CS_OK : CS_ERR_INVALID_PARAM;
	default:
		return CS_ERR_INVALID_PARAM;
	}
}

cs_error_t cpg_iteration_initialize(cpg_handle_t handle, cpg_iteration_type_t iteration_type,
				    const struct cpg_name *group,
				    cpg_iteration_handle_t *cpg_iteration_handle)
{
	struct cpg_iteration *it;
	cs_error_t err = iteration_arguments_check(iteration_type, group, cpg_iteration_handle);

	if (err != CS_OK)
		return err;
	it = calloc(1, sizeof(*it));
	if (it == NULL)
		return CS_ERR_NO_MEMORY;
	err = cpg_groups_snapshot(handle, iteration_type, group, &it->entries, &it->n_entries);
	if (err != CS_OK) {
		free(it);
		return err;
	}
	it->owner = handle;
	pthread_mutex_lock(&iterations_lock);
	it->id = next_iteration_id++;
	it->next = iterations;
	iterations = it;
	pthread_mutex_unlock(&iterations_lock);
	*cpg_iteration_handle = it->id;
	return CS_OK;
}

/* Lock held. */
static struct cpg_iteration **iteration_link(cpg_iteration_handle_t id)
{
	struct cpg_iteration **link = &iterations;

	while (*link != NULL && (*link)->id != id)
		link = &(*link)->next;
	return link;
}

/* Lock held. */
static cs_error_t iteration_step(struct cpg_iteration *it, struct cpg_iteration_description_t *description)
{
	if (it->next_entry == it->n_entries)
		return CS_ERR_NO_SECTIONS;
	*description = it->entries[it->next_entry++];
	return CS_OK;
}

cs_error_t cpg_iteration_next(cpg_iteration_handle_t handle, struct cpg_iteration_description_t *description)
{
	struct cpg_iteration *it;
	cs_error_t err = CS_ERR_BAD_HANDLE;

	pthread_mutex_lock(&iterations_lock);
	it = *iteration_link(handle);
	if (it != NULL)
		err = description == NULL ? CS_ERR_INVALID_PARAM : iteration_step(it, description);
	pthread_mutex_unlock(&iterations_lock);
	return err;
}

cs_error_t cpg_iteration_finalize(cpg_iteration_handle_t handle)
{
	struct cpg_iteration **link;
	struct cpg_iteration *it;

	pthread_mutex_lock(&iterations_lock);
	link = iteration_link(handle);
	it = *link;
	if (it != NULL)
		*link = it->next;
	pthread_mutex_unlock(&iterations_lock);
	if (it == NULL)
		return CS_ERR_BAD_HANDLE;
	free(it->entries);
	free(it);
	return CS_OK;
}
