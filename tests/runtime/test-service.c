#include <stdlib.h>
#include <string.h>

#include "test-service.h"
#include "test-util.h"

struct cv_handle_table test_handles = CV_HANDLE_TABLE_INIT;

static cs_error_t deliver_tick(uint64_t handle, cv_callback_fn fn, const ProtobufCMessage *message)
{
	const TestTickEvent *event = (const TestTickEvent *)message;

	((test_tick_fn)fn)(handle, event->value);
	return CS_OK;
}

static cs_error_t deliver_note(uint64_t handle, cv_callback_fn fn, const ProtobufCMessage *message)
{
	const TestNoteEvent *event = (const TestNoteEvent *)message;

	((test_note_fn)fn)(handle, event->text);
	return CS_OK;
}

static cs_error_t deliver_blob(uint64_t handle, cv_callback_fn fn, const ProtobufCMessage *message)
{
	const TestBlobEvent *event = (const TestBlobEvent *)message;

	((test_blob_fn)fn)(handle, event->blob.data, event->blob.len);
	return CS_OK;
}

static const struct cv_event_desc test_events[TEST_EVENT_COUNT] = {
	[TEST_EVENT_TICK] = { "tick", &test_tick_event__descriptor, deliver_tick },
	[TEST_EVENT_NOTE] = { "note", &test_note_event__descriptor, deliver_note },
	[TEST_EVENT_BLOB] = { "blob", &test_blob_event__descriptor, deliver_blob },
};

const struct cv_client_service test_service = {
	.name = TEST_SERVICE_NAME,
	.version_major = TEST_VERSION_MAJOR,
	.version_minor = TEST_VERSION_MINOR,
	.n_events = TEST_EVENT_COUNT,
	.events = test_events,
	.handles = &test_handles,
};

struct test_record record = { .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER };

static void record_tick(uint64_t handle, uint32_t value)
{
	void (*hook)(uint64_t handle, uint32_t value);

	pthread_mutex_lock(&record.lock);
	if (record.ticks < RECORD_MAX_TICKS)
		record.tick_values[record.ticks] = value;
	record.ticks++;
	record.last_handle = handle;
	hook = record.on_tick;
	pthread_cond_broadcast(&record.changed);
	pthread_mutex_unlock(&record.lock);
	if (hook != NULL)
		hook(handle, value);
}

static void record_note(uint64_t handle, const char *text)
{
	pthread_mutex_lock(&record.lock);
	record.notes++;
	record.last_handle = handle;
	strncpy(record.last_note, text, sizeof(record.last_note) - 1);
	pthread_mutex_unlock(&record.lock);
}

uint8_t blob_byte(size_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

uint32_t blob_sum(const uint8_t *blob, size_t length)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < length; i++)
		sum = sum * 31 + blob[i];
	return sum;
}

static void record_blob(uint64_t handle, const uint8_t *blob, size_t length)
{
	pthread_mutex_lock(&record.lock);
	record.blobs++;
	record.last_handle = handle;
	record.last_blob_length = length;
	record.last_blob_sum = blob_sum(blob, length);
	pthread_mutex_unlock(&record.lock);
}

const cv_callback_fn recording_callbacks[TEST_EVENT_COUNT] = {
	[TEST_EVENT_TICK] = (cv_callback_fn)record_tick,
	[TEST_EVENT_NOTE] = (cv_callback_fn)record_note,
	[TEST_EVENT_BLOB] = (cv_callback_fn)record_blob,
};

void record_reset(void)
{
	pthread_mutex_lock(&record.lock);
	record.ticks = 0;
	record.notes = 0;
	record.blobs = 0;
	record.last_blob_length = 0;
	record.last_blob_sum = 0;
	record.last_handle = 0;
	record.last_note[0] = '\0';
	record.on_tick = NULL;
	pthread_mutex_unlock(&record.lock);
}

unsigned int record_ticks(void)
{
	unsigned int n;

	pthread_mutex_lock(&record.lock);
	n = record.ticks;
	pthread_mutex_unlock(&record.lock);
	return n;
}

unsigned int record_notes(void)
{
	unsigned int n;

	pthread_mutex_lock(&record.lock);
	n = record.notes;
	pthread_mutex_unlock(&record.lock);
	return n;
}

unsigned int record_blobs(void)
{
	unsigned int n;

	pthread_mutex_lock(&record.lock);
	n = record.blobs;
	pthread_mutex_unlock(&record.lock);
	return n;
}

uint32_t record_tick_value(unsigned int i)
{
	uint32_t value;

	pthread_mutex_lock(&record.lock);
	value = i < RECORD_MAX_TICKS ? record.tick_values[i] : 0;
	pthread_mutex_unlock(&record.lock);
	return value;
}

static bool blob_echoed(const TestEchoRequest *request, const TestEchoReply *reply)
{
	return reply->blob.len == request->blob.len &&
	       (reply->blob.len == 0 || memcmp(reply->blob.data, request->blob.data, reply->blob.len) == 0);
}

static cs_error_t echo_request(uint64_t handle, TestEchoRequest *request, uint32_t *reply_value)
{
	ProtobufCMessage *reply = NULL;
	cs_error_t err;

	err = cv_client_call(&test_service, handle, TEST_REQUEST_ECHO, &request->base,
			     &test_echo_reply__descriptor, &reply);
	if (reply != NULL && reply_value != NULL)
		*reply_value = ((TestEchoReply *)reply)->value;
	if (reply != NULL && err == CS_OK && !blob_echoed(request, (TestEchoReply *)reply))
		err = CS_ERR_LIBRARY;
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
	return err;
}

cs_error_t test_echo(uint64_t handle, uint32_t value, uint32_t *reply_value)
{
	TestEchoRequest request = TEST_ECHO_REQUEST__INIT;

	request.value = value;
	return echo_request(handle, &request, reply_value);
}

cs_error_t test_echo_blob(uint64_t handle, size_t size)
{
	TestEchoRequest request = TEST_ECHO_REQUEST__INIT;
	cs_error_t err;

	request.blob.len = size;
	request.blob.data = malloc(size ? size : 1);
	if (request.blob.data == NULL)
		return CS_ERR_NO_MEMORY;
	for (size_t i = 0; i < size; i++)
		request.blob.data[i] = blob_byte(i);
	err = echo_request(handle, &request, NULL);
	free(request.blob.data);
	return err;
}

cs_error_t test_notify(uint64_t handle, uint32_t value)
{
	TestNotifyRequest request = TEST_NOTIFY_REQUEST__INIT;

	request.value = value;
	return cv_client_call(&test_service, handle, TEST_REQUEST_NOTIFY, &request.base, NULL, NULL);
}

cs_error_t test_notify_post(uint64_t handle, uint32_t value)
{
	TestNotifyRequest request = TEST_NOTIFY_REQUEST__INIT;

	request.value = value;
	return cv_client_post(&test_service, handle, TEST_REQUEST_NOTIFY, &request.base);
}

bool record_wait_ticks(unsigned int n, int timeout_ms)
{
	struct timespec deadline = deadline_after(timeout_ms);
	bool reached;

	pthread_mutex_lock(&record.lock);
	while (record.ticks < n && pthread_cond_timedwait(&record.changed, &record.lock, &deadline) == 0)
		;
	reached = record.ticks >= n;
	pthread_mutex_unlock(&record.lock);
	return reached;
}
