#!/usr/bin/env python3
"""cmap in cluster mode carries the keys corosync keeps about the cluster,
as corosync's cmap has them on the node, and keeps them in step.

Three corosync nodes and a conclaved on node 1. corosync-cmapctl on
Conclave's libraries and on corosync's prints the same (every key, its type
and value) for runtime.members., nodelist., totem., quorum. and
runtime.votequorum.:

- at start;
- after keys set, changed and deleted in corosync's cmap (through
  corosync's library): each change reaches conclaved's;
- after keys set, changed and deleted through Conclave's library: corosync's
  cmap has the change, and so does conclaved's;
- a write of a key corosync keeps read-only fails the same way on both;
- conclaved's file reloaded (SIGHUP): corosync's values, not the file's;
- after node 3 is killed (runtime.members.3.status left, votequorum's
  keys)."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
import conclaveds  # noqa: E402
from conclaveds import Conclaved  # noqa: E402

PREFIXES = ("runtime.members.", "nodelist.", "totem.", "quorum.", "runtime.votequorum.")


def cmapctl(conclaved, node, argv, ours):
    env = conclaved.ours() if ours else None
    if ours and conclaved.sanitized:
        env["ASAN_OPTIONS"] = "verify_asan_link_order=0:detect_leaks=0"
    return node.run(["corosync-cmapctl"] + argv, env=env)


def same_prefixes(conclaved, node):
    """Every prefix prints the same on both, once changes have travelled."""
    def same():
        return all(cmapctl(conclaved, node, ["-b", p], True).stdout ==
                   cmapctl(conclaved, node, ["-b", p], False).stdout for p in PREFIXES)
    try:
        cluster.wait_until("the same keys in both cmaps", same, 20, interval=0.3)
    except TimeoutError:
        pass
    for prefix in PREFIXES:
        conclaveds.same_tool_output(conclaved, node, ["corosync-cmapctl", "-b", prefix], prefix)


def value(conclaved, node, key, ours):
    return cmapctl(conclaved, node, ["-g", key], ours).stdout.strip()


def wait_value(conclaved, node, key, ours, expect):
    cluster.wait_until("%s: %s %r" % ("conclaved" if ours else "corosync", key, expect),
                       lambda: value(conclaved, node, key, ours) == expect, 20, interval=0.2)


def changes_from(conclaved, node, ours):
    """Set, change, delete through one side; the other follows."""
    side = "conclave" if ours else "corosync"
    key = "quorum.%s_test" % side
    for argv, expect in ((["-s", key, "u32", "7"], "%s (u32) = 7" % key),
                         (["-s", key, "u32", "8"], "%s (u32) = 8" % key),
                         (["-s", "totem.%s_name" % side, "str", "hello"], None)):
        result = cmapctl(conclaved, node, argv, ours)
        assert result.returncode == 0, (argv, result)
        if expect:
            wait_value(conclaved, node, key, not ours, expect)
    same_prefixes(conclaved, node)
    result = cmapctl(conclaved, node, ["-d", key], ours)
    assert result.returncode == 0, result
    cluster.wait_until("%s gone from both" % key, lambda: not any(
        value(conclaved, node, key, side).startswith(key) for side in (True, False)), 20, interval=0.2)
    same_prefixes(conclaved, node)


def test():
    conclaved = Conclaved(ARGS.conclaved, ARGS.libdir, ARGS.sanitized == "1")
    with cluster.Cluster(3) as c:
        node1 = c.node(1)
        c.start_corosync()
        conclaved.start(node1, env=conclaved.ours())
        same_prefixes(conclaved, node1)
        changes_from(conclaved, node1, ours=False)
        changes_from(conclaved, node1, ours=True)
        for argv in (["-s", "nodelist.node.0.nodeid", "u32", "9"], ["-s", "totem.cluster_name", "str", "x"],
                     ["-s", "quorum.wait_for_all", "u8", "1"], ["-d", "nodelist.node.0.nodeid"]):
            ours, theirs = cmapctl(conclaved, node1, argv, True), cmapctl(conclaved, node1, argv, False)
            cluster.log("%s: %d %r" % (" ".join(argv), theirs.returncode, theirs.stdout + theirs.stderr))
            assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr), \
                (argv, ours, theirs)
            assert theirs.returncode != 0, theirs
        same_prefixes(conclaved, node1)

        # a reload of conclaved's file (which holds totem.token: 1000) leaves corosync's value
        result = cmapctl(conclaved, node1, ["-s", "totem.token", "u32", "2000"], False)
        assert result.returncode == 0, result
        wait_value(conclaved, node1, "totem.token", True, "totem.token (u32) = 2000")
        os.kill(node1.conclaved.pid, signal.SIGHUP)
        cluster.wait_until("conclaved reloaded", lambda: conclaved.log_text(node1).count(
            "carries corosync's cluster keys again") >= 1, 20)
        same_prefixes(conclaved, node1)
        c.node(3).kill()
        node1.wait_quorum(2, True, 60)
        same_prefixes(conclaved, node1)
        assert "left" in value(conclaved, node1, "runtime.members.3.status", True)
        assert node1.conclaved.poll() is None, "conclaved exited"


def main():
    global ARGS
    ARGS = conclaveds.parse_args()
    cluster.main_guard(test)


if __name__ == "__main__":
    main()
