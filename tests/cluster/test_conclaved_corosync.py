#!/usr/bin/env python3
"""conclaved in cluster mode and the corosync beside it:

- started before corosync, conclaved waits (saying so in its log) and
  accepts no client until corosync is there;
- with Conclave's libcpg forced in (LD_PRELOAD, the one way around its
  DT_RPATH), conclaved refuses to start: exit status 1, and why;
- with Conclave's libraries first on LD_LIBRARY_PATH it still reaches
  corosync's;
- corosync killed under a node while its member streams: the members
  elsewhere see that node's process leave (CPG_REASON_NODEDOWN) and the
  node's member sees the others leave; corosync restarted, conclaved
  rejoins without a restart (CPG_REASON_NODEUP both ways), and every
  message accepted with CS_OK is delivered once, in order, at every member
  that stayed in its sender's configuration."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
import conclaveds  # noqa: E402
from conclaveds import SOCKET, Conclaved, CpgNode  # noqa: E402

GROUP = "g"


def check_refusal_under_preload(conclaved, node):
    env = {"LD_PRELOAD": os.path.join(os.path.abspath(ARGS.libdir[0]), "libcpg.so.4"),
           "LD_LIBRARY_PATH": conclaved.libpath}
    if ARGS.sanitized == "1":
        env["ASAN_OPTIONS"] = "verify_asan_link_order=0:detect_leaks=0"
    result = node.run([ARGS.conclaved, "-f", "-c", "/etc/corosync/corosync.conf", "-s", "/run/preloaded.sock"],
                      timeout=60, env=env)
    cluster.log("conclaved under LD_PRELOAD: exit %d: %s" % (result.returncode, result.stderr.strip()[-300:]))
    assert result.returncode == 1, result
    assert "cpg_initialize comes from %s" % env["LD_PRELOAD"] in result.stderr, result.stderr
    assert "cluster mode cannot go on" in result.stderr, result.stderr
    assert not os.path.exists(node.inside("/run/preloaded.sock"))


def exactly_once(member, sender, count, start):
    got = [int(l.split()[3]) for l in member.messages(start) if int(l.split()[2]) == sender.pid]
    assert got == list(range(count)), "%s: %d messages of %s, first gaps/duplicates near %s" % (
        member.label, len(got), sender.label,
        next((i for i, v in enumerate(got) if v != i), None))


def wait_confchg(member, pattern, start, timeout=60):
    index, line = member.wait_line(pattern, lambda l: l.startswith("confchg") and re.search(pattern, l),
                                   timeout, start)
    cluster.log("%s: %s" % (member.label, line))
    return index


def test():
    conclaved = Conclaved(ARGS.conclaved, ARGS.libdir)
    with cluster.Cluster(3) as c:
        node1, node3 = c.node(1), c.node(3)

        # waits for corosync
        conclaved.start(node1, wait=False)
        cluster.wait_until("conclaved says corosync is unreachable",
                           lambda: "corosync unreachable" in conclaved.log_text(node1), 30)
        assert not os.path.exists(node1.inside(SOCKET))
        assert node1.conclaved.poll() is None
        c.start_corosync()
        conclaved.wait_ready(node1)

        check_refusal_under_preload(conclaved, c.node(2))
        for node in c.nodes[1:]:
            conclaved.start(node, env=conclaved.ours())
        members = {}
        for node in c.nodes:
            members[node.nodeid] = CpgNode(node, ARGS.cpg_node, GROUP, env=conclaved.ours(),
                                           label="node%d" % node.nodeid)
        for n in (1, 2, 3):
            members[n].wait_members([1, 2, 3])

        # corosync killed under node 3 while node 3 and node 1 stream
        starts = {n: len(m.lines) for n, m in members.items()}
        count = 4000
        members[3].command("send %d 1000" % count)
        members[1].command("send %d 1000" % count)
        members[1].wait_messages(500, start=starts[1])
        node3.stop_corosync(sig=9)
        for n in (1, 2):
            wait_confchg(members[n], r"left=3:%d:3 " % members[3].pid, starts[n])
        wait_confchg(members[3], r"left=1:\d+:3,2:\d+:3 ", starts[3])
        assert node3.conclaved.poll() is None, "conclaved exited with corosync"
        node3.start_corosync()
        for n in (1, 2):
            wait_confchg(members[n], r"joined=3:%d:4$" % members[3].pid, starts[n])
        wait_confchg(members[3], r"joined=(1:\d+:4,2:\d+:4|2:\d+:4,1:\d+:4)$", starts[3])
        for n in (1, 3):
            members[n].wait_line("sent", lambda l: l.startswith("sent"), 120, starts[n])
        after = 100
        members[1].command("send %d 1000" % after)
        for n in (1, 2):
            members[n].wait_messages(2 * count + after, timeout=120, start=starts[n])
            exactly_once(members[n], members[1], count + after, starts[n])
            exactly_once(members[n], members[3], count, starts[n])
        # node 3's member was away from the others meanwhile: what node 1 sent
        # then is not for it (virtual synchrony), the rest is, once and in order
        members[3].wait_line("node 1's last message", lambda l: l.startswith("msg 1 %d %d " % (
            members[1].pid, count + after - 1)), 120, starts[3])
        exactly_once(members[3], members[3], count, starts[3])
        from_1 = [int(l.split()[3]) for l in members[3].messages(starts[3]) if int(l.split()[2]) == members[1].pid]
        assert from_1 == sorted(set(from_1)), "node 3: node 1's messages twice or out of order"
        assert from_1[-after:] == list(range(count, count + after)), "node 3: node 1's messages after the rejoin"
        cluster.log("node 3 got %d of node 1's %d messages, those of its time away missing" % (
            len(from_1), count + after))
        assert "back on corosync" in conclaved.log_text(node3)
        cluster.log("every accepted message delivered once at every member across corosync's restart")
        for node in c.nodes:
            assert node.conclaved.poll() is None, "%s: conclaved exited" % node.name


def main():
    global ARGS
    ARGS = conclaveds.parse_args("cpg-node", "evs-node")
    cluster.main_guard(test)


if __name__ == "__main__":
    main()
