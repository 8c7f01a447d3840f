#!/usr/bin/env python3
"""Cluster mode reaches corosync's real libraries even when Conclave's come
first on the library path, and refuses when it finds itself talking to
conclaved. On a one-node corosync in a namespace, with a conclaved beside it:

- with LD_LIBRARY_PATH naming Conclave's build tree, ldd and the running
  engine both show corosync's libcpg.so.4, and the engine connects;
- with Conclave's libcpg.so.4 forced in (LD_PRELOAD, the one way around
  DT_RPATH) and CONCLAVE_SOCKET naming the conclaved, it refuses and says why;
- the peer check names a conclaved, corosync, and the process itself."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402

SOCKET = "/run/conclave/conclaved.sock"


def probe(node, args, env=None):
    result = node.run([ARGS.probe] + args, timeout=60, env=env)
    cluster.log("link-probe %s: exit %d: %s%s" % (" ".join(args), result.returncode, result.stdout.strip(),
                                                  (" | " + result.stderr.strip()) if result.returncode else ""))
    return result


def test():
    libpath = ":".join(os.path.abspath(d) for d in ARGS.libdir)
    ours = {"LD_LIBRARY_PATH": libpath}
    with cluster.Cluster(1) as c:
        node = c.node(1)
        c.start_corosync()
        node.run(["mkdir", "-p", os.path.dirname(SOCKET)])
        node.start([ARGS.conclaved, "-f", "-s", SOCKET], "conclaved.log")
        cluster.wait_until("conclaved's socket", lambda: os.path.exists(node.inside(SOCKET)), 30)

        # Conclave's libraries first on the path: still corosync's
        ldd = node.run(["ldd", ARGS.probe], env=ours)
        libcpg = [l for l in ldd.stdout.splitlines() if "libcpg.so.4" in l]
        assert libcpg and libpath.split(":")[0] not in libcpg[0], ldd.stdout
        result = probe(node, ["engine"], env=ours)    # refused unless its peer is a corosync
        assert result.returncode == 0 and "connected 1" in result.stdout, result
        mapped = result.stdout.splitlines()[0]
        assert mapped.startswith("libcpg ") and not any(d in mapped for d in libpath.split(":")), mapped

        # Conclave's libcpg forced in, pointed at conclaved: refused, with why
        preload = {"LD_PRELOAD": os.path.join(os.path.abspath(ARGS.libdir[0]), "libcpg.so.4"),
                   "LD_LIBRARY_PATH": libpath, "CONCLAVE_SOCKET": SOCKET}
        if ARGS.sanitized == "1":
            preload["ASAN_OPTIONS"] = "verify_asan_link_order=0:detect_leaks=0"
        result = probe(node, ["engine"], env=preload)
        assert result.returncode == 3, result
        assert "cpg_initialize comes from %s" % preload["LD_PRELOAD"] in result.stdout, result.stdout
        assert "not from corosync's" in result.stdout, result.stdout

        # who is at the other end
        result = probe(node, ["peer", SOCKET])
        assert result.stdout.startswith("conclaved pid "), result.stdout
        result = probe(node, ["self"])
        assert result.stdout.startswith("self pid ") and "link-probe" in result.stdout, result.stdout


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--probe", required=True)
    parser.add_argument("--conclaved", required=True)
    parser.add_argument("--libdir", action="append", required=True)
    parser.add_argument("--sanitized", default="0")
    ARGS = parser.parse_args()
    ARGS.probe = os.path.abspath(ARGS.probe)
    ARGS.conclaved = os.path.abspath(ARGS.conclaved)
    cluster.main_guard(test)


if __name__ == "__main__":
    main()
