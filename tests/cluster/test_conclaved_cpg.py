#!/usr/bin/env python3
"""cpg across nodes through conclaved in cluster mode, side by side with
corosync's own cpg in the same cluster and the same scenario.

Three nodes, each with corosync and a conclaved (cluster_engine: corosync).
In every node one cpg-node runs on Conclave's libraries (group "g" of
conclaved) and one on corosync's (group "g" of corosync). Then:

- the members join one node after the other; cpg_local_get, cpg_membership_get
  and cpg_iteration list the members of every node, and so do Debian's
  corosync-cpgtool and corosync-quorumtool (members, votes) on Conclave's
  libraries in node 2;
- three senders on three nodes: every member sees the same messages in the
  same order, each exactly once;
- node 3 killed (SIGKILL of everything in it): CPG_REASON_NODEDOWN at the
  others; node 3 started again: its new members join;
- node 3 partitioned: NODEDOWN on both sides, and each side keeps its own
  traffic (node 3 alone gets its own messages within ALONE_WAIT); healed:
  CPG_REASON_NODEUP on both sides, one agreed membership;
- evs across nodes: one order of every node's messages at every member,
  each sender's in the order sent, also from a member with more joins than
  one call may name, and corosync's ring as evs's configuration changes (a
  node killed, a partition and its heal);
- a member of node 2 stops dispatching: the senders of nodes 1 and 3 get
  CS_ERR_TRY_AGAIN (conclaved only: corosync queues without bound), the
  slow member stays, and once it dispatches again nothing was lost;
- every member's sequence of confchgs on conclaved is the one corosync's cpg
  gave the member in the same place (process ids mapped to names; the order
  within a joined list aside)."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
import conclaveds  # noqa: E402
from conclaveds import Conclaved, CpgNode  # noqa: E402
from engines import LineProcess  # noqa: E402

GROUP = "g"
# How long the members of a node cut off alone may take to get that node's
# messages: corosync delivers them at once, its ring of one formed.
ALONE_WAIT = 10
# conclaved's queue limit per connection, low (the least max_message_size
# allows) so that flow control starts after little traffic: half of it at a
# member, and a quarter in flight per node.
MAX_QUEUED = (1 << 20) + 16
# What two senders send while a member stops dispatching: several times
# what flow control and the member's socket let through.
SLOW_COUNT, SLOW_SIZE = 3000, 1000
CPG_FLOW_CONTROL_ENABLED = 1
# Joins an evs member adds to its first: its messages then name more groups
# than EVS_MAX_GROUPS_PER_CALL (50), which one evs_mcast_groups() may.
EXTRA_EVS_JOINS = 60


class Side:
    """The members of one cpg implementation: 'conclave' or 'corosync'."""

    def __init__(self, name, env):
        self.name = name
        self.env = env
        self.members = {}          # nodeid -> CpgNode, the current one
        self.all = []              # every CpgNode started, in order

    def start(self, node):
        member = CpgNode(node, ARGS.cpg_node, GROUP, env=self.env,
                         label="%s.%d" % (self.name, len([m for m in self.all if m.nodeid == node.nodeid])))
        self.members[node.nodeid] = member
        self.all.append(member)
        return member

    def names(self):
        """pid -> a name that is the same on both sides."""
        out, count = {}, {}
        for m in self.all:
            count[m.nodeid] = count.get(m.nodeid, 0) + 1
            out[m.pid] = "n%d.p%d" % (m.nodeid, count[m.nodeid])
        return out

    def normalized_confchgs(self, member):
        """With names for pids, and each list sorted: in a NODEUP confchg
        corosync lists the joined in the order the nodes' joinlists came
        during its sync, conclaved by node id (README, Compatibility)."""
        names = self.names()
        out = []
        for line in member.confchgs(totem=True):
            line = re.sub(r"(\d+):(\d+)", lambda m: "%s:%s" % (m.group(1), names.get(int(m.group(2)), "?")), line)
            out.append(" ".join(part.split("=")[0] + "=" + ",".join(sorted(part.split("=")[1].split(",")))
                                if "=" in part else part for part in line.split()))
        return out


def join_one_by_one(side, nodes):
    for i, node in enumerate(nodes):
        side.start(node)
        present = [n.nodeid for n in nodes[:i + 1]]
        for n in present:
            side.members[n].wait_members(present)


def check_questions(side, nodes):
    ids = sorted(n.nodeid for n in nodes)
    for node in nodes:
        member = side.members[node.nodeid]
        assert member.ask("local", "local ") == "local %d" % node.nodeid
        for command in ("members", "iterate"):
            line = member.ask(command, command)
            listed = sorted(int(a.split(":")[0]) for a in line.split(None, 1)[1].split(",") if a) \
                if " " in line.strip() else []
            assert listed == ids, "%s %s: %s" % (side.name, node.name, line)


def debian_tools_on_node_2(conclaved, nodes):
    """Debian's corosync-cpgtool on Conclave's libraries in node 2 lists the
    members of group g on every node; its corosync-quorumtool -l lists every
    node with its vote, as it does on corosync's libraries."""
    node2 = nodes[1]
    out = conclaveds.run_tool(conclaved, node2, ["corosync-cpgtool"])
    assert out.returncode == 0, out
    cluster.log("corosync-cpgtool on Conclave's libraries: %s" % " | ".join(out.stdout.splitlines()))
    assert re.search(r"(?m)^g$", out.stdout), out.stdout
    for node in nodes:
        assert re.search(r"(?m)^\s+\d+\s+%d\b" % node.nodeid, out.stdout), \
            "node %d's member not listed:\n%s" % (node.nodeid, out.stdout)
    listed = conclaveds.same_tool_output(conclaved, node2, ["corosync-quorumtool", "-l"],
                                         "Membership information")
    for node in nodes:
        assert re.search(r"(?m)^\s+%d\s+1\s" % node.nodeid, listed), listed


def stream(side, count, size, members, timeout=90):
    """Every member sends count messages; every member gets all of them in
    one order, each once, within timeout seconds."""
    starts = {n: len(m.lines) for n, m in side.members.items() if n in members}
    for n in members:
        side.members[n].command("send %d %d" % (count, size))
    check_one_order(side, count * len(members), starts, timeout)


def check_one_order(side, total, starts, timeout):
    """The members at starts' nodes get total messages from starts on,
    each once, in one order."""
    members = sorted(starts)
    for n in members:
        side.members[n].wait_messages(total, timeout=timeout, start=starts[n])
    orders = {}
    for n in members:
        got = [tuple(l.split()[1:5]) for l in side.members[n].messages(starts[n])]
        assert not any(l.endswith("BAD") for l in side.members[n].messages(starts[n])), side.name
        assert len(got) == len(set(got)) == total, "%s node %d: %d messages" % (side.name, n, len(got))
        orders[n] = got
    first = orders[members[0]]
    for n in members[1:]:
        assert orders[n] == first, "%s: node %d's order differs from node %d's" % (side.name, n, members[0])
    cluster.log("%s: %d messages in one order at nodes %s" % (side.name, len(first), members))


def slow_member(side):
    """A member of node 2 stops dispatching while nodes 1 and 3 stream:
    their senders get CS_ERR_TRY_AGAIN and flow control says ENABLED, the
    slow member stays; once it dispatches again every message arrives once,
    in one order, at every member."""
    slow, senders = side.members[2], (1, 3)
    starts = {n: len(m.lines) for n, m in side.members.items()}
    slow.command("pause")
    for n in senders:
        side.members[n].command("send %d %d" % (SLOW_COUNT, SLOW_SIZE))
    for n in senders:
        _, line = side.members[n].wait_line("tryagain", lambda l: l.startswith(("tryagain", "sent")), 60,
                                            starts[n])
        assert line == "tryagain", "node %d was never held back" % n
    time.sleep(2)
    assert slow.ask("flow", "flow ") == "flow %d" % CPG_FLOW_CONTROL_ENABLED
    assert not any(l.startswith("sent") for n in senders for l in side.members[n].lines[starts[n]:]), \
        "a sender finished while the slow member held its group back"
    slow.command("resume")
    check_one_order(side, SLOW_COUNT * len(senders), starts, 120)
    assert not any(l.startswith("error") for l in slow.lines[starts[2]:]), slow.lines[-5:]
    assert slow.ask("flow", "flow ") == "flow 0"


def wait_confchg(side, nodeid, pattern, start, timeout=60):
    member = side.members[nodeid]
    index, line = member.wait_line("%s on node %d" % (pattern, nodeid),
                                   lambda l: l.startswith("confchg") and re.search(pattern, l), timeout, start)
    cluster.log("%s node %d: %s" % (side.name, nodeid, line))
    return index


def start_evs(node):
    member = LineProcess(node, [ARGS.evs_node, GROUP], "evs-node.log")
    member.wait_line("evs me", lambda l: l.startswith("me ") or l.startswith("error"), 60)
    return member


def evs_stream(members, count):
    """Every member sends count messages: each gets all, in one order."""
    starts = [len(m.lines) for m in members]
    for m in members:
        m.command("send %d" % count)
    orders = []
    for m, start in zip(members, starts):
        def got():
            with m.cond:
                return [l for l in m.lines[start:] if l.startswith("msg ")]
        cluster.wait_until("%s: evs messages" % m.node.name, lambda: len(got()) >= count * len(members), 60)
        assert not any("BAD" in l for l in got())
        orders.append(got())
    assert all(o == orders[0] for o in orders), "evs: members saw different orders"
    assert len(set(orders[0])) == count * len(members)
    for sender in set(l.split()[1] for l in orders[0]):
        indexes = [int(l.split()[2]) for l in orders[0] if l.split()[1] == sender]
        assert indexes == list(range(indexes[0], indexes[0] + count)), \
            "evs: node %s's messages out of order" % sender
    cluster.log("evs: %d messages in one order at %d nodes" % (len(orders[0]), len(members)))


def evs_confchg(member, pattern, start):
    _, line = member.wait_line("evs " + pattern, lambda l: l.startswith("confchg") and re.search(pattern, l),
                               60, start)
    cluster.log("%s evs: %s" % (member.node.name, line))


def test():
    conclaved = Conclaved(ARGS.conclaved, ARGS.libdir, ARGS.sanitized == "1")
    sides = [Side("conclave", conclaved.ours()), Side("corosync", None)]
    with cluster.Cluster(3, conclave=[("max_queued_bytes", MAX_QUEUED)]) as c:
        nodes = c.nodes
        c.start_corosync()
        for node in nodes:
            conclaved.start(node)
        for side in sides:
            join_one_by_one(side, nodes)
            check_questions(side, nodes)
        debian_tools_on_node_2(conclaved, nodes)
        for side in sides:
            stream(side, 300, 200, [1, 2, 3])
        evs = {node.nodeid: start_evs(node) for node in nodes}
        for member in evs.values():
            evs_confchg(member, r"members=1,2,3 ", 0)
        evs_stream(list(evs.values()), 2000)
        # more joins than one call may name: node 1's messages carry a key for each
        evs[1].command("join %d" % EXTRA_EVS_JOINS)
        _, line = evs[1].wait_line("evs joins", lambda l: l.startswith("joins ") or l.startswith("error"), 60)
        assert line == "joins %d" % (EXTRA_EVS_JOINS + 1), line
        evs_stream(list(evs.values()), 100)
        evs_marks = {n: len(m.lines) for n, m in evs.items()}

        # node 3 killed, then back
        node3 = c.node(3)
        marks = {s.name: {n: len(s.members[n].lines) for n in (1, 2)} for s in sides}
        node3.kill()
        for side in sides:
            gone = side.members.pop(3)
            for n in (1, 2):
                wait_confchg(side, n, r"left=3:%d:3 " % gone.pid, marks[side.name][n])
        for n in (1, 2):
            evs_confchg(evs[n], r"members=1,2 left=3 joined=$", evs_marks[n])
        node3.start_corosync()
        for n in (1, 2, 3):
            c.node(n).wait_quorum(3, True, 60)
        conclaved.start(node3)
        evs[3] = start_evs(node3)
        for n in (1, 2):
            evs_confchg(evs[n], r"members=1,2,3 left= joined=3$", evs_marks[n])
        evs_marks = {n: len(m.lines) for n, m in evs.items()}
        for side in sides:
            side.start(node3)
            for n in (1, 2, 3):
                side.members[n].wait_members([1, 2, 3])

        # node 3 cut off, then healed
        marks = {s.name: {n: len(s.members[n].lines) for n in (1, 2, 3)} for s in sides}
        node3.partition()
        for side in sides:
            for n in (1, 2):
                wait_confchg(side, n, r"left=3:%d:3 " % side.members[3].pid, marks[side.name][n])
            wait_confchg(side, 3, r"left=1:\d+:3,2:\d+:3 ", marks[side.name][3])
        c.node(1).wait_quorum(2, True, 30)
        for side in sides:
            stream(side, 100, 100, [1, 2])
        # node 3 alone: its members get its messages during the partition
        for side in sides:
            stream(side, 100, 100, [3], timeout=ALONE_WAIT)
        node3.heal()
        evs_confchg(evs[1], r"members=1,2 left=3 joined=$", evs_marks[1])
        evs_confchg(evs[1], r"members=1,2,3 left= joined=3$", evs_marks[1])
        evs_confchg(evs[3], r"members=3 left=1,2 joined=$", evs_marks[3])
        evs_confchg(evs[3], r"members=1,2,3 left= joined=1,2$", evs_marks[3])
        for side in sides:
            for n in (1, 2):
                wait_confchg(side, n, r"joined=3:%d:4$" % side.members[3].pid, marks[side.name][n])
            wait_confchg(side, 3, r"joined=(1:\d+:4,2:\d+:4|2:\d+:4,1:\d+:4)$", marks[side.name][3])
        for side in sides:
            check_questions(side, nodes)
            stream(side, 100, 1000, [1, 2, 3])
        evs_stream(list(evs.values()), 100)
        slow_member(sides[0])

        # the same confchgs on conclaved as on corosync, member by member
        time.sleep(1)
        ours, theirs = sides
        for a, b in zip(ours.all, theirs.all):
            seen_a, seen_b = ours.normalized_confchgs(a), theirs.normalized_confchgs(b)
            assert seen_a == seen_b, "%s and %s saw different confchgs:\n%s\n--- corosync's:\n%s" % (
                a.label, b.label, "\n".join(seen_a), "\n".join(seen_b))
            cluster.log("%s: %d confchgs, as on corosync" % (a.label, len(seen_a)))


def main():
    global ARGS
    ARGS = conclaveds.parse_args("cpg-node", "evs-node")
    cluster.main_guard(test)


if __name__ == "__main__":
    main()
