#!/usr/bin/env python3
"""cfg in cluster mode reports corosync's nodes and links, and kill_node and
try_shutdown act as corosync's.

A conclaved beside corosync on each of three nodes; on each node one
cfg-node on Conclave's libraries and one on corosync's, and a cpg member on
Conclave's:

- on every node both cfg clients give the same answers: the links
  (corosync_cfg_ring_status_get), every node's addresses
  (corosync_cfg_get_node_addrs, node 0 and a node that does not exist
  included) and status (corosync_cfg_node_status_get), the local node id;
- kill_node of a node that does not exist: the same result on both;
- kill_node of node 3 from node 1 through Conclave's library: node 3's
  corosync exits, the cpg members of nodes 1 and 2 see node 3's member
  leave with CPG_REASON_NODEDOWN, node 3's conclaved carries on;
- try_shutdown on node 2 through Conclave's library: corosync on node 2
  shuts down and conclaved with it (exit status 0), node 1's member sees
  node 2's leave with NODEDOWN; node 3's corosync started again and shut
  down through corosync's library: the same result."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
import conclaveds  # noqa: E402
from conclaveds import Conclaved, CpgNode  # noqa: E402
from engines import LineProcess  # noqa: E402

CS_OK = 1
CPG_REASON_NODEDOWN = 3
GROUP = "cfg-test"


class CfgNode(LineProcess):
    def __init__(self, node, env=None, label=""):
        self.label = label
        super().__init__(node, [ARGS.cfg_node], "cfg-node-%s.log" % label, env=env)
        _, line = self.wait_line("ready", lambda l: l == "ready" or l.startswith("error"), 60)
        assert line == "ready", "%s: %s" % (label, line)

    def ask(self, command, timeout=60):
        start = len(self.lines)
        self.command(command)
        word = command.split()[0]
        _, line = self.wait_line(command, lambda l: l.startswith(word + " ") or l.startswith("error"), timeout,
                                 start)
        return line


def same_answers(node, ours, theirs):
    commands = ["links", "local"] + ["addrs %d" % n for n in (0, 1, 2, 3, 9)] + \
        ["status %d" % n for n in (0, 1, 2, 3, 9)] + ["kill 9 no-such-node"]
    for command in commands:
        a, b = ours.ask(command), theirs.ask(command)
        cluster.log("%s %s: %s" % (node.name, command, b))
        assert a == b, "%s %s: conclaved %r, corosync %r" % (node.name, command, a, b)
    links = theirs.ask("links")
    assert links.startswith("links %d " % CS_OK), links


def nodedown_seen(member, start, nodeid):
    """member had a confchg since start in which a process of nodeid left with NODEDOWN."""
    pattern = re.compile(r"left=\S*\b%d:\d+:%d\b" % (nodeid, CPG_REASON_NODEDOWN))
    return any(pattern.search(l) for l in member.confchgs(start))


def test():
    conclaved = Conclaved(ARGS.conclaved, ARGS.libdir, ARGS.sanitized == "1")
    with cluster.Cluster(3) as c:
        c.start_corosync()
        for node in c.nodes:
            conclaved.start(node, env=conclaved.ours())
        members = [CpgNode(node, ARGS.cpg_node, GROUP, env=conclaved.ours(), label="conclave")
                   for node in c.nodes]
        for m in members:
            m.wait_members([1, 2, 3])
        for node in c.nodes:
            ours = CfgNode(node, env=conclaved.ours(), label="conclave-n%d" % node.nodeid)
            theirs = CfgNode(node, label="corosync-n%d" % node.nodeid)
            same_answers(node, ours, theirs)
            node.cfg = (ours, theirs)

        # kill_node of node 3 from node 1, through Conclave
        marks = [len(m.lines) for m in members]
        corosync3 = c.node(3).corosync
        line = c.node(1).cfg[0].ask("kill 3 killed-by-test")
        assert line == "kill 3 %d" % CS_OK, line
        corosync3.wait(30)
        cluster.log("node3: corosync exited (%s) after kill_node" % corosync3.returncode)
        c.node(3).corosync = None
        for m, start in zip(members[:2], marks[:2]):
            m.wait_members([1, 2], start=start)
            assert nodedown_seen(m, start, 3), m.confchgs(start)
        assert c.node(3).conclaved.poll() is None, "node3: conclaved exited"
        members[2].wait_members([3], start=marks[2])

        # try_shutdown on node 2 through Conclave: corosync and conclaved go
        marks = [len(m.lines) for m in members]
        corosync2 = c.node(2).corosync
        line = c.node(2).cfg[0].ask("shutdown 0")
        assert line == "shutdown %d" % CS_OK, line
        corosync2.wait(30)
        c.node(2).corosync = None
        assert c.node(2).conclaved.wait(30) == 0, "node2: conclaved's exit status %s" % c.node(2).conclaved.returncode
        members[0].wait_members([1], start=marks[0])
        assert nodedown_seen(members[0], marks[0], 2), members[0].confchgs(marks[0])

        # the same shutdown through corosync's library, on node 3
        c.node(3).start_corosync()
        c.node(3).wait_quorum(2, True, 60)
        line = CfgNode(c.node(3), label="corosync-n3-again").ask("shutdown 0")
        assert line == "shutdown %d" % CS_OK, "corosync's try_shutdown: %r" % line


def main():
    global ARGS
    ARGS = conclaveds.parse_args("cfg-node", "cpg-node")
    cluster.main_guard(test)


if __name__ == "__main__":
    main()
