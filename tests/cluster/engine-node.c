/* One node's engine for the multi-node tests (test_engine.py), driven
 * through stdin, one command a line:
 *   send COUNT SIZE   submit COUNT messages of SIZE bytes, waiting for room
 *                     when the engine refuses; prints "accepted TOTAL" once
 *                     all are in
 *   stats             prints the engine's counters
 *   quit              exits
 * Every delivery is appended to LOG as "ORIGIN INDEX SIZE" (with " BAD" when
 * its content is not what its sender wrote), every settled configuration as
 * "# view N members"; every settled configuration is printed as
 * "view connected=C members=N1,N2,... joined=... left=...".
 *
 *   engine-node NODE LOG [max_held BYTES] [batch BYTES]
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cv-engine.h"

#define MAGIC 0x31545354u /* "TST1" */

struct test_message {
	uint32_t magic, origin;
	uint64_t index;
	uint32_t length, sum;
};

static struct cv_engine *engine;
static FILE *deliveries;
static uint32_t self;
static uint64_t next_index, accepted, pending;
static size_t pending_size;
static uint64_t refusals;
static uint8_t *buffer;

static uint8_t filler(uint64_t index, size_t i)
{
	return (uint8_t)(index * 31 + i * 7);
}

static uint32_t checksum(const uint8_t *bytes, size_t length)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < length; i++)
		sum = sum * 33 + bytes[i];
	return sum;
}

static size_t make_message(uint64_t index, size_t size)
{
	struct test_message m = { MAGIC, self, index, (uint32_t)size, 0 };
	size_t head = size < sizeof(m) ? size : sizeof(m);

	for (size_t i = sizeof(m); i < size; i++)
		buffer[i] = filler(index, i);
	m.sum = size > sizeof(m) ? checksum(buffer + sizeof(m), size - sizeof(m)) : 0;
	memcpy(buffer, &m, head);
	return size;
}

static void on_deliver(void *ctx, uint32_t nodeid, uint32_t pid, const void *data, size_t length)
{
	struct test_message m;
	bool good = length >= sizeof(m);

	if (good) {
		memcpy(&m, data, sizeof(m));
		good = m.magic == MAGIC && m.origin == nodeid && m.length == length &&
		       m.sum == checksum((const uint8_t *)data + sizeof(m), length - sizeof(m));
	}
	fprintf(deliveries, "%u %llu %zu%s\n", nodeid, good ? (unsigned long long)m.index : 0ull, length,
		good ? "" : " BAD");
}

static void print_members(const char *name, const struct cv_engine_member *list, size_t n)
{
	printf(" %s=", name);
	for (size_t i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", list[i].nodeid);
}

static void on_view(void *ctx, const struct cv_engine_view *view)
{
	fprintf(deliveries, "# view %zu members\n", view->n_members);
	fflush(deliveries);
	printf("view connected=%d ring=%u.%llu", view->connected, view->ring_nodeid,
	       (unsigned long long)view->ring_seq);
	print_members("members", view->members, view->n_members);
	print_members("joined", view->joined, view->n_joined);
	print_members("left", view->left, view->n_left);
	printf("\n");
	fflush(stdout);
}

static ssize_t on_collect_state(void *ctx, void *buf, size_t cap)
{
	return snprintf(buf, cap, "node %u", self);
}

static void on_log(void *ctx, int level, const char *text)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "%ld.%03ld engine-node %u: %s\n", (long)ts.tv_sec, ts.tv_nsec / 1000000, self, text);
}

static void on_failed(void *ctx, const char *why)
{
	printf("failed %s\n", why);
	fflush(stdout);
}

/* Submits what is pending until the engine refuses, a slice per loop
 * turn, as a daemon takes its clients' messages while it serves the rest. */
static void submit_pending(void)
{
	for (int slice = 0; pending > 0 && slice < 2000; slice++) {
		size_t length = make_message(next_index, pending_size);
		int rc = cv_engine_submit(engine, buffer, length);
		if (rc == -EAGAIN) {
			refusals++;
			return;
		}
		if (rc != 0) {
			printf("error submit: %s\n", strerror(-rc));
			exit(1);
		}
		next_index++;
		accepted++;
		if (--pending == 0) {
			printf("accepted %llu\n", (unsigned long long)accepted);
			fflush(stdout);
		}
	}
}

static void print_stats(void)
{
	struct cv_engine_stats s;

	cv_engine_stats(engine, &s);
	printf("stats nodeid=%u connected=%d settled=%d submitted=%llu delivered=%llu packets=%llu rewinds=%llu "
	       "try_again=%llu malformed=%llu out_of_order=%llu duplicates=%llu held=%zu refusals=%llu\n",
	       s.nodeid, s.connected, s.settled, (unsigned long long)s.submitted,
	       (unsigned long long)s.delivered, (unsigned long long)s.packets_sent,
	       (unsigned long long)s.rewinds, (unsigned long long)s.try_again,
	       (unsigned long long)s.dropped_malformed, (unsigned long long)s.dropped_out_of_order,
	       (unsigned long long)s.duplicates, s.held_bytes, (unsigned long long)refusals);
	fflush(stdout);
}

/* One command from stdin; false on quit or end of input. */
static bool command(const char *line)
{
	unsigned long long count;
	size_t size;

	if (sscanf(line, "send %llu %zu", &count, &size) == 2 && size >= sizeof(struct test_message) &&
	    size <= 64u << 20) {
		pending = count;
		pending_size = size;
		submit_pending();
	} else if (strncmp(line, "stats", 5) == 0) {
		fflush(deliveries);
		print_stats();
	} else if (strncmp(line, "quit", 4) == 0) {
		return false;
	} else {
		printf("error unknown command: %s", line);
		fflush(stdout);
	}
	return true;
}

static void loop(void)
{
	char line[256];

	for (;;) {
		struct pollfd fds[2] = { { .fd = 0, .events = POLLIN },
					 { .fd = cv_engine_fd(engine), .events = POLLIN } };
		int n = poll(fds, 2, cv_engine_timeout(engine));
		if (n < 0 && errno != EINTR)
			exit(1);
		if (fds[0].revents) {
			if (fgets(line, sizeof(line), stdin) == NULL || !command(line))
				return;
		}
		cv_engine_process(engine);
		submit_pending();
		cv_engine_flush(engine);
		fflush(deliveries);
	}
}

int main(int argc, char **argv)
{
	struct cv_engine_config config;
	struct cv_engine_callbacks callbacks = {
		.deliver = on_deliver,
		.view = on_view,
		.collect_state = on_collect_state,
		.log = on_log,
		.failed = on_failed,
	};

	if (argc < 3) {
		fprintf(stderr, "usage: engine-node NODE LOG [max_held BYTES] [batch BYTES]\n");
		return 2;
	}
	self = (uint32_t)atoi(argv[1]);
	cv_engine_config_default(&config);
	for (int i = 3; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "max_held") == 0)
			config.max_held = strtoull(argv[i + 1], NULL, 0);
		else if (strcmp(argv[i], "batch") == 0)
			config.batch_bytes = strtoull(argv[i + 1], NULL, 0);
	}
	if (config.max_held < config.max_message + 4)
		config.max_message = config.max_held / 2;
	deliveries = fopen(argv[2], "a");
	buffer = malloc(64u << 20);
	engine = cv_engine_new(&config, &callbacks, NULL);
	if (deliveries == NULL || buffer == NULL || engine == NULL) {
		perror("engine-node");
		return 1;
	}
	setvbuf(deliveries, NULL, _IOFBF, 1 << 16);
	loop();
	print_stats();
	cv_engine_free(engine);
	fclose(deliveries);
	free(buffer);
	return 0;
}
