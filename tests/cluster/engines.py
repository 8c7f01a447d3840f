"""Driving tests/cluster/engine-node (one engine per node) from the harness."""
import collections
import re
import subprocess
import threading
import time

import cluster


class LineProcess:
    """A program running inside a cluster node, driven one line at a time:
    commands go to its stdin, its stdout lines are collected by a thread,
    its stderr goes to the run's log file log_name."""

    def __init__(self, node, argv, log_name, env=None):
        self.node = node
        self.proc = node.start(argv, log_name, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.lines = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            with self.cond:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self.cond.notify_all()

    def command(self, text):
        self.proc.stdin.write((text + "\n").encode())
        self.proc.stdin.flush()

    def wait_line(self, what, predicate, timeout=60, start=0):
        """The first line from index start on that satisfies predicate."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.lines)):
                    if predicate(self.lines[i]):
                        return i, self.lines[i]
                left = deadline - time.monotonic()
                if self.proc.poll() is not None:
                    raise AssertionError("%s: program exited (%d) waiting for %s (last lines: %s)" %
                                         (self.node.name, self.proc.returncode, what, self.lines[-5:]))
                if left <= 0:
                    raise TimeoutError("%s: %s: not within %d s (last lines: %s)" %
                                       (self.node.name, what, timeout, self.lines[-5:]))
                self.cond.wait(min(left, 1))

    def quit(self):
        if self.proc.poll() is None:
            self.command("quit")
            self.proc.wait(30)


class EngineNode(LineProcess):
    """engine-node in a cluster node; its deliveries go to a log file."""

    def __init__(self, node, program, args=()):
        self.deliveries_path = node.path("deliveries.%d" % time.monotonic_ns())
        open(self.deliveries_path, "w").close()
        super().__init__(node, [program, str(node.nodeid), self.deliveries_path] + list(args), "engine-node.log")

    def wait_view(self, members, connected=True, timeout=60, start=0):
        """Waits for a settled configuration with exactly these node ids."""
        want = ",".join(str(m) for m in sorted(members))

        def matches(line):
            m = re.match(r"view connected=(\d) \S+ members=(\S*)", line)
            return m and m.group(2) == want and m.group(1) == ("1" if connected else "0")
        index, line = self.wait_line("view of %s" % want, matches, timeout, start)
        cluster.log("%s: %s" % (self.node.name, line))
        return index

    def send(self, count, size, wait=True, timeout=120):
        start = len(self.lines)
        self.command("send %d %d" % (count, size))
        if wait:
            self.wait_accepted(timeout, start)
        return start

    def wait_accepted(self, timeout=120, start=0):
        self.wait_line("accepted", lambda l: l.startswith("accepted"), timeout, start)

    def stats(self):
        start = len(self.lines)
        self.command("stats")
        _, line = self.wait_line("stats", lambda l: l.startswith("stats"), 30, start)
        return dict(kv.split("=") for kv in line.split()[1:])

    def deliveries(self, views=False):
        """[(origin, index, size)] in delivery order, with ("view", members)
        where a configuration settled if views; fails on a BAD one."""
        out = []
        with open(self.deliveries_path) as f:
            for line in f:
                if line.startswith("# view "):
                    if views:
                        out.append(("view", int(line.split()[2])))
                    continue
                parts = line.split()
                if len(parts) != 3:
                    if len(parts) == 4:
                        raise AssertionError("%s: corrupt delivery: %s" % (self.node.name, line.strip()))
                    break          # a line being written
                out.append((int(parts[0]), int(parts[1]), int(parts[2])))
        return out

    def delivery_count(self):
        with open(self.deliveries_path, "rb") as f:
            data = f.read()
        return data.count(b"\n") - data.count(b"# view")

    def wait_deliveries(self, count, stall=120):
        """Waits for count deliveries as long as they keep coming: fails once
        none came for stall seconds (what was lost never comes), however
        slowly a loaded machine delivers the rest."""
        last, since = -1, time.monotonic()
        while True:
            delivered = self.delivery_count()
            if delivered >= count:
                return delivered
            if delivered != last:
                last, since = delivered, time.monotonic()
            elif time.monotonic() - since > stall:
                raise TimeoutError("%s: %d deliveries of %d, none in the last %d s" %
                                   (self.node.name, delivered, count, stall))
            time.sleep(0.2)

    def failures(self):
        return [l for l in self.lines if l.startswith("failed") or l.startswith("error")]


def check_exactly_once_in_order(name, deliveries):
    """No (origin, index) twice, and each origin's indexes increase."""
    seen = set()
    last = collections.defaultdict(lambda: -1)
    for origin, index, _ in deliveries:
        assert (origin, index) not in seen, "%s: (%d, %d) delivered twice" % (name, origin, index)
        seen.add((origin, index))
        assert index > last[origin], "%s: origin %d: %d after %d" % (name, origin, index, last[origin])
        last[origin] = index
    return seen
