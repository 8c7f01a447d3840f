/* A cfg client on whichever libcfg.so.7 the dynamic linker finds
 * (corosync's, or Conclave's under LD_LIBRARY_PATH). Commands on stdin, one
 * a line; one answer line each on stdout, ending with the call's result:
 *
 *   links                 -> links RESULT [NAME=STATUS]...        (ring_status_get)
 *   addrs ID              -> addrs ID RESULT [N ADDRESS...]        (get_node_addrs)
 *   status ID             -> status ID RESULT FIELDS... [LINK]...  (node_status_get)
 *   local                 -> local RESULT ID                       (local_get)
 *   kill ID REASON        -> kill ID RESULT                        (kill_node)
 *   shutdown FLAGS        -> shutdown RESULT                       (try_shutdown)
 *   quit
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <corosync/cfg.h>

static corosync_cfg_handle_t h;

static void links(void)
{
	char **names = NULL, **statuses = NULL;
	unsigned n = 0;
	cs_error_t err = corosync_cfg_ring_status_get(h, &names, &statuses, &n);

	printf("links %d", (int)err);
	for (unsigned i = 0; err == CS_OK && i < n; i++) {
		printf(" %s=%s", names[i], statuses[i]);
		free(names[i]);
		free(statuses[i]);
	}
	free(names);
	free(statuses);
	printf("\n");
}

static void addrs(unsigned nodeid)
{
	corosync_cfg_node_address_t a[CFG_MAX_LINKS];
	int n = 0;
	cs_error_t err = corosync_cfg_get_node_addrs(h, nodeid, CFG_MAX_LINKS, &n, a);

	/* On an error corosync's library leaves in *num_addrs what its daemon
	 * sent, Conclave's 0: only the error is compared. */
	printf("addrs %u %d", nodeid, (int)err);
	if (err == CS_OK)
		printf(" %d", n);
	for (int i = 0; err == CS_OK && i < n && i < CFG_MAX_LINKS; i++) {
		char host[NI_MAXHOST];

		if (getnameinfo((struct sockaddr *)a[i].address, (socklen_t)a[i].address_length, host,
				sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(host, sizeof(host), "?");
		printf(" %s", host);
	}
	printf("\n");
}

static void status(unsigned nodeid)
{
	struct corosync_cfg_node_status_v1 s;
	cs_error_t err = corosync_cfg_node_status_get(h, nodeid, CFG_NODE_STATUS_V1, &s);

	printf("status %u %d", nodeid, (int)err);
	if (err == CS_OK) {
		printf(" node=%u reachable=%u remote=%u external=%u onwire=%u-%u/%u", s.nodeid, s.reachable,
		       s.remote, s.external, s.onwire_min, s.onwire_max, s.onwire_ver);
		for (int i = 0; i < CFG_MAX_LINKS; i++) {
			const struct corosync_knet_link_status_v1 *l = &s.link_status[i];

			if (l->enabled || l->connected)
				printf(" link%d=%u,%u,%u,%s,%s", i, l->enabled, l->connected, l->dynconnected,
				       l->src_ipaddr, l->dst_ipaddr);
		}
	}
	printf("\n");
}

static int command(const char *line)
{
	unsigned id, flags;
	char reason[256];

	if (strncmp(line, "quit", 4) == 0)
		return 0;
	if (strncmp(line, "links", 5) == 0)
		links();
	else if (sscanf(line, "addrs %u", &id) == 1)
		addrs(id);
	else if (sscanf(line, "status %u", &id) == 1)
		status(id);
	else if (strncmp(line, "local", 5) == 0) {
		unsigned int local = 0;
		cs_error_t err = corosync_cfg_local_get(h, &local);

		printf("local %d %u\n", (int)err, local);
	} else if (sscanf(line, "kill %u %255s", &id, reason) == 2)
		printf("kill %u %d\n", id, (int)corosync_cfg_kill_node(h, id, reason));
	else if (sscanf(line, "shutdown %u", &flags) == 1)
		printf("shutdown %d\n",
		       (int)corosync_cfg_try_shutdown(h, (corosync_cfg_shutdown_flags_t)flags));
	else
		printf("error unknown-command 0\n");
	fflush(stdout);
	return 1;
}

int main(void)
{
	char line[512];
	cs_error_t err = corosync_cfg_initialize(&h, NULL);

	if (err != CS_OK) {
		printf("error corosync_cfg_initialize %d\n", (int)err);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL && command(line))
		;
	corosync_cfg_finalize(h);
	return 0;
}
