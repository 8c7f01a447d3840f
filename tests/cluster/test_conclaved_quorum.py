#!/usr/bin/env python3
"""quorum and votequorum in cluster mode follow the corosync on the node,
cmap carries corosync's runtime.members.* keys, cfg its node status.

On node 1, one quorum-node on Conclave's libraries (conclaved) and one on
corosync's track both services side by side:

- with three nodes: quorate, the same members, ring id and getinfo;
- at each step, the same runtime.members.* keys in cmap and the same local
  node id and node status in cfg (corosync-cmapctl, corosync-cfgtool -n and
  -s on Conclave's libraries and on corosync's);
- node 3 killed, then node 2: both clients get the same notifications in
  the same order (still quorate with two, inquorate alone), and the same
  getquorate and getinfo;
- corosync killed under node 1: Conclave's client is told this node is
  alone and inquorate (corosync's own client loses its connection);
  corosync started again on every node: Conclave's client sees the cluster
  quorate again with three members, as a fresh corosync client does, and
  conclaved was not restarted."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
import conclaveds  # noqa: E402
from conclaveds import Conclaved, QuorumNode  # noqa: E402

def same_answers(ours, theirs, nodeids):
    for command, prefix in [("getquorate", "getquorate")] + [("info %d" % n, "info") for n in nodeids]:
        a, b = ours.ask(command, prefix), theirs.ask(command, prefix)
        cluster.log("%s: conclaved %r, corosync %r" % (command, a, b))
        assert a == b, "%s: conclaved %r, corosync %r" % (command, a, b)


def same_members_keys(conclaved, node):
    """cmap's runtime.members.*, cfg's local node id and node status."""
    conclaveds.same_tool_output(conclaved, node, ["corosync-cmapctl", "-b", "runtime.members."], ".status (str) = ")
    conclaveds.same_tool_output(conclaved, node, ["corosync-cfgtool", "-n"], "Local node ID %d" % node.nodeid)
    conclaveds.same_tool_output(conclaved, node, ["corosync-cfgtool", "-s"], "Local node ID %d" % node.nodeid)


def same_events(ours, theirs, start_ours, start_theirs, quorate, members):
    """Both clients reached quorate and these members on both services; their
    events since the starts are the same."""
    for client, start in ((ours, start_ours), (theirs, start_theirs)):
        client.wait_event("quorum quorate=%d members=%s" % (quorate, members), start)
        index, _ = client.wait_line("vq-nodelist", lambda l: l.startswith("vq-nodelist ") and
                                    l.endswith(" members=" + members), 60, start)
        client.wait_line("vq-quorum", lambda l: l.startswith("vq-quorum quorate=%d " % quorate), 60, index)
    a, b = ours.events(start_ours), theirs.events(start_theirs)
    cluster.log("events: %s" % (a,))
    assert a == b, "conclaved's events %s, corosync's %s" % (a, b)


def test():
    conclaved = Conclaved(ARGS.conclaved, ARGS.libdir, ARGS.sanitized == "1")
    with cluster.Cluster(3) as c:
        node1 = c.node(1)
        c.start_corosync()
        conclaved.start(node1, env=conclaved.ours())
        ours = QuorumNode(ARGS.quorum_node, node1, env=conclaved.ours(), label="conclave")
        theirs = QuorumNode(ARGS.quorum_node, node1, label="corosync")
        for client in (ours, theirs):
            client.wait_event("quorum quorate=1 members=1,2,3")
            client.wait_line("votequorum's members", lambda l: l.startswith("vq-nodelist ") and
                             l.endswith(" members=1,2,3"))
            client.wait_line("votequorum's quorum", lambda l: l.startswith("vq-quorum quorate=1 "))
        assert ours.events() == theirs.events(), (ours.events(), theirs.events())
        same_answers(ours, theirs, (1, 2, 3))
        same_members_keys(conclaved, node1)

        start_ours, start_theirs = len(ours.lines), len(theirs.lines)
        c.node(3).kill()
        same_events(ours, theirs, start_ours, start_theirs, 1, "1,2")
        same_answers(ours, theirs, (1, 2, 3))
        same_members_keys(conclaved, node1)
        start_ours, start_theirs = len(ours.lines), len(theirs.lines)
        c.node(2).kill()
        same_events(ours, theirs, start_ours, start_theirs, 0, "1")
        same_answers(ours, theirs, (1, 2))
        same_members_keys(conclaved, node1)

        # corosync lost under node 1, then the cluster back
        start_ours = len(ours.lines)
        ours.command("quit")
        theirs.command("quit")
        ours = QuorumNode(ARGS.quorum_node, node1, env=conclaved.ours(), label="conclave2")
        ours.wait_event("quorum quorate=0 members=1")
        node1.stop_corosync(sig=9)
        index = ours.wait_event("vq-quorum quorate=0 nodes=1:1", len(ours.lines) - 1)
        cluster.wait_until("conclaved says votequorum is lost",
                           lambda: "corosync's votequorum lost" in conclaved.log_text(node1), 30)
        line = ours.ask("getquorate", "getquorate")
        assert line == "getquorate 0", line
        for node in c.nodes:
            node.start_corosync()
        for node in c.nodes:
            node.wait_quorum(3, True, 60)
        ours.wait_event("quorum quorate=1 members=1,2,3", index, timeout=60)
        theirs = QuorumNode(ARGS.quorum_node, node1, label="corosync2")
        theirs.wait_event("quorum quorate=1 members=1,2,3")
        same_answers(ours, theirs, (1, 2, 3))
        same_members_keys(conclaved, node1)
        assert "tracking corosync's votequorum again" in conclaved.log_text(node1)
        assert node1.conclaved.poll() is None, "conclaved exited"


def main():
    global ARGS
    ARGS = conclaveds.parse_args("quorum-node")
    cluster.main_guard(test)


if __name__ == "__main__":
    main()
