/* How cluster mode reaches corosync, seen from a program linked like
 * conclaved's engine (test_corosync_link.py):
 *   link-probe engine      runs an engine until its first configuration
 *                          ("connected NODE", exit 0) or until it gives up
 *                          ("failed WHY", exit 3); prints first which
 *                          libcpg.so.4 this process mapped ("libcpg PATH")
 *   link-probe peer PATH   who serves the Unix socket PATH
 *   link-probe self        who is at the other end of a socketpair
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cv-corosync-link.h"
#include "cv-engine.h"

static const char *const peer_names[] = {
	[CV_PEER_COROSYNC] = "corosync", [CV_PEER_UNKNOWN] = "unknown", [CV_PEER_CONCLAVED] = "conclaved",
	[CV_PEER_SELF] = "self",         [CV_PEER_OTHER] = "other",     [CV_PEER_ERROR] = "error",
};

static int outcome = -1;

static void print_mapped_libcpg(void)
{
	char line[4096];
	FILE *maps = fopen("/proc/self/maps", "r");

	while (maps && fgets(line, sizeof(line), maps)) {
		char *path = strchr(line, '/');
		if (path && strstr(path, "/libcpg.so")) {
			printf("libcpg %s", path);
			break;
		}
	}
	if (maps)
		fclose(maps);
}

static void on_deliver(void *ctx, uint32_t nodeid, uint32_t pid, const void *data, size_t length)
{
}

static void on_view(void *ctx, const struct cv_engine_view *view)
{
	printf("connected %u\n", view->members[0].nodeid);
	outcome = 0;
}

static void on_log(void *ctx, int level, const char *text)
{
	fprintf(stderr, "link-probe: %s\n", text);
}

static void on_failed(void *ctx, const char *why)
{
	printf("failed %s\n", why);
	outcome = 3;
}

static int run_engine(void)
{
	struct cv_engine_config config;
	struct cv_engine_callbacks callbacks = {
		.deliver = on_deliver,
		.view = on_view,
		.log = on_log,
		.failed = on_failed,
	};
	struct cv_engine *e;

	print_mapped_libcpg();
	cv_engine_config_default(&config);
	config.group = "link-probe";
	config.reconnect_attempts = 3;
	e = cv_engine_new(&config, &callbacks, NULL);
	for (int i = 0; e && outcome < 0 && i < 2000; i++) {
		struct pollfd pfd = { .fd = cv_engine_fd(e), .events = POLLIN };
		poll(&pfd, 1, cv_engine_timeout(e) < 0 ? 100 : cv_engine_timeout(e));
		cv_engine_process(e);
		cv_engine_flush(e);
	}
	cv_engine_free(e);
	return outcome < 0 ? 1 : outcome;
}

static int identify(int fd)
{
	char what[4352];
	enum cv_link_peer peer = cv_link_identify_peer(fd, what, sizeof(what));

	printf("%s %s\n", peer_names[peer], what);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "engine") == 0)
		return run_engine();
	if (argc == 3 && strcmp(argv[1], "peer") == 0) {
		struct sockaddr_un addr = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", argv[2]);
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
			perror(argv[2]);
			return 1;
		}
		return identify(fd);
	}
	if (argc == 2 && strcmp(argv[1], "self") == 0) {
		int pair[2];
		socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
		return identify(pair[0]);
	}
	fprintf(stderr, "usage: link-probe engine | peer PATH | self\n");
	return 2;
}
