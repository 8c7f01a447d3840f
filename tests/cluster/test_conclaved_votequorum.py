#!/usr/bin/env python3
"""votequorum's calls that change state act on the cluster in cluster mode.

A conclaved beside corosync on each of three nodes, and on each node one
quorum-node on Conclave's libraries and one on corosync's. Every call is
made through Conclave's library on node 1, then the same call through
corosync's (the same starting state for a call that fails, the state the
first left for one that succeeds, which the same call leaves as it is):
both get the same result. After each, on every node, both clients have
had the same notifications (libquorum's and libvotequorum's) and give the
same getinfo for every node:

- setexpected and setvotes, valid and not (a node that does not exist, a
  quorum above the votes), and put back;
- a quorum device registered through Conclave is corosync's: corosync's
  own client on node 1 cannot register another name (CS_ERR_EXIST), and
  getinfo of node 1 on every node shows it registered; poll (with the
  current ring id and with a stale one), master_wins, update (getinfo
  gives the new name), unregister, each against a wrong name too;
- the device's client on Conclave quits while registered: the device
  stays registered, as corosync keeps a device whose connection closed,
  and corosync's own client unregisters it."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
import conclaveds  # noqa: E402
from conclaveds import Conclaved, QuorumNode  # noqa: E402

QDEVICE_REGISTERED = 64
SETTLE_S = 20


class Pair:
    """The two clients of a node: ours on conclaved, theirs on corosync."""

    def __init__(self, conclaved, node):
        self.node = node
        self.ours = QuorumNode(ARGS.quorum_node, node, env=conclaved.ours(), label="conclave-n%d" % node.nodeid)
        self.theirs = QuorumNode(ARGS.quorum_node, node, label="corosync-n%d" % node.nodeid)
        self.marks = (0, 0)

    def mark(self):
        self.marks = (len(self.ours.lines), len(self.theirs.lines))

    def same_events(self):
        """The notifications since the mark are the same on both, once
        they stop coming."""
        def same():
            return self.ours.events(self.marks[0]) == self.theirs.events(self.marks[1])
        time.sleep(0.5)
        try:
            cluster.wait_until("%s: the same notifications" % self.node.name, same, SETTLE_S, interval=0.2)
        except TimeoutError:
            raise AssertionError("%s: conclaved's notifications %s, corosync's %s" % (
                self.node.name, self.ours.events(self.marks[0]), self.theirs.events(self.marks[1])))
        return self.theirs.events(self.marks[1])

    def info(self, nodeid):
        """getinfo of nodeid, the same on both once corosync has applied
        what its members multicast (a quorum device's new name, ...)."""
        deadline = time.monotonic() + SETTLE_S
        while True:
            a = self.ours.ask("info %d" % nodeid, "info")
            b = self.theirs.ask("info %d" % nodeid, "info")
            if a == b:
                return a
            assert time.monotonic() < deadline, "%s: info %d: conclaved %r, corosync %r" % (
                self.node.name, nodeid, a, b)
            time.sleep(0.2)

    def same_state(self):
        for nodeid in (1, 2, 3):
            self.info(nodeid)
        a, b = self.ours.ask("getquorate", "getquorate"), self.theirs.ask("getquorate", "getquorate")
        assert a == b, "%s: getquorate: conclaved %r, corosync %r" % (self.node.name, a, b)


def info_fields(line):
    """info's fields by name."""
    names = ("id", "state", "votes", "expected", "highest", "total", "quorum", "flags", "qdevice_votes",
             "qdevice_name")
    values = line.split()[1:]
    return dict(zip(names, [int(v) for v in values[:-1]] + [values[-1]]))


def call_both(pairs, command, expect=None):
    """command through Conclave's library on node 1, then through corosync's:
    the same result; every node's clients agree afterwards. Returns the
    result's code and each node's events since the call."""
    for p in pairs:
        p.mark()
    ours = pairs[0].ours.ask(command, "result")
    theirs = pairs[0].theirs.ask(command, "result")
    cluster.log("%s: conclaved %r, corosync %r" % (command, ours, theirs))
    assert ours == theirs, "%s: conclaved %r, corosync %r" % (command, ours, theirs)
    code = int(ours.split()[2])
    if expect is not None:
        assert code == expect, "%s: %r, expected code %d" % (command, ours, expect)
    events = [p.same_events() for p in pairs]
    for p in pairs:
        p.same_state()
    return code, events


def vq_events(events):
    return events[1]


def test_votes(pairs):
    code, events = call_both(pairs, "setexpected 5", 1)
    for e in events:
        assert "vq-expected 5" in vq_events(e), e
    cluster.wait_until("expected votes 5 on node 2", lambda: info_fields(pairs[1].info(1))["expected"] == 5,
                       SETTLE_S)
    call_both(pairs, "setexpected 2")            # below the votes: corosync's answer, whichever
    call_both(pairs, "setexpected 3", 1)
    code, events = call_both(pairs, "setvotes 2 2", 1)
    for p in pairs:
        cluster.wait_until("%s: node 2 has 2 votes" % p.node.name, lambda: info_fields(p.info(2))["votes"] == 2,
                           SETTLE_S)
    call_both(pairs, "setvotes 9 1")             # no such node
    call_both(pairs, "setvotes 2 0")             # a node without votes
    call_both(pairs, "setvotes 2 1", 1)
    for p in pairs:
        cluster.wait_until("%s: node 2 has 1 vote" % p.node.name, lambda: info_fields(p.info(2))["votes"] == 1,
                           SETTLE_S)


def test_qdevice(pairs):
    ours, theirs = pairs[0].ours, pairs[0].theirs
    code, _ = call_both(pairs, "unregister nothing")      # none registered
    assert code != 1
    line = ours.ask("register cv-device", "result")
    assert line == "result register 1", line
    line = theirs.ask("register other-device", "result")
    assert line == "result register 14", "corosync does not see Conclave's device: %r" % line  # CS_ERR_EXIST
    for p in pairs:
        cluster.wait_until("%s: the device registered" % p.node.name,
                           lambda: info_fields(p.info(1))["flags"] & QDEVICE_REGISTERED, SETTLE_S)
    assert info_fields(pairs[0].info(1))["qdevice_name"] == "cv-device"
    call_both(pairs, "register cv-device", 1)              # again, the same name
    call_both(pairs, "poll cv-device 1", 1)
    call_both(pairs, "poll-stale cv-device 1")
    call_both(pairs, "poll wrong-name 1")
    call_both(pairs, "master_wins cv-device 1", 1)
    call_both(pairs, "master_wins wrong-name 0")
    call_both(pairs, "master_wins cv-device 0", 1)
    call_both(pairs, "update wrong-name new-name")
    line = ours.ask("update cv-device cv-device-2", "result")
    assert line == "result update 1", line
    cluster.wait_until("the device's new name", lambda: info_fields(pairs[0].info(1))["qdevice_name"] ==
                       "cv-device-2", SETTLE_S)
    call_both(pairs, "unregister wrong-name")
    line = ours.ask("unregister cv-device-2", "result")
    assert line == "result unregister 1", line
    for p in pairs:
        cluster.wait_until("%s: the device unregistered" % p.node.name,
                           lambda: not info_fields(p.info(1))["flags"] & QDEVICE_REGISTERED, SETTLE_S)
    call_both(pairs, "unregister cv-device-2")             # not registered any more

    # registered, then the client on Conclave goes: the device stays, as
    # corosync keeps one whose connection closed; corosync's client removes it
    line = ours.ask("register cv-device", "result")
    assert line == "result register 1", line
    cluster.wait_until("the device registered again",
                       lambda: info_fields(pairs[0].info(1))["flags"] & QDEVICE_REGISTERED, SETTLE_S)
    ours.command("quit")
    ours.proc.wait(30)
    time.sleep(1)
    assert info_fields(theirs.ask("info 1", "info"))["flags"] & QDEVICE_REGISTERED
    line = theirs.ask("unregister cv-device", "result")
    assert line == "result unregister 1", "corosync's client unregisters Conclave's device: %r" % line


def test():
    conclaved = Conclaved(ARGS.conclaved, ARGS.libdir, ARGS.sanitized == "1")
    with cluster.Cluster(3) as c:
        c.start_corosync()
        for node in c.nodes:
            conclaved.start(node, env=conclaved.ours())
        pairs = [Pair(conclaved, node) for node in c.nodes]
        for p in pairs:
            for client in (p.ours, p.theirs):
                client.wait_event("quorum quorate=1 members=1,2,3")
            p.same_state()
        test_votes(pairs)
        test_qdevice(pairs)
        for node in c.nodes:
            assert node.conclaved.poll() is None, "%s: conclaved exited" % node.name


def main():
    global ARGS
    ARGS = conclaveds.parse_args("quorum-node")
    cluster.main_guard(test)


if __name__ == "__main__":
    main()
