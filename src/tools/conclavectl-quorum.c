/* conclavectl quorum: corosync-quorumtool's options and output: the quorum
 * status (-s, the default), the node list (-l), monitoring (-m), votes (-v,
 * -n) and expected votes (-e), and the removal of a quorum device (-f). As
 * corosync-quorumtool, -s exits 0 when quorate and 2 when not; a usage
 * error exits 1, as there, so that 2 keeps its one meaning. */
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cfg.h>
#include <corosync/cmap.h>
#include <corosync/corotypes.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>

#include "conclavectl.h"

#define EXIT_NOT_QUORATE 2
#define NAME_MAX_LEN ((INET6_ADDRSTRLEN + 1) * CFG_MAX_LINKS + 256)

enum quorum_action { SHOW_STATUS, SHOW_NODES, MONITOR, SET_VOTES, SET_EXPECTED, UNREGISTER_QDEVICE };
enum sort_order { SORT_ADDRESS, SORT_NODEID, SORT_NAME };

struct quorum_options {
	enum quorum_action action;
	bool hex;       /* -H */
	bool numeric;   /* -i */
	bool all_addrs; /* -a */
	bool parsable;  /* -p */
	enum sort_order sort;
	long long value; /* of -v or -e */
	long long nodeid;
	bool nodeid_set;
};

struct view_entry {
	uint32_t nodeid;
	char *name;
	struct votequorum_info info;
};

/* The connections and what the notifications said. */
static struct {
	cmap_handle_t cmap;
	quorum_handle_t quorum;
	uint32_t quorum_type;
	votequorum_handle_t votequorum; /* 0 unless votequorum is the provider */
	corosync_cfg_handle_t cfg;
	uint32_t our_nodeid;

	bool called, vq_called;
	uint32_t quorate;
	uint64_t ring_seq;
	uint32_t ring_rep_node;
	uint32_t *view;
	uint32_t n_view;
} q;

static void quorum_notified(quorum_handle_t handle, uint32_t quorate, uint64_t ring_seq,
			    uint32_t view_list_entries, uint32_t *view_list)
{
	uint32_t *copy = malloc((view_list_entries + 1) * sizeof(*copy));

	if (copy == NULL)
		return;
	memcpy(copy, view_list, view_list_entries * sizeof(*copy));
	free(q.view);
	q.view = copy;
	q.n_view = view_list_entries;
	q.quorate = quorate;
	q.ring_seq = ring_seq;
	q.called = true;
}

static void votequorum_nodelist_notified(votequorum_handle_t handle, uint64_t context,
					 votequorum_ring_id_t ring_id, uint32_t node_list_entries,
					 uint32_t node_list[])
{
	q.ring_rep_node = ring_id.nodeid;
	q.vq_called = true;
}

/* ---- names ------------------------------------------------------------------ */

/* The quorum.provider of the configuration; false when none is configured. */
static bool quorum_provider(char *buf, size_t size)
{
	char *provider = NULL;

	if (q.quorum_type == QUORUM_FREE || cmap_get_string(q.cmap, "quorum.provider", &provider) != CS_OK)
		return false;
	snprintf(buf, size, "%s", provider);
	free(provider);
	return true;
}

static bool using_votequorum(void)
{
	char provider[256];

	return quorum_provider(provider, sizeof(provider)) && strcmp(provider, "corosync_votequorum") == 0;
}

/* nodelist.node.N.name of the node whose nodelist.node.N.nodeid is nodeid. */
static void nodelist_name(uint32_t nodeid, char *buf, size_t size)
{
	char key[CMAP_KEYNAME_MAXLEN + 1], wanted[CMAP_KEYNAME_MAXLEN + 1], *name;
	cmap_iter_handle_t iter;
	unsigned int pos;
	uint32_t id;

	buf[0] = '\0';
	if (cmap_iter_init(q.cmap, "nodelist.node.", &iter) != CS_OK)
		return;
	while (buf[0] == '\0' && cmap_iter_next(q.cmap, iter, key, NULL, NULL) == CS_OK) {
		const char *field;

		if (!conclavectl_key_index(key, "nodelist.node.", &pos, &field) ||
		    strcmp(field, "nodeid") != 0)
			continue;
		if (cmap_get_uint32(q.cmap, key, &id) != CS_OK || id != nodeid)
			continue;
		snprintf(wanted, sizeof(wanted), "nodelist.node.%u.name", pos);
		if (cmap_get_string(q.cmap, wanted, &name) == CS_OK) {
			snprintf(buf, size, "%s", name);
			free(name);
		}
	}
	cmap_iter_finalize(q.cmap, iter);
}

/* As corosync-quorumtool: the nodelist name first when names are wanted,
 * then the resolved first address, or with -a every further address. */
static char *node_name(uint32_t nodeid, const struct quorum_options *o)
{
	corosync_cfg_node_address_t addrs[CFG_MAX_LINKS];
	char buf[NAME_MAX_LEN] = "";
	size_t used = 0;
	int n = 0, first = 0;
	cs_error_t err;

	if (!o->numeric)
		nodelist_name(nodeid, buf, sizeof(buf));
	if (buf[0] != '\0') {
		first = 1;
		used = strlen(buf);
	}
	err = corosync_cfg_get_node_addrs(q.cfg, nodeid, CFG_MAX_LINKS, &n, addrs);
	if (err != CS_OK) {
		fprintf(stderr, "Unable to get node address for nodeid " CS_PRI_NODE_ID ": %s\n", nodeid,
			cs_strerror(err));
		return strdup("");
	}
	if (!o->all_addrs)
		n = 1;
	for (int i = first; i < n && i < CFG_MAX_LINKS && used + 3 < sizeof(buf); i++) {
		struct sockaddr_storage ss;
		socklen_t len;

		conclavectl_node_sockaddr(&addrs[i], &ss);
		if (ss.ss_family == 0)
			continue;
		len = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		if (i != 0)
			used += (size_t)snprintf(buf + used, sizeof(buf) - used, ", ");
		if (getnameinfo((const struct sockaddr *)&ss, len, buf + used, sizeof(buf) - used, NULL, 0,
				o->numeric ? NI_NUMERICHOST : 0) == 0)
			used += strlen(buf + used);
	}
	return strdup(buf);
}

/* ---- printing ----------------------------------------------------------------- */

static void print_padded(const char *text)
{
	printf("%10s ", text);
}

static void print_number_padded(uint32_t value)
{
	char buf[12];

	snprintf(buf, sizeof(buf), "%u", value);
	print_padded(buf);
}

static void print_nodeid(uint32_t nodeid, const struct quorum_options *o)
{
	if (o->hex)
		printf("0x%08x ", nodeid);
	else
		print_number_padded(nodeid);
}

static int compare_nodeids(const void *a, const void *b)
{
	const struct view_entry *x = a, *y = b;

	return x->nodeid == y->nodeid ? 0 : x->nodeid > y->nodeid ? 1 : -1;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(((const struct view_entry *)a)->name, ((const struct view_entry *)b)->name);
}

static void print_qdevice_flags(const struct votequorum_info *info)
{
	char buf[16];

	if (!(info->flags & VOTEQUORUM_INFO_QDEVICE_REGISTERED)) {
		print_padded("NR");
		return;
	}
	snprintf(buf, sizeof(buf), "%s,%s,%s", info->flags & VOTEQUORUM_INFO_QDEVICE_ALIVE ? "A" : "NA",
		 info->flags & VOTEQUORUM_INFO_QDEVICE_CAST_VOTE ? "V" : "NV",
		 info->flags & VOTEQUORUM_INFO_QDEVICE_MASTER_WINS ? "MW" : "NMW");
	print_padded(buf);
}

/* The quorum device's line, after the nodes. */
static void print_qdevice_line(const struct votequorum_info *first, unsigned int our_flags,
			       const struct quorum_options *o)
{
	bool casting = (our_flags & VOTEQUORUM_INFO_QDEVICE_CAST_VOTE) != 0;

	print_nodeid(VOTEQUORUM_QDEVICE_NODEID, o);
	print_number_padded(casting ? first->qdevice_votes : 0);
	printf("           %s", first->qdevice_name);
	if (casting)
		printf("\n");
	else
		printf(" (votes %u)\n", first->qdevice_votes);
}

static bool fill_view(struct view_entry *view, const struct quorum_options *o)
{
	bool qdevice = false;

	for (uint32_t i = 0; i < q.n_view; i++) {
		view[i].nodeid = q.view[i];
		if (q.votequorum && votequorum_getinfo(q.votequorum, view[i].nodeid, &view[i].info) != CS_OK)
			printf("Unable to get node " CS_PRI_NODE_ID " info\n", view[i].nodeid);
		if (q.votequorum && (view[i].info.flags & VOTEQUORUM_INFO_QDEVICE_REGISTERED))
			qdevice = true;
	}
	for (uint32_t i = 0; i < q.n_view; i++)
		view[i].name = node_name(view[i].nodeid, o);
	if (o->sort == SORT_NODEID)
		qsort(view, q.n_view, sizeof(*view), compare_nodeids);
	else if (o->sort == SORT_NAME)
		qsort(view, q.n_view, sizeof(*view), compare_names);
	return qdevice;
}

static void print_nodes(const struct quorum_options *o)
{
	struct view_entry *view = calloc(q.n_view + 1, sizeof(*view));
	unsigned int our_flags = 0;
	bool qdevice, qdevice_column;

	if (view == NULL)
		return;
	qdevice = fill_view(view, o);
	qdevice_column = q.votequorum && (qdevice || o->parsable);
	printf("\nMembership information\n----------------------\n");
	print_padded("Nodeid");
	if (q.votequorum)
		print_padded("Votes");
	if (qdevice_column)
		print_padded("Qdevice");
	printf("Name\n");
	for (uint32_t i = 0; i < q.n_view; i++) {
		print_nodeid(view[i].nodeid, o);
		if (q.votequorum)
			print_number_padded(view[i].info.node_votes);
		if (qdevice_column)
			print_qdevice_flags(&view[i].info);
		printf("%s", view[i].name);
		if (view[i].nodeid == q.our_nodeid) {
			printf(" (local)");
			our_flags = view[i].info.flags;
		}
		printf("\n");
	}
	if (qdevice)
		print_qdevice_line(&view[0].info, our_flags, o);
	for (uint32_t i = 0; i < q.n_view; i++)
		free(view[i].name);
	free(view);
}

static void print_votequorum_info(const struct votequorum_info *info)
{
	static const struct {
		unsigned int flag;
		const char *name;
	} FLAGS[] = {
		{ VOTEQUORUM_INFO_TWONODE, "2Node" },
		{ VOTEQUORUM_INFO_QUORATE, "Quorate" },
		{ VOTEQUORUM_INFO_WAIT_FOR_ALL, "WaitForAll" },
		{ VOTEQUORUM_INFO_LAST_MAN_STANDING, "LastManStanding" },
		{ VOTEQUORUM_INFO_AUTO_TIE_BREAKER, "AutoTieBreaker" },
		{ VOTEQUORUM_INFO_ALLOW_DOWNSCALE, "AllowDownscale" },
		{ VOTEQUORUM_INFO_QDEVICE_REGISTERED, "Qdevice" },
	};

	printf("\nVotequorum information\n----------------------\n");
	printf("Expected votes:   %u\n", info->node_expected_votes);
	printf("Highest expected: %u\n", info->highest_expected);
	printf("Total votes:      %u\n", info->total_votes);
	printf("Quorum:           %u %s\n", info->quorum,
	       info->flags & VOTEQUORUM_INFO_QUORATE ? " " : "Activity blocked");
	printf("Flags:            ");
	for (size_t i = 0; i < sizeof(FLAGS) / sizeof(FLAGS[0]); i++)
		if (info->flags & FLAGS[i].flag)
			printf("%s ", FLAGS[i].name);
	printf("\n");
}

static cs_error_t print_status(bool quorate, const struct quorum_options *o)
{
	struct votequorum_info info = { 0 };
	char provider[256] = "Not configured";
	time_t now = time(NULL);
	cs_error_t err;

	printf("Quorum information\n------------------\n");
	printf("Date:             %s", ctime(&now));
	quorum_provider(provider, sizeof(provider));
	printf("Quorum provider:  %s\n", provider);
	printf("Nodes:            %u\n", q.n_view);
	if (o->hex)
		printf("Node ID:          0x%08x\n", q.our_nodeid);
	else
		printf("Node ID:          " CS_PRI_NODE_ID "\n", q.our_nodeid);
	if (q.votequorum)
		printf("Ring ID:          " CS_PRI_RING_ID "\n", q.ring_rep_node, q.ring_seq);
	else
		printf("Ring ID:          " CS_PRI_RING_ID_SEQ "\n", q.ring_seq);
	printf("Quorate:          %s\n", quorate ? "Yes" : "No");
	if (!q.votequorum)
		return CS_OK;
	err = votequorum_getinfo(q.votequorum, q.our_nodeid, &info);
	if (err == CS_OK || err == CS_ERR_NOT_EXIST)
		print_votequorum_info(&info);
	else
		fprintf(stderr, "Unable to get node info: %s\n", cs_strerror(err));
	print_nodes(o);
	return err;
}

/* ---- the actions -------------------------------------------------------------- */

static cs_error_t await_quorum_notification(void)
{
	cs_error_t err = CS_OK;

	q.called = false;
	while (!q.called && err == CS_OK) {
		err = quorum_dispatch(q.quorum, CS_DISPATCH_ONE);
		if (err != CS_OK)
			fprintf(stderr, "Unable to dispatch quorum status: %s\n", cs_strerror(err));
	}
	return err;
}

static cs_error_t await_votequorum_nodelist(void)
{
	cs_error_t err = CS_OK;

	q.vq_called = false;
	while (!q.vq_called && err == CS_OK) {
		err = votequorum_dispatch(q.votequorum, CS_DISPATCH_ONE);
		if (err != CS_OK)
			fprintf(stderr, "Unable to dispatch votequorum status: %s\n", cs_strerror(err));
	}
	return err;
}

/* The current state: one quorum notification, and votequorum's node list
 * for the ring id. */
static cs_error_t read_current_state(void)
{
	cs_error_t err = quorum_trackstart(q.quorum, CS_TRACK_CURRENT);

	if (err != CS_OK) {
		fprintf(stderr, "Unable to start quorum status tracking: %s\n", cs_strerror(err));
		return err;
	}
	err = await_quorum_notification();
	if (quorum_trackstop(q.quorum) != CS_OK)
		fprintf(stderr, "Unable to stop quorum status tracking: %s\n", cs_strerror(err));
	if (err != CS_OK || !q.votequorum)
		return err;
	err = votequorum_trackstart(q.votequorum, 0, CS_TRACK_CURRENT);
	if (err != CS_OK) {
		fprintf(stderr, "Unable to start votequorum status tracking: %s\n", cs_strerror(err));
		return err;
	}
	return await_votequorum_nodelist();
}

static int show_status(const struct quorum_options *o)
{
	int quorate = 0;
	cs_error_t err = quorum_getquorate(q.quorum, &quorate);

	if (err != CS_OK) {
		fprintf(stderr, "Unable to get cluster quorate status: %s\n", cs_strerror(err));
		return CONCLAVECTL_EXIT_FAILED;
	}
	if (read_current_state() != CS_OK || print_status(quorate, o) != CS_OK)
		return CONCLAVECTL_EXIT_FAILED;
	return quorate ? CONCLAVECTL_EXIT_OK : EXIT_NOT_QUORATE;
}

static int show_nodes(const struct quorum_options *o)
{
	cs_error_t err = quorum_trackstart(q.quorum, CS_TRACK_CURRENT);

	if (err != CS_OK) {
		fprintf(stderr, "Unable to start quorum status tracking: %s\n", cs_strerror(err));
		return CONCLAVECTL_EXIT_FAILED;
	}
	if (await_quorum_notification() != CS_OK)
		return CONCLAVECTL_EXIT_FAILED;
	print_nodes(o);
	return CONCLAVECTL_EXIT_OK;
}

/* Prints the state at once and after every change, until SIGINT or SIGTERM
 * (exit 0) or the loss of the daemon (exit 1). Each report is flushed as a
 * whole, so that a reader of a pipe sees it when it happens. */
static int monitor(const struct quorum_options *o)
{
	struct pollfd fds[2] = { { .events = POLLIN }, { .events = POLLIN } };
	cs_error_t err;

	if (q.quorum_type == QUORUM_FREE) {
		printf("\nQuorum is not configured - cannot monitor\n");
		return show_status(o);
	}
	fds[0].fd = conclavectl_stop_signals_fd();
	err = quorum_trackstart(q.quorum, CS_TRACK_CHANGES);
	if (err == CS_OK && q.votequorum)
		err = votequorum_trackstart(q.votequorum, 0, CS_TRACK_CHANGES);
	if (err != CS_OK || fds[0].fd < 0 || quorum_fd_get(q.quorum, &fds[1].fd) != CS_OK) {
		fprintf(stderr, "Unable to start quorum status tracking: %s\n", cs_strerror(err));
		return CONCLAVECTL_EXIT_FAILED;
	}
	for (;;) {
		if (poll(fds, 2, -1) < 0)
			continue;
		if (fds[0].revents & POLLIN)
			return CONCLAVECTL_EXIT_OK;
		if (await_quorum_notification() != CS_OK)
			return CONCLAVECTL_EXIT_FAILED;
		if (q.votequorum && !q.ring_rep_node && await_votequorum_nodelist() != CS_OK)
			return CONCLAVECTL_EXIT_FAILED;
		if (q.votequorum && votequorum_dispatch(q.votequorum, CS_DISPATCH_ALL) != CS_OK)
			return CONCLAVECTL_EXIT_FAILED;
		print_status(q.quorate, o);
		printf("\n");
		fflush(stdout);
	}
}

static int set_votes(const struct quorum_options *o)
{
	uint32_t nodeid = o->nodeid_set ? (uint32_t)o->nodeid : q.our_nodeid;
	cs_error_t err = votequorum_setvotes(q.votequorum, nodeid, (unsigned int)o->value);

	if (err != CS_OK)
		fprintf(stderr, "Unable to set votes %lld for nodeid: " CS_PRI_NODE_ID ": %s\n", o->value,
			nodeid, cs_strerror(err));
	return err == CS_OK ? CONCLAVECTL_EXIT_OK : CONCLAVECTL_EXIT_FAILED;
}

static int set_expected(const struct quorum_options *o)
{
	cs_error_t err = votequorum_setexpected(q.votequorum, (unsigned int)o->value);

	if (err != CS_OK)
		fprintf(stderr, "Unable to set expected votes: %s\n", cs_strerror(err));
	return err == CS_OK ? CONCLAVECTL_EXIT_OK : CONCLAVECTL_EXIT_FAILED;
}

static int unregister_qdevice(void)
{
	struct votequorum_info info;
	cs_error_t err = votequorum_getinfo(q.votequorum, q.our_nodeid, &info);

	if (err != CS_OK) {
		fprintf(stderr, "Unable to get quorum device info: %s\n", cs_strerror(err));
		return CONCLAVECTL_EXIT_FAILED;
	}
	if (!(info.flags & VOTEQUORUM_INFO_QDEVICE_REGISTERED))
		return CONCLAVECTL_EXIT_OK;
	err = votequorum_qdevice_unregister(q.votequorum, info.qdevice_name);
	if (err != CS_OK) {
		fprintf(stderr, "Unable to unregister quorum device: %s\n", cs_strerror(err));
		return CONCLAVECTL_EXIT_FAILED;
	}
	return CONCLAVECTL_EXIT_OK;
}

/* The actions that change votequorum need it as the provider. */
static int run_action(const struct quorum_options *o)
{
	static const char *const WHAT[] = {
		[SET_VOTES] = "change node votes",
		[SET_EXPECTED] = "change expected votes",
		[UNREGISTER_QDEVICE] = "unregister quorum device",
	};

	switch (o->action) {
	case SHOW_STATUS:
		return show_status(o);
	case SHOW_NODES:
		return show_nodes(o);
	case MONITOR:
		return monitor(o);
	default:
		break;
	}
	if (!q.votequorum) {
		fprintf(stderr, "You cannot %s, corosync is not using votequorum\n", WHAT[o->action]);
		return CONCLAVECTL_EXIT_FAILED;
	}
	if (o->action == SET_VOTES)
		return set_votes(o);
	if (o->action == SET_EXPECTED)
		return set_expected(o);
	return unregister_qdevice();
}

/* ---- connections and options ---------------------------------------------------- */

static int connect_all(void)
{
	quorum_callbacks_t quorum_callbacks = { .quorum_notify_fn = quorum_notified };
	votequorum_callbacks_t vq_callbacks = {
		.votequorum_nodelist_notify_fn = votequorum_nodelist_notified
	};
	cs_error_t err;

	if ((err = cmap_initialize(&q.cmap)) != CS_OK)
		return conclavectl_cannot_connect("cmap", err);
	if ((err = quorum_initialize(&q.quorum, &quorum_callbacks, &q.quorum_type)) != CS_OK)
		return conclavectl_cannot_connect("quorum", err);
	if ((err = corosync_cfg_initialize(&q.cfg, NULL)) != CS_OK)
		return conclavectl_cannot_connect("cfg", err);
	if (!using_votequorum())
		return CONCLAVECTL_EXIT_OK;
	if ((err = votequorum_initialize(&q.votequorum, &vq_callbacks)) != CS_OK)
		return conclavectl_cannot_connect("votequorum", err);
	if (cmap_get_uint32(q.cmap, "runtime.votequorum.this_node_id", &q.our_nodeid) != CS_OK) {
		fprintf(stderr, "Unable to retrieve this_node_id\n");
		return CONCLAVECTL_EXIT_FAILED;
	}
	return CONCLAVECTL_EXIT_OK;
}

static void disconnect_all(void)
{
	if (q.cmap)
		cmap_finalize(q.cmap);
	if (q.quorum)
		quorum_finalize(q.quorum);
	if (q.cfg)
		corosync_cfg_finalize(q.cfg);
	if (q.votequorum)
		votequorum_finalize(q.votequorum);
	free(q.view);
}

/* A bad number ends the command at once with corosync-quorumtool's text. */
static bool parse_value(const char *text, long long min, const char *why, long long *out)
{
	if (conclavectl_parse_number(text, min, INT_MAX, out))
		return true;
	fprintf(stderr, "%s\n", why);
	return false;
}

static bool parse_order(const char *text, enum sort_order *sort)
{
	if (strcmp(text, "a") == 0)
		*sort = SORT_ADDRESS;
	else if (strcmp(text, "i") == 0)
		*sort = SORT_NODEID;
	else if (strcmp(text, "n") == 0)
		*sort = SORT_NAME;
	else
		return false;
	return true;
}

/* Returns -1 when the options are good, else the exit status. */
static int parse_option(int opt, struct quorum_options *o)
{
	switch (opt) {
	case 's':
		o->action = SHOW_STATUS;
		return -1;
	case 'l':
		o->action = SHOW_NODES;
		return -1;
	case 'm':
		o->action = MONITOR;
		return -1;
	case 'f':
		o->action = UNREGISTER_QDEVICE;
		return -1;
	case 'a':
		o->all_addrs = true;
		return -1;
	case 'i':
		o->numeric = true;
		return -1;
	case 'H':
		o->hex = true;
		return -1;
	case 'p':
		o->parsable = true;
		return -1;
	case 'e':
		o->action = SET_EXPECTED;
		return parse_value(optarg, 1, "New expected votes value was not valid, try a positive number",
				   &o->value)
			       ? -1
			       : CONCLAVECTL_EXIT_FAILED;
	case 'v':
		o->action = SET_VOTES;
		return parse_value(optarg, 0, "New votes value was not valid, try a positive number or zero",
				   &o->value)
			       ? -1
			       : CONCLAVECTL_EXIT_FAILED;
	case 'n':
		o->nodeid_set = true;
		if (conclavectl_parse_number(optarg, 1, UINT_MAX, &o->nodeid))
			return -1;
		fprintf(stderr, "The nodeid was not valid, try a positive number\n");
		return CONCLAVECTL_EXIT_FAILED;
	case 'o':
		if (parse_order(optarg, &o->sort))
			return -1;
		fprintf(stderr,
			"Invalid ordering option. valid orders are a(address), i(node ID) or n(name)\n");
		return CONCLAVECTL_EXIT_FAILED;
	case 'V':
		printf("conclavectl quorum version: %s\n", CONCLAVE_VERSION);
		return CONCLAVECTL_EXIT_OK;
	case 'h':
		fputs(conclavectl_quorum_command.usage, stdout);
		return CONCLAVECTL_EXIT_OK;
	default:
		return conclavectl_usage_error(&conclavectl_quorum_command, "unknown quorum option");
	}
}

static int run_quorum(int argc, char **argv)
{
	struct quorum_options o = { .action = SHOW_STATUS, .sort = SORT_ADDRESS };
	int opt, status = -1;

	opterr = 0;
	optind = 1;
	while (status < 0 && (opt = getopt(argc + 1, argv - 1, "VHaslpmfe:v:hin:o:")) != -1)
		status = parse_option(opt, &o);
	if (status < 0 && optind != argc + 1)
		status = conclavectl_usage_error(&conclavectl_quorum_command, "quorum takes options only");
	if (status >= 0)
		return status;
	status = connect_all();
	if (status == CONCLAVECTL_EXIT_OK)
		status = run_action(&o);
	disconnect_all();
	return status;
}

const struct conclavectl_command conclavectl_quorum_command = {
	.name = "quorum",
	.usage = "usage: conclavectl quorum [-s | -l | -m | -e EXPECTED | -v VOTES [-n NODEID] | -f]\n"
		 "                          [-a] [-i] [-H] [-p] [-o a|n|i] [-V]\n"
		 "  as corosync-quorumtool: -s the quorum status (the default; exit 2 when\n"
		 "  not quorate), -l the nodes, -m every change as it happens, -e and -v set\n"
		 "  expected votes and a node's votes, -f unregisters the quorum device;\n"
		 "  -a every address, -i addresses rather than names, -H node ids in hex,\n"
		 "  -p a Qdevice column always, -o the order of the nodes\n",
	.usage_status = CONCLAVECTL_EXIT_FAILED,
	.run = run_quorum,
};
