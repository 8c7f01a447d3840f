#!/usr/bin/env python3
"""The corosync engine on three corosync nodes in namespaces, one engine-node
per node: total order and no loss with three senders; 64 MiB messages among
small ones; back-pressure without loss; a node killed; a partition and its
heal; corosync killed and restarted under a running engine."""
import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
from engines import EngineNode, check_exactly_once_in_order  # noqa: E402

ALL = (1, 2, 3)
SENT_BY_2 = 500000      # long enough a stream for corosync's death to fall in it
SENT_BY_OTHERS = 20000
STREAMING = 1000        # of node 2's messages node 1 has when corosync dies


def start_engines(c, program, args=()):
    engines = {n.nodeid: EngineNode(n, program, args) for n in c.nodes}
    for e in engines.values():
        e.wait_view(ALL)
    return engines


def assert_same_order(engines, count, nodes=ALL):
    for n in nodes:
        engines[n].wait_deliveries(count)
    logs = {n: engines[n].deliveries() for n in nodes}
    for n in nodes:
        check_exactly_once_in_order(engines[n].node.name, logs[n])
        assert len(logs[n]) == count, "%s: %d deliveries, expected %d" % (engines[n].node.name, len(logs[n]), count)
    first = nodes[0]
    for n in nodes[1:]:
        assert logs[n] == logs[first], "node%d and node%d delivered in different orders" % (first, n)
    return logs[first]


def total_order(engines):
    """Three senders at once, of different sizes: one order everywhere."""
    engines[1].send(3000, 64, wait=False)
    engines[2].send(2000, 1000, wait=False)
    engines[3].send(300, 20000, wait=False)
    for e in engines.values():
        e.wait_accepted()
    log = assert_same_order(engines, 5300)
    senders = {origin for origin, _, _ in log}
    assert senders == set(ALL), senders
    cluster.log("total order: 5300 messages, one order at every node")


def large_messages(engines, before):
    """A 64 MiB message and 5 MiB ones among small ones from the others."""
    engines[1].send(1, 64 << 20, wait=False)
    engines[2].send(2000, 100, wait=False)
    engines[3].send(2, 5 << 20, wait=False)
    for e in engines.values():
        e.wait_accepted(timeout=300)
    log = assert_same_order(engines, before + 2003)
    sizes = sorted(size for _, _, size in log[before:] if size > 100)
    assert sizes == [5 << 20, 5 << 20, 64 << 20], sizes
    cluster.log("large messages: 64 MiB and 2 x 5 MiB among 2000 small ones, one order")


def back_pressure(c, program):
    """A held-bytes bound of 300 kB: senders are refused and retry; nothing lost."""
    engines = start_engines(c, program, ["max_held", "300000"])
    for e in engines.values():
        e.send(20000, 200, wait=False)
    for e in engines.values():
        e.wait_accepted(timeout=300)
    assert_same_order(engines, 60000)
    refusals = {n: int(e.stats()["refusals"]) for n, e in engines.items()}
    assert any(refusals.values()), "no sender was ever refused: %s" % refusals
    cluster.log("back-pressure: 60000 messages, refusals %s, none lost" % refusals)
    for e in engines.values():
        e.quit()


def node_killed(c, engines, program):
    """Node 3 killed: 1 and 2 settle without it; back, all three."""
    marks = {n: len(engines[n].lines) for n in (1, 2)}
    c.node(3).kill()
    for n in (1, 2):
        engines[n].wait_view((1, 2), start=marks[n])
    marks = {n: len(engines[n].lines) for n in (1, 2)}
    c.node(3).start_corosync()
    engines[3] = EngineNode(c.node(3), program)
    for n in ALL:
        engines[n].wait_view(ALL, start=marks.get(n, 0))
    cluster.log("node killed: the others saw it leave, and come back")


def partition_and_heal(c, engines):
    """Node 1 cut off: each side keeps its own traffic; after the heal all agree."""
    marks = {n: len(engines[n].lines) for n in ALL}
    counts = {n: engines[n].delivery_count() for n in ALL}
    c.node(1).partition()
    engines[1].wait_view((1,), start=marks[1])
    for n in (2, 3):
        engines[n].wait_view((2, 3), start=marks[n])
    for e in engines.values():
        e.send(100, 300)
    engines[1].wait_deliveries(counts[1] + 100)
    for n in (2, 3):
        engines[n].wait_deliveries(counts[n] + 200)
    time.sleep(1)
    side1 = engines[1].deliveries()[counts[1]:]
    assert {o for o, _, _ in side1} == {1} and len(side1) == 100, side1[:5]
    side2, side3 = (engines[n].deliveries()[counts[n]:] for n in (2, 3))
    assert side2 == side3 and len(side2) == 200 and {o for o, _, _ in side2} == {2, 3}
    marks = {n: len(engines[n].lines) for n in ALL}
    c.node(1).heal()
    for n in ALL:
        engines[n].wait_view(ALL, start=marks[n])
    counts = {n: engines[n].delivery_count() for n in ALL}
    for e in engines.values():
        e.send(100, 300, wait=False)
    for n in ALL:
        engines[n].wait_deliveries(counts[n] + 300)
    tails = [engines[n].deliveries()[counts[n]:] for n in ALL]
    assert tails[0] == tails[1] == tails[2] and len(tails[0]) == 300
    cluster.log("partition: each side kept its own traffic; after the heal one order again")


def corosync_restart(c, engines):
    """corosync killed under node 2's running engine while all three send,
    and restarted cut off from the others: node 2 goes on alone, reconnects,
    and once the others are back nothing accepted is lost or twice."""
    counts = {n: engines[n].delivery_count() for n in ALL}
    marks = {n: len(engines[n].lines) for n in ALL}
    engines[2].send(SENT_BY_2, 100, wait=False)
    engines[1].send(SENT_BY_OTHERS, 100, wait=False)
    engines[3].send(SENT_BY_OTHERS, 100, wait=False)
    cluster.wait_until("node1: %d of node 2's messages" % STREAMING,
                       lambda: sum(o == 2 for o, _, _ in engines[1].deliveries()[counts[1]:]) >= STREAMING,
                       timeout=120, interval=0.01)
    c.node(2).stop_corosync(signal.SIGKILL)
    engines[2].wait_view((2,), connected=False, start=marks[2])
    for n in (1, 3):
        engines[n].wait_view((1, 3), start=marks[n])
    # corosync comes back cut off from the others: it forms a ring alone
    # first, and what node 2 sends then must still reach the others later
    c.node(2).partition()
    c.node(2).start_corosync()
    engines[2].wait_view((2,), connected=True, start=marks[2])
    time.sleep(1)
    c.node(2).heal()
    for n in ALL:
        engines[n].wait_view(ALL, start=marks[n])
    for n in ALL:
        engines[n].wait_deliveries(counts[n] + (SENT_BY_2 + 2 * SENT_BY_OTHERS if n != 2 else SENT_BY_2))
    for e in engines.values():
        e.wait_accepted(start=marks[e.node.nodeid])
    time.sleep(2)
    logs = {n: engines[n].deliveries()[counts[n]:] for n in ALL}
    for n in ALL:
        check_exactly_once_in_order(engines[n].node.name, logs[n])
        from2 = [i for o, i, _ in logs[n] if o == 2]
        assert len(from2) == SENT_BY_2, "node%d got %d of node 2's %d" % (n, len(from2), SENT_BY_2)
    assert logs[1] == logs[3], "nodes 1 and 3 disagree"
    for n in (1, 3):
        assert len(logs[n]) == SENT_BY_2 + 2 * SENT_BY_OTHERS, "node%d: %d deliveries" % (n, len(logs[n]))
    stats = {n: engines[n].stats() for n in ALL}
    before_leave, seen = 0, 0
    for entry in engines[1].deliveries(views=True):
        if entry[0] != "view":
            seen += 1
            before_leave += seen > counts[1] and entry[0] == 2
        elif seen > counts[1]:
            break
    cluster.log("node 1 had %d of node 2's messages before node 2 left" % before_leave)
    assert 0 < before_leave < SENT_BY_2, "corosync's death did not fall in node 2's stream"
    cluster.log("corosync restart: node 2's %d messages exactly once everywhere; node 2 saw %d of the others' "
                "%d (the rest were sent while it was away); duplicates dropped: %s" %
                (SENT_BY_2, len(logs[2]) - SENT_BY_2, 2 * SENT_BY_OTHERS,
                 {n: stats[n]["duplicates"] for n in ALL}))


def test(program):
    with cluster.Cluster(3) as c:
        c.start_corosync()
        engines = start_engines(c, program)
        total_order(engines)
        large_messages(engines, 5300)
        for e in engines.values():
            e.quit()
        back_pressure(c, program)
        engines = start_engines(c, program)
        node_killed(c, engines, program)
        partition_and_heal(c, engines)
        corosync_restart(c, engines)
        for e in engines.values():
            assert not e.failures(), e.failures()
            e.quit()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--node", required=True, help="the engine-node program")
    args = parser.parse_args()
    cluster.main_guard(lambda: test(os.path.abspath(args.node)))
