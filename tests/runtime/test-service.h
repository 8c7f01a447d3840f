/* A small service for the runtime's unit tests: two events and two requests,
 * described the way generated code describes a real one, plus a recorder of
 * the callbacks that ran.
 */
#ifndef CONCLAVE_TEST_SERVICE_H
#define CONCLAVE_TEST_SERVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <conclave/client-runtime.h>
#include "test.pb-c.h"

#define TEST_SERVICE_NAME "test"
#define TEST_VERSION_MAJOR 1
#define TEST_VERSION_MINOR 2

enum test_event_id {
	TEST_EVENT_TICK = 0,
	TEST_EVENT_NOTE = 1,
	TEST_EVENT_BLOB = 2,
	TEST_EVENT_COUNT = 3,
};

enum test_request_id {
	TEST_REQUEST_ECHO = 0,   /* TestEchoRequest -> TestEchoReply */
	TEST_REQUEST_NOTIFY = 1, /* TestNotifyRequest, one-way */
};

typedef void (*test_tick_fn)(uint64_t handle, uint32_t value);
typedef void (*test_note_fn)(uint64_t handle, const char *text);
typedef void (*test_blob_fn)(uint64_t handle, const uint8_t *blob, size_t length);

extern struct cv_handle_table test_handles;
extern const struct cv_client_service test_service;

#define RECORD_MAX_TICKS 4096

/* What the recording callbacks saw. Guarded by lock: dispatch may run on
 * another thread than the one asserting. */
struct test_record {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	unsigned int ticks;
	uint32_t tick_values[RECORD_MAX_TICKS];
	unsigned int notes;
	char last_note[64];
	unsigned int blobs;
	size_t last_blob_length;
	uint32_t last_blob_sum; /* of its bytes */
	uint64_t last_handle;
	/* Runs after a tick is recorded, on the dispatching thread. */
	void (*on_tick)(uint64_t handle, uint32_t value);
};

extern struct test_record record;
/* {record_tick, record_note, record_blob}: pass to cv_client_initialize. */
extern const cv_callback_fn recording_callbacks[TEST_EVENT_COUNT];

void record_reset(void);
unsigned int record_ticks(void);
unsigned int record_notes(void);
unsigned int record_blobs(void);
uint8_t blob_byte(size_t i);
uint32_t blob_sum(const uint8_t *blob, size_t length);
uint32_t record_tick_value(unsigned int i);
/* True once `n` ticks were recorded, waiting up to timeout_ms. */
bool record_wait_ticks(unsigned int n, int timeout_ms);

/* Sends TEST_REQUEST_ECHO with `value` and returns the reply's value. */
cs_error_t test_echo(uint64_t handle, uint32_t value, uint32_t *reply_value);
/* Sends TEST_REQUEST_ECHO carrying a blob of `size` bytes (blob_byte(i)
 * at i); CS_ERR_LIBRARY when the reply's blob differs. */
cs_error_t test_echo_blob(uint64_t handle, size_t size);
/* Sends the one-way TEST_REQUEST_NOTIFY. */
cs_error_t test_notify(uint64_t handle, uint32_t value);
/* The same, posted with cv_client_post: CS_ERR_TRY_AGAIN when the socket is full. */
cs_error_t test_notify_post(uint64_t handle, uint32_t value);

#endif
