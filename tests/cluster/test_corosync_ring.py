#!/usr/bin/env python3
"""Three corosync nodes in network namespaces: they form one ring; node 2 sees
3 nodes and quorum; node 3 killed leaves; node 1 partitioned is inquorate while
2 and 3 stay quorate; the heal brings back 3 nodes. corosync accepts the
`conclave {}` section of the generated configuration."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402


def test():
    with cluster.Cluster(3) as c:
        n1, n2, n3 = c.nodes
        c.start_corosync()
        state = n2.wait_quorum(3, True)
        assert state["nodes"] == 3 and state["quorate"]
        section = n2.run(["corosync-cmapctl", "-g", "conclave.cluster_engine"])
        assert section.returncode == 0 and "= corosync" in section.stdout, section

        n3.kill()
        n2.wait_quorum(2, True)
        n1.wait_quorum(2, True)
        n3.start_corosync()
        for node in c.nodes:
            node.wait_quorum(3, True)

        n1.partition()
        n1.wait_quorum(1, False)
        n2.wait_quorum(2, True)
        n3.wait_quorum(2, True)
        n1.heal()
        for node in c.nodes:
            node.wait_quorum(3, True)


if __name__ == "__main__":
    cluster.main_guard(test)
