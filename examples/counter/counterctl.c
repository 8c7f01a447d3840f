/* counterctl: the counter service's command-line client, on libcounter.
 *   counterctl get          prints the counter
 *   counterctl add DELTA    adds DELTA and prints the new value
 *   counterctl watch N      prints the next N values other processes set
 * Exit status: 0, 1 for a bad command line, 2 when a call fails. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/corotypes.h>
#include <counter.h>

static long watched, to_watch;

static void changed(counter_handle_t handle, int64_t value)
{
	printf("%" PRId64 "\n", value);
	fflush(stdout);
	watched++;
}

static int failed(const char *call, cs_error_t err)
{
	fprintf(stderr, "counterctl: %s: %s\n", call, cs_strerror(err));
	return 2;
}

static int parse_number(const char *text, long long *out)
{
	char *end;
	errno = 0;
	*out = strtoll(text, &end, 10);
	return errno || end == text || *end ? -1 : 0;
}

static int watch(counter_handle_t handle)
{
	cs_error_t err = counter_trackstart(handle);
	if (err != CS_OK)
		return failed("counter_trackstart", err);
	printf("watching\n");
	fflush(stdout);
	while (watched < to_watch) {
		err = counter_dispatch(handle, CS_DISPATCH_ONE);
		if (err != CS_OK)
			return failed("counter_dispatch", err);
	}
	return 0;
}

static int run(counter_handle_t handle, const char *command, long long number)
{
	int64_t value;
	cs_error_t err;
	if (strcmp(command, "watch") == 0) {
		to_watch = number;
		return watch(handle);
	}
	err = strcmp(command, "add") == 0 ? counter_add(handle, number, &value) : counter_get(handle, &value);
	if (err != CS_OK)
		return failed(strcmp(command, "add") == 0 ? "counter_add" : "counter_get", err);
	printf("%" PRId64 "\n", value);
	return 0;
}

int main(int argc, char **argv)
{
	counter_callbacks_t callbacks = { .counter_changed_fn = changed };
	counter_handle_t handle;
	long long number = 0;
	cs_error_t err;
	int status;
	bool takes_number = argc == 3 && (strcmp(argv[1], "add") == 0 || strcmp(argv[1], "watch") == 0);
	if (!(argc == 2 && strcmp(argv[1], "get") == 0) &&
	    !(takes_number && parse_number(argv[2], &number) == 0)) {
		fprintf(stderr, "usage: counterctl get | add DELTA | watch N\n");
		return 1;
	}
	err = counter_initialize(&handle, &callbacks);
	if (err != CS_OK)
		return failed("counter_initialize", err);
	status = run(handle, argv[1], number);
	counter_finalize(handle);
	return status;
}
