#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <conclave/cmap-store.h>
#include <conclave/config.h>
#include <conclave/settings.h>
#include <conclave/cluster.h>

#include "cv-wire.h"
#include "cv-daemon.h"
#include "cv-log.h"
#include "cv-loop.h"
#include "cv-notify.h"
#include "cv-sched.h"
#include "cv-conf-usage.h"
#include "cmap-maps.h"

struct options {
	const char *socket_path;
	const char *config_path;
	bool config_explicit;
	bool foreground;
	bool debug;
};

static struct cv_settings settings; /* fixed at start */
static struct cv_conf *conf;
/* The file last loaded into cmap, for the next reload to replace. */
static struct cv_settings loaded_settings;
static struct cv_conf *loaded_conf;
static char config_path[PATH_MAX]; /* absolute: the daemon changes to / */
static bool debug_option;
static struct cv_watch signal_watch = { .fd = -1 };

static void usage(FILE *out)
{
	fprintf(out, "usage: conclaved [-f] [-d] [-c FILE] [-s PATH]\n"
		     "  -f       stay in the foreground\n"
		     "  -d       log debug messages\n"
		     "  -c FILE  configuration file (default " CV_DEFAULT_CONFIG_PATH ")\n"
		     "  -s PATH  listening socket (default " CV_DEFAULT_SOCKET_PATH ")\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	int c;

	*o = (struct options){ .socket_path = CV_DEFAULT_SOCKET_PATH, .config_path = CV_DEFAULT_CONFIG_PATH };
	while ((c = getopt(argc, argv, "fdc:s:h")) != -1) {
		switch (c) {
		case 'f':
			o->foreground = true;
			break;
		case 'd':
			o->debug = true;
			break;
		case 'c':
			o->config_path = optarg;
			o->config_explicit = true;
			break;
		case 's':
			o->socket_path = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* The services, built in and loaded, read their settings and are offered,
 * then the cmap maps are made, which list them. */
static int offer_services(char *err, size_t err_size)
{
	const struct cv_server_service *const *services;
	size_t n;

	cv_sessions_init(&settings);
	if (cv_services_configure(conf, err, err_size) < 0)
		return -1;
	cv_modules_load(settings.service_dir, conf);
	if (cv_settings_check_conclave_section(conf, err, err_size) < 0)
		return -1;
	services = cv_server_services(&n);
	return cmap_maps_init(&settings, services, n, err, err_size);
}

static void warn_unused_key(const char *path, const struct cv_conf_node *key, void *data)
{
	const struct cv_conf *c = data;

	cv_log_warning("%s:%u: %s is not used by conclaved (it is readable in cmap)", c->file, key->line,
		       path);
}

static void warn_unused_keys(const struct cv_conf *c)
{
	cv_conf_for_each_unused_key(c, warn_unused_key, (void *)c);
}

/* A missing default file means "no configuration"; a missing -c file is an
 * error. Errors are printed as FILE:LINE: error: message. */
static int load_configuration(const struct options *o)
{
	char err[CV_CONF_ERROR_MAX + 256];

	if (!o->config_explicit && access(o->config_path, F_OK) < 0 && errno == ENOENT) {
		conf = NULL;
	} else if (cv_conf_parse_file(o->config_path, &conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (cv_settings_load(conf, &settings, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (!realpath(o->config_path, config_path))
		snprintf(config_path, sizeof(config_path), "%s", o->config_path);
	loaded_conf = conf;
	loaded_settings = settings;
	if (offer_services(err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

/* The node list is fixed at start: a reload may change votes, not nodes. */
static bool same_nodes(const struct cv_settings *a, const struct cv_settings *b)
{
	if (a->n_nodes != b->n_nodes || a->local_node != b->local_node ||
	    a->have_nodelist != b->have_nodelist)
		return false;
	for (size_t i = 0; i < a->n_nodes; i++)
		if (a->nodes[i].nodeid != b->nodes[i].nodeid)
			return false;
	return true;
}

static int parse_for_reload(struct cv_conf **next_conf, struct cv_settings *next, char *err, size_t err_size)
{
	if (cv_conf_parse_file(config_path, next_conf, err, err_size) < 0 ||
	    cv_settings_load(*next_conf, next, err, err_size) < 0)
		return -1;
	if (!same_nodes(&settings, next)) {
		snprintf(err, err_size, "the nodes changed: restart conclaved");
		return -1;
	}
	return cv_services_check_reload(*next_conf, err, err_size) < 0 ||
			       cv_settings_check_conclave_section(*next_conf, err, err_size) < 0
		       ? -1
		       : 0;
}

/* As corosync, which tools such as corosync-cfgtool -R read back. */
static cs_error_t record_reload_result(cs_error_t result, const char *err)
{
	int32_t status = result;

	cmap_store_write(cmap_default_map(), "config.reload_status", CMAP_STORE_INT32, &status,
			 sizeof(status));
	if (err)
		cmap_store_write_string(cmap_default_map(), "config.reload_error_message", err);
	else
		cmap_store_erase(cmap_default_map(), "config.reload_error_message");
	return result;
}

/* SIGHUP and corosync_cfg_reload_config(): the file's keys in cmap are
 * replaced, and what follows cmap (votes, uidgid) takes effect. On an error
 * cmap keeps its keys and config.reload_error_message says why, as in
 * corosync. */
cs_error_t cv_server_reload_configuration(void)
{
	static struct cv_settings next;
	struct cv_conf *next_conf = NULL;
	char err[CV_CONF_ERROR_MAX + 256];

	if (!conf) {
		cv_log_warning("conclaved started without a configuration file; nothing to reload");
		return CS_ERR_NOT_SUPPORTED;
	}
	if (parse_for_reload(&next_conf, &next, err, sizeof(err)) < 0 ||
	    cmap_config_reload(cmap_default_map(), &loaded_settings, &next, err, sizeof(err)) < 0) {
		cv_log_error("configuration not reloaded: %s", err);
		cv_conf_free(next_conf);
		return record_reload_result(CS_ERR_INVALID_PARAM, err);
	}
	if (loaded_conf != conf)
		cv_conf_free(loaded_conf);
	loaded_conf = next_conf;
	loaded_settings = next;
	cv_log_set_debug(debug_option || next.debug);
	cv_log_set_rate_limit(next.limits.log_rate_burst, next.limits.log_rate_interval_ms);
	cv_log_set_targets(&next.log);
	cv_log_info("configuration reloaded from %s", config_path);
	warn_unused_keys(next_conf);
	return record_reload_result(CS_OK, NULL);
}

static size_t services_offered(void)
{
	size_t n;

	cv_server_services(&n);
	return n;
}

static void notify_ready(void)
{
	char state[128];

	snprintf(state, sizeof(state), "READY=1\nMAINPID=%d\nSTATUS=serving node %u, %zu services",
		 (int)getpid(), cv_settings_local_node(&settings)->nodeid, services_offered());
	cv_notify(state);
}

/* logrotate's postrotate and systemctl reload: the log file is opened
 * again, then the configuration is read again. */
static void reload_on_hangup(void)
{
	cv_notify_reloading();
	cv_log_reopen();
	cv_server_reload_configuration();
	notify_ready();
}

static void on_signal(void *data, uint32_t events)
{
	struct signalfd_siginfo info;

	(void)data;
	(void)events;
	if (read(signal_watch.fd, &info, sizeof(info)) != sizeof(info))
		return;
	if (info.ssi_signo == SIGHUP) {
		reload_on_hangup();
		return;
	}
	cv_log_info("signal %u received, shutting down", info.ssi_signo);
	cv_loop_quit();
}

static int watch_signals(void)
{
	sigset_t mask;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -1;
	fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -1;
	return cv_watch_add(&signal_watch, fd, EPOLLIN, on_signal, NULL);
}

/* Room for every allowed connection (its socket and its reply channel)
 * plus the daemon's own descriptors. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t wanted = 2 * (rlim_t)settings.limits.max_connections + CV_MAX_PENDING_REFUSALS + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= wanted)
		return;
	rl.rlim_cur = wanted < rl.rlim_max ? wanted : rl.rlim_max;
	if (rl.rlim_cur < wanted && geteuid() == 0)
		rl.rlim_max = rl.rlim_cur = wanted;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		cv_log_warning("cannot raise the descriptor limit to %llu: %m", (unsigned long long)wanted);
}

/* The parent exits only once the child is listening (status 0) or has
 * failed to start (status 1), so scripts can rely on the exit status. */
static int daemonize(int *ready_fd)
{
	int pipe_fds[2];
	pid_t pid;
	char status = 1;
	int null_fd;

	if (pipe2(pipe_fds, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(pipe_fds[1]);
		if (read(pipe_fds[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(pipe_fds[0]);
	setsid();
	if (chdir("/") < 0)
		return -1;
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd >= 0) {
		dup2(null_fd, STDIN_FILENO);
		dup2(null_fd, STDOUT_FILENO);
		close(null_fd);
	}
	*ready_fd = pipe_fds[1];
	return 0;
}

static void report_ready(int ready_fd, char status)
{
	if (ready_fd < 0)
		return;
	if (write(ready_fd, &status, 1) != 1)
		cv_log_warning("cannot report start-up to the parent: %m");
	close(ready_fd);
}

/* Reaping reads what clients wrote while the batch ran (output_flush_pending
 * resumes their input) and closes sessions: both can submit to the cluster
 * engine, so the engine is flushed after it. The other way round, a message
 * submitted there stayed queued, with no timer for it, until something else
 * woke the loop: on a quiet node that could be the next configuration change. */
static void after_batch(void)
{
	uint32_t waker_cpu;
	bool waits;

	cv_sessions_reap();
	cv_cluster_flush();
	if (cv_sessions_take_wake(&waker_cpu, &waits))
		cv_sched_woken_by(waker_cpu, waits);
}

/* In cluster mode the services are ready, and corosync reached, before
 * clients may connect. */
static int serve(const struct options *o)
{
	if (cv_loop_init() < 0 || watch_signals() < 0) {
		cv_log_error("cannot set up the event loop: %m");
		return -1;
	}
	raise_fd_limit();
	cv_listener_set_access_policy(cmap_uidgid_allows);
	cv_loop_set_after_batch(after_batch);
	cv_loop_set_poller(&cv_sessions_poller);
	if (cv_cluster_start(&settings) < 0 || cv_services_start() < 0 || cv_cluster_wait_for_corosync() < 0)
		return -1;
	return cv_listener_open(o->socket_path, &settings);
}

static void shut_down(void)
{
	cv_notify("STOPPING=1");
	cv_listener_close();
	cv_sessions_close_all();
	cv_services_stop();
	cv_cluster_stop();
	cmap_maps_fini();
	cv_server_remove_services();
	cv_services_forget();
	cv_modules_unload();
	cv_loop_fini();
	if (loaded_conf != conf)
		cv_conf_free(loaded_conf);
	cv_conf_free(conf);
	cv_log_info("stopped");
	cv_log_set_targets(&CV_LOG_TARGETS_DEFAULT);
}

/* Large messages pass through the heap one after the other: glibc would
 * give the top of the heap back after each (and map and unmap each over
 * 128 KiB), so that every message faults its pages in afresh, which on a
 * virtual machine costs more than copying it. The heap is given back
 * where the daemon knows it pays (trim_heap). */
#define HEAP_KEEP_BYTES (16 * 1024 * 1024)

static void heap_keep(void)
{
	mallopt(M_TRIM_THRESHOLD, HEAP_KEEP_BYTES);
	mallopt(M_MMAP_THRESHOLD, HEAP_KEEP_BYTES);
}

int main(int argc, char **argv)
{
	struct options o;
	int ready_fd = -1;
	int r;

	heap_keep();
	if (parse_options(argc, argv, &o) < 0)
		return 2;
	debug_option = o.debug;
	cv_log_set_debug(o.debug);
	if (cv_notify_init() < 0)
		cv_log_warning(
			"NOTIFY_SOCKET is not a socket name; the service manager will not hear from conclaved");
	if (load_configuration(&o) < 0)
		return 1;
	if (settings.debug)
		cv_log_set_debug(true);
	cv_log_set_rate_limit(settings.limits.log_rate_burst, settings.limits.log_rate_interval_ms);
	cv_log_set_targets(&settings.log);
	warn_unused_keys(conf);
	cv_sched_apply(&settings.sched);
	if (!o.foreground && daemonize(&ready_fd) < 0) {
		cv_log_error("cannot daemonize: %m");
		return 1;
	}
	if (serve(&o) < 0) {
		report_ready(ready_fd, 1);
		return 1;
	}
	cv_log_info("ready: node %u, %zu services", cv_settings_local_node(&settings)->nodeid,
		    services_offered());
	report_ready(ready_fd, 0);
	notify_ready();
	r = cv_loop_run();
	if (r < 0)
		cv_log_error("event loop failed: %s", strerror(-r));
	shut_down();
	return r < 0 || cv_cluster_failed() ? 1 : 0;
}
