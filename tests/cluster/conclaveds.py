"""conclaved in cluster mode on the nodes of tests/cluster/cluster.py, and
cpg-node clients on either conclaved (Conclave's libraries first on the
library path) or corosync (Debian's)."""
import argparse
import os
import re

import cluster
from engines import LineProcess

SOCKET = "/run/conclave/conclaved.sock"


class Conclaved:
    def __init__(self, program, libdirs, sanitized=False):
        self.program = program
        self.libpath = ":".join(os.path.abspath(d) for d in libdirs)
        self.sanitized = sanitized

    def ours(self):
        """The environment that puts a client on Conclave's libraries."""
        return {"LD_LIBRARY_PATH": self.libpath}

    def start(self, node, wait=True, env=None):
        """conclaved on the node's corosync.conf (cluster_engine: corosync)."""
        node.run(["mkdir", "-p", os.path.dirname(SOCKET)])
        node.run(["rm", "-f", SOCKET])      # a killed conclaved's, which would look ready
        proc = node.start([self.program, "-f", "-c", "/etc/corosync/corosync.conf", "-s", SOCKET],
                          "conclaved.log", env=env)
        node.conclaved = proc
        if wait:
            self.wait_ready(node)
        return proc

    def wait_ready(self, node, timeout=60):
        cluster.wait_until("%s: conclaved's socket" % node.name,
                           lambda: os.path.exists(node.inside(SOCKET)), timeout)

    def log_text(self, node):
        with open(node.path("conclaved.log"), errors="replace") as f:
            return f.read()


class CpgNode(LineProcess):
    """tests/cluster/cpg-node in a node; on Conclave's libraries if env says so."""

    def __init__(self, node, program, group, env=None, label=""):
        self.label = label
        super().__init__(node, [program, group], "cpg-node.log", env=env)
        _, line = self.wait_line("me", lambda l: l.startswith("me ") or l.startswith("error"), 60)
        assert line.startswith("me "), "%s: %s" % (node.name, line)
        self.nodeid, self.pid = (int(x) for x in line.split()[1:3])

    def confchgs(self, start=0, totem=False):
        with self.cond:
            return [l for l in self.lines[start:] if l.startswith("confchg") or (totem and l.startswith("totem"))]

    def messages(self, start=0):
        with self.cond:
            return [l for l in self.lines[start:] if l.startswith("msg ")]

    def wait_members(self, members, timeout=60, start=0):
        """Waits for a confchg whose member list names exactly these node ids
        (with repetition, sorted); returns its index."""
        want = sorted(members)

        def matches(line):
            m = re.match(r"confchg members=(\S*) ", line)
            return m and sorted(int(a.split(":")[0]) for a in m.group(1).split(",") if a) == want
        index, line = self.wait_line("members %s" % want, matches, timeout, start)
        cluster.log("%s %s: %s" % (self.node.name, self.label, line))
        return index

    def ask(self, command, prefix, timeout=30):
        start = len(self.lines)
        self.command(command)
        _, line = self.wait_line(command, lambda l: l.startswith(prefix) or l.startswith("error"), timeout, start)
        assert line.startswith(prefix), "%s %s: %s" % (self.node.name, self.label, line)
        return line

    def wait_messages(self, count, timeout=60, start=0):
        try:
            cluster.wait_until("%s %s: %d messages" % (self.node.name, self.label, count),
                               lambda: len(self.messages(start)) >= count, timeout, interval=0.2)
        except TimeoutError as e:
            with self.cond:
                last = [l for l in self.lines[start:] if not l.startswith("msg ")][-5:]
            raise TimeoutError("%s; %d messages; last other lines: %s" % (e, len(self.messages(start)), last))


class QuorumNode(LineProcess):
    """tests/cluster/quorum-node in a node; on Conclave's libraries if env says so."""
    EVENTS = ("quorum ", "vq-nodelist ", "vq-quorum ", "vq-expected ")

    def __init__(self, program, node, env=None, label=""):
        self.label = label
        super().__init__(node, [program], "quorum-node-%s.log" % label, env=env)
        _, line = self.wait_line("ready", lambda l: l in ("ready",) or l.startswith("error"), 60)
        assert line == "ready", "%s: %s" % (label, line)

    def events(self, start=0):
        """Each service's notifications in order (the order between the
        two services' connections is the client's poll's)."""
        with self.cond:
            lines = [l for l in self.lines[start:] if l.startswith(self.EVENTS)]
        return ([l for l in lines if l.startswith("quorum ")], [l for l in lines if l.startswith("vq-")])

    def wait_event(self, text, start=0, timeout=60):
        index, _ = self.wait_line(text, lambda l: l == text, timeout, start)
        return index

    def ask(self, command, prefix, timeout=30):
        start = len(self.lines)
        self.command(command)
        _, line = self.wait_line(command, lambda l: l.startswith(prefix) or l.startswith("error"), timeout, start)
        return line


def run_tool(conclaved, node, argv):
    """A prebuilt corosync tool run inside node on Conclave's libraries."""
    env = conclaved.ours()
    if conclaved.sanitized:   # a prebuilt program on sanitized libraries
        env["ASAN_OPTIONS"] = "verify_asan_link_order=0:detect_leaks=0"
    return node.run(argv, env=env)


def same_tool_output(conclaved, node, argv, expect):
    """A corosync tool prints the same on Conclave's libraries and on corosync's;
    returns what it printed."""
    ours = run_tool(conclaved, node, argv)
    theirs = node.run(argv)
    assert ours.returncode == theirs.returncode, (ours, theirs)
    cluster.log("%s: %s" % (" ".join(argv), " | ".join(theirs.stdout.splitlines())))
    assert expect in theirs.stdout, theirs.stdout
    assert ours.stdout == theirs.stdout, "conclaved's:\n%s\ncorosync's:\n%s" % (ours.stdout, theirs.stdout)
    return ours.stdout


def parse_args(*programs):
    """The arguments every cluster-mode test takes: --conclaved, one option
    per test program named in programs (as absolute paths), the library
    directories and whether the build is sanitized."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--conclaved", required=True)
    for program in programs:
        parser.add_argument("--" + program, required=True)
    parser.add_argument("--libdir", action="append", required=True)
    parser.add_argument("--sanitized", default="0")
    args = parser.parse_args()
    for name in ("conclaved",) + tuple(p.replace("-", "_") for p in programs):
        setattr(args, name, os.path.abspath(getattr(args, name)))
    return args
