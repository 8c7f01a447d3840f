/* Making sure conclaved talks to corosync, not to itself.
 *
 * Conclave's client libraries carry corosync's sonames (libcpg.so.4, ...),
 * and users put them first on the library path (LD_LIBRARY_PATH, ld.so.conf)
 * to run programs on Conclave. The cluster engine must still reach corosync's
 * real libraries then. What links the engine is linked with DT_RPATH (not
 * DT_RUNPATH) set to the directory of Debian's corosync libraries
 * (conclave_reaches_corosync() in CMakeLists.txt): the dynamic linker
 * searches an executable's DT_RPATH before LD_LIBRARY_PATH and ld.so.cache,
 * and it does so for the dependencies of the libraries it loads too, so
 * libcpg, libcorosync_common and libqb all come from there, each once per
 * process. Only LD_PRELOAD can still put another libcpg.so.4 in its place.
 *
 * Two checks catch that and anything else that goes wrong: before
 * connecting, the libraries that provide cpg_initialize and cs_strerror
 * must be the files in corosync's directory (a Conclave libcpg in conclaved
 * would connect conclaved to its own socket and wait for itself forever);
 * after connecting, the process at the other end of the connection
 * (SO_PEERCRED) must be a corosync, not a conclaved and not this process.
 */
#ifndef CONCLAVE_CV_COROSYNC_LINK_H
#define CONCLAVE_CV_COROSYNC_LINK_H

#include <stddef.h>

/* The directory of corosync's client libraries, set at build time. */
#ifndef CV_COROSYNC_LIBDIR
#define CV_COROSYNC_LIBDIR "/usr/lib/x86_64-linux-gnu"
#endif

/* 0 when cpg_initialize and cs_strerror come from corosync's libraries in
 * CV_COROSYNC_LIBDIR; else -1 with why (a sentence naming the file that was
 * loaded instead) written to why[0..size). */
int cv_link_check_libraries(char *why, size_t size);
/* The same for votequorum_initialize (libvotequorum.so.8). */
int cv_link_check_votequorum(char *why, size_t size);
/* The same for cmap_initialize (libcmap.so.4). */
int cv_link_check_cmap(char *why, size_t size);
/* The same for corosync_cfg_initialize (libcfg.so.7). */
int cv_link_check_cfg(char *why, size_t size);

enum cv_link_peer {
	CV_PEER_COROSYNC,  /* a corosync process */
	CV_PEER_UNKNOWN,   /* the peer's pid is not visible here (another pid namespace) */
	CV_PEER_CONCLAVED, /* a conclaved: Conclave's library was loaded */
	CV_PEER_SELF,      /* this very process */
	CV_PEER_OTHER,     /* some other program */
	CV_PEER_ERROR,     /* not a connected Unix socket */
};

/* Who is at the other end of the connected Unix socket fd. The peer's
 * description (pid and executable) is written to what[0..size). */
enum cv_link_peer cv_link_identify_peer(int fd, char *what, size_t size);

#endif
