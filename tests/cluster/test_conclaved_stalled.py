#!/usr/bin/env python3
"""A stalled corosync holds back only the calls that wait for it, never
conclaved's loop.

One corosync node with a conclaved. corosync is stopped (SIGSTOP); a
Conclave client asks votequorum_getinfo, which conclaved passes on to
corosync: it gets no answer while corosync is stopped (nothing is made
up), and meanwhile conclaved goes on serving: a new client connects and
reads cmap (corosync-cmapctl on Conclave's libraries) within seconds.
corosync continued (SIGCONT), the waiting call gets corosync's answer."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
import conclaveds  # noqa: E402
from conclaveds import Conclaved, QuorumNode  # noqa: E402

SERVED_WITHIN_S = 10


def test():
    conclaved = Conclaved(ARGS.conclaved, ARGS.libdir, ARGS.sanitized == "1")
    with cluster.Cluster(1) as c:
        node = c.node(1)
        c.start_corosync()
        conclaved.start(node, env=conclaved.ours())
        client = QuorumNode(ARGS.quorum_node, node, env=conclaved.ours(), label="conclave")
        line = client.ask("info 1", "info")
        assert line.startswith("info 1 "), line
        env = conclaved.ours()
        if conclaved.sanitized:
            env["ASAN_OPTIONS"] = "verify_asan_link_order=0:detect_leaks=0"

        os.kill(node.corosync.pid, signal.SIGSTOP)
        try:
            start = len(client.lines)
            client.command("info 1")
            began = time.monotonic()
            result = node.run(["corosync-cmapctl", "-g", "totem.cluster_name"], env=env, timeout=SERVED_WITHIN_S)
            served = time.monotonic() - began
            cluster.log("cmap read through conclaved in %.2f s while corosync is stopped: %r" %
                        (served, result.stdout.strip()))
            assert result.returncode == 0 and "totem.cluster_name" in result.stdout, result
            with client.cond:
                answered = [l for l in client.lines[start:] if l.startswith(("info", "error"))]
            assert not answered, "an answer while corosync is stopped: %r" % answered
        finally:
            os.kill(node.corosync.pid, signal.SIGCONT)
        _, line = client.wait_line("getinfo's answer", lambda l: l.startswith(("info", "error")), 60, start)
        assert line.startswith("info 1 "), line
        assert node.conclaved.poll() is None, "conclaved exited"


def main():
    global ARGS
    ARGS = conclaveds.parse_args("quorum-node")
    cluster.main_guard(test)


if __name__ == "__main__":
    main()
