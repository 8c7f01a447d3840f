/* Service modules: a real conclaved loads echo.so from its service
 * directory and serves it, refuses a module built for another service API,
 * an object that is no module and a file that is no object, naming each
 * file in its log, and serves the others; conclavectl reads the module's
 * catalog from the same directory and calls its request by name. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <conclave/service.h> /* CV_SERVICE_API */

#include "daemon-peer.h"
#include "quorum.pb-c.h"

static char module_dir[64];
static struct test_daemon daemon_under_test;

static int link_module(const char *name)
{
	char from[PATH_MAX], to[PATH_MAX];

	snprintf(from, sizeof(from), "%s/%s", TEST_SERVICE_DIR, name);
	snprintf(to, sizeof(to), "%s/%s", module_dir, name);
	return symlink(from, to);
}

static int write_file(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", module_dir, name);
	if (!(f = fopen(path, "w")))
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int start_with_modules(void **state)
{
	char config[512];

	snprintf(module_dir, sizeof(module_dir), "/tmp/conclave-modules-XXXXXX");
	if (!mkdtemp(module_dir) || link_module("echo.so") < 0 || link_module("mismatched.so") < 0 ||
	    link_module("nomodule.so") < 0 || write_file("garbage.so", "not an object\n") < 0 ||
	    write_file("README", "not a module: no .so\n") < 0)
		return -1;
	snprintf(config, sizeof(config), TEST_SINGLE_NODE_SECTIONS "conclave {\n\tservice_dir: %s\n}\n",
		 module_dir);
	return test_daemon_start(&daemon_under_test, config);
}

static int stop(void **state)
{
	const char *const names[] = { "echo.so", "mismatched.so", "nomodule.so", "garbage.so", "README" };
	char path[PATH_MAX];
	int status = test_daemon_stop(&daemon_under_test);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", module_dir, names[i]);
		unlink(path);
	}
	rmdir(module_dir);
	return status;
}

static int plus_one(int fd, uint32_t arg, uint32_t *answer)
{
	QuorumTrackstartRequest request = QUORUM_TRACKSTART_REQUEST__INIT;
	QuorumModelGettypeReply *reply = NULL;
	int status;

	request.flags = arg;
	status = raw_call(fd, 0, &request.base, &quorum_model_gettype_reply__descriptor,
			  (ProtobufCMessage **)&reply);
	if (reply) {
		*answer = reply->quorum_type;
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	}
	return status;
}

static void assert_logged(const char *module, const char *why)
{
	char first[PATH_MAX];

	snprintf(first, sizeof(first), "service module %s/%s not loaded: ", module_dir, module);
	assert_true(test_daemon_log_has(&daemon_under_test, first, why, 2000));
}

static void test_a_module_serves_its_clients(void **state)
{
	int fd = raw_client(daemon_under_test.socket, "echo");
	uint32_t answer = 0;

	assert_true(fd >= 0);
	assert_int_equal(plus_one(fd, 41, &answer), CS_OK);
	assert_int_equal(answer, 42);
	assert_true(test_daemon_log_contains(&daemon_under_test, "echo: connection", 2000));
	assert_true(test_daemon_log_has(&daemon_under_test, "service echo loaded from ", "/echo.so", 0));
	close(fd);
}

/* conclavectl's output (stdout and stderr) for args, in out. */
static void conclavectl(const char *args, char *out, size_t size)
{
	char command[PATH_MAX * 2];
	size_t used;
	FILE *p;

	snprintf(command, sizeof(command), "CONCLAVE_SOCKET=%s %s %s 2>&1", daemon_under_test.socket,
		 CONCLAVECTL_PATH, args);
	p = popen(command, "r");
	assert_non_null(p);
	used = fread(out, 1, size - 1, p);
	out[used] = '\0';
	assert_true(pclose(p) != -1);
}

static void test_conclavectl_lists_and_calls_a_module_service(void **state)
{
	char args[PATH_MAX], out[8192];

	snprintf(args, sizeof(args), "call --service-dir %s", module_dir);
	conclavectl(args, out, sizeof(out));
	assert_non_null(strstr(out, "\ncpg 1.0: "));
	assert_non_null(strstr(out, "\necho 1.0: 1 requests, 0 events\n"));
	assert_non_null(strstr(out, "garbage.so"));
	snprintf(args, sizeof(args), "call --service-dir %s echo", module_dir);
	conclavectl(args, out, sizeof(out));
	assert_non_null(strstr(out, "plus_one(flags: uint32) -> (quorum_type: uint32)\n"));
	snprintf(args, sizeof(args), "call --service-dir %s echo plus_one flags=41", module_dir);
	conclavectl(args, out, sizeof(out));
	assert_non_null(strstr(out, "status=CS_OK\nquorum_type=42\n"));
	assert_true(test_daemon_log_contains(&daemon_under_test, "echo -> plus_one(flags=41)", 2000));
	assert_true(test_daemon_log_contains(&daemon_under_test, "echo <- plus_one = CS_OK (quorum_type=42)",
					     2000));
}

/* The service directory conclaved's configuration file names. */
static void test_conclavectl_reads_the_service_dir_from_the_configuration(void **state)
{
	char args[PATH_MAX], out[8192];

	snprintf(args, sizeof(args), "call --config %s echo plus_one flags=6", daemon_under_test.config);
	conclavectl(args, out, sizeof(out));
	assert_non_null(strstr(out, "status=CS_OK\nquorum_type=7\n"));
	conclavectl("call --config /nonexistent/conclave.conf echo", out, sizeof(out));
	assert_non_null(strstr(out, "no service echo"));
}

static void test_conclavectl_knows_no_module_outside_its_service_dir(void **state)
{
	char out[8192];

	conclavectl("call --service-dir /nonexistent/conclave echo plus_one flags=1", out, sizeof(out));
	assert_non_null(strstr(out, "no service echo"));
	conclavectl("call --service-dir", out, sizeof(out));
	assert_non_null(strstr(out, "--service-dir needs a directory"));
	conclavectl("monitor --config", out, sizeof(out));
	assert_non_null(strstr(out, "--config needs a file"));
}

static void test_unusable_modules_are_refused_naming_their_file(void **state)
{
	char why[64];

	snprintf(why, sizeof(why), "built for service API 1, conclaved has %d", CV_SERVICE_API);
	assert_logged("mismatched.so", why);
	assert_logged("nomodule.so", "it defines no conclave_service_module");
	assert_logged("garbage.so", "garbage.so");
	assert_false(test_daemon_log_contains(&daemon_under_test, "README", 0));
	assert_daemon_serves(&daemon_under_test);
}

static void test_a_service_not_loaded_is_not_supported(void **state)
{
	struct test_daemon own;
	int fd;

	assert_int_equal(test_daemon_start(&own, TEST_SINGLE_NODE_SECTIONS
					   "conclave {\n\tservice_dir: /nonexistent/conclave\n}\n"),
			 0);
	fd = raw_connect(own.socket);
	assert_true(fd >= 0);
	assert_int_equal(raw_handshake(fd, "echo"), CS_ERR_NOT_SUPPORTED);
	assert_true(test_daemon_log_contains(&own, "HELLO for service 'echo', which is not offered", 2000));
	close(fd);
	assert_int_equal(test_daemon_stop(&own), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_module_serves_its_clients),
		cmocka_unit_test(test_unusable_modules_are_refused_naming_their_file),
		cmocka_unit_test(test_conclavectl_lists_and_calls_a_module_service),
		cmocka_unit_test(test_conclavectl_reads_the_service_dir_from_the_configuration),
		cmocka_unit_test(test_conclavectl_knows_no_module_outside_its_service_dir),
		cmocka_unit_test(test_a_service_not_loaded_is_not_supported),
	};

	return cmocka_run_group_tests(tests, start_with_modules, stop);
}
