"""A cluster of corosync nodes on one machine, for the multi-node tests.

Each node is a network namespace of its own (`ip netns`), wired by a veth pair
to a bridge that lives in a namespace of its own too, so the host's network is
never touched, and a mount namespace with private /run, /dev/shm, /etc/corosync,
/var/lib/corosync and /var/log/corosync (libqb's IPC uses /dev/shm and abstract
Unix sockets, which belong to the network namespace). A holder process keeps
each node's mount namespace alive; commands run in a node through nsenter on
it. Debian's corosync 3.1.7 runs in each node with a generated corosync.conf
(knet, votequorum, lowered totem timeouts).

Everything a run creates carries the run's id: namespace names, a lock file
held for the run's life, and CONCLAVE_CLUSTER_RUN in the environment of every
process it starts. Processes die with the harness (PR_SET_PDEATHSIG), cleanup
runs on exit, on SIGTERM/SIGINT and on any exception, and a run first removes
what an earlier run that crashed left behind (its lock is no longer held).

Under CI=true a missing capability (not root, no `ip netns`, no corosync) is a
failure; elsewhere the test is skipped (exit status 77).
"""
import contextlib
import ctypes
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

SKIP = 77
PREFIX = "conclave-"          # of every namespace a run creates
LOCK_DIR = "/run/conclave-cluster"
ENV_MARK = "CONCLAVE_CLUSTER_RUN"
PRIVATE_DIRS = ("/run", "/dev/shm", "/etc/corosync", "/var/lib/corosync", "/var/log/corosync")
SUBNET = "10.231.0"
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)


class Unavailable(Exception):
    """This machine cannot run the cluster (not root, no ip netns, ...)."""


def log(*args):
    print("[cluster %s]" % time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


def run_checked(argv, timeout=30, **kw):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL, **kw)
    if result.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), result.returncode,
                                                 result.stderr.strip()))
    return result.stdout


def _die_with_parent():
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.setpgrp()


def wait_until(what, predicate, timeout, interval=0.1):
    """Polls predicate until it returns a true value; raises after timeout seconds."""
    deadline = time.monotonic() + timeout
    attempts = 0
    while True:
        attempts += 1
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("%s: not after %.0f s (%d checks)" % (what, timeout, attempts))
        time.sleep(interval)


def check_capabilities():
    if os.geteuid() != 0:
        raise Unavailable("not root")
    for tool in ("ip", "nsenter", "unshare", "corosync", "corosync-quorumtool"):
        if shutil.which(tool) is None:
            raise Unavailable("%s is not installed" % tool)
    probe = "%sprobe-%d" % (PREFIX, os.getpid())
    result = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if result.returncode != 0:
        raise Unavailable("ip netns add fails: %s" % result.stderr.strip())
    subprocess.run(["ip", "netns", "delete", probe], capture_output=True)


def main_guard(test):
    """Runs test(): exit 0 on success, 1 on failure, 77 (skip) when the machine
    cannot run a cluster, except under CI=true where that is a failure too."""
    try:
        check_capabilities()
    except Unavailable as e:
        if os.environ.get("CI") == "true":
            log("FAIL: cannot run a cluster under CI: %s" % e)
            sys.exit(1)
        log("SKIP: %s" % e)
        sys.exit(SKIP)
    try:
        test()
    except Exception as e:
        log("FAIL: %s: %s" % (type(e).__name__, e))
        raise
    log("PASS")


# ---- leftovers of earlier runs ---------------------------------------------

def _lock_is_held(path):
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _pids_marked(run_id):
    mark = ("%s=%s" % (ENV_MARK, run_id)).encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as f:
                if mark in f.read().split(b"\0"):
                    pids.append(int(entry))
        except OSError:
            pass
    return pids


def _kill_run_processes(run_id):
    for pid in _pids_marked(run_id):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def remove_stale_runs():
    """Removes the namespaces, processes and lock files of runs that ended
    without cleaning up (their lock is no longer held)."""
    names = run_checked(["ip", "netns", "list"]).split()
    stale = set()
    for name in names:
        m = re.match(re.escape(PREFIX) + r"([0-9a-f]+)-", name)
        if m and not _lock_is_held(os.path.join(LOCK_DIR, m.group(1))):
            stale.add(m.group(1))
    if os.path.isdir(LOCK_DIR):
        for run_id in os.listdir(LOCK_DIR):
            if not _lock_is_held(os.path.join(LOCK_DIR, run_id)):
                stale.add(run_id)
    for run_id in stale:
        log("removing leftovers of an earlier run %s" % run_id)
        _kill_run_processes(run_id)
        for name in names:
            if name.startswith("%s%s-" % (PREFIX, run_id)):
                subprocess.run(["ip", "netns", "delete", name], capture_output=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(LOCK_DIR, run_id))


# ---- corosync.conf ---------------------------------------------------------

def corosync_conf(nodes, cluster_name, token_ms, conclave=()):
    node_entries = "".join(
        "\tnode {\n\t\tnodeid: %d\n\t\tname: node%d\n\t\tring0_addr: %s\n\t}\n" % (n.nodeid, n.nodeid, n.address)
        for n in nodes)
    return """totem {
	version: 2
	cluster_name: %(name)s
	transport: knet
	crypto_cipher: none
	crypto_hash: none
	token: %(token)d
	token_coefficient: 0
	join: 60
	consensus: %(consensus)d
}
logging {
	to_stderr: yes
	to_syslog: no
	to_logfile: no
	timestamp: hires
}
quorum {
	provider: corosync_votequorum
}
system {
	sched_rr: no
	move_to_root_cgroup: no
}
conclave {
	cluster_engine: corosync
%(conclave)s}
nodelist {
%(nodes)s}
""" % {"name": cluster_name, "token": token_ms, "consensus": token_ms * 12 // 10, "nodes": node_entries,
       "conclave": "".join("\t%s: %s\n" % option for option in conclave)}


# ---- nodes -----------------------------------------------------------------

class Node:
    def __init__(self, cluster, nodeid):
        self.cluster = cluster
        self.nodeid = nodeid
        self.netns = "%s%s-n%d" % (PREFIX, cluster.run_id, nodeid)
        self.address = "%s.%d" % (SUBNET, nodeid)
        self.bridge_port = "v%d" % nodeid
        self.holder = None
        self.corosync = None
        self.processes = []        # every Popen started in this node

    @property
    def name(self):
        return "node%d" % self.nodeid

    def path(self, name):
        """A file of this run about this node (outside the node's private dirs)."""
        return os.path.join(self.cluster.dir, "%s.%s" % (self.name, name))

    def inside(self, file):
        """The path, seen from outside, of a file inside the node's mount namespace."""
        return "/proc/%d/root%s" % (self.holder.pid, file)

    def command(self, argv):
        return ["nsenter", "-t", str(self.holder.pid), "-n", "-m", "--"] + list(argv)

    def run(self, argv, timeout=30, env=None):
        """Runs a command inside the node and waits for it: CompletedProcess."""
        return subprocess.run(self.command(argv), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env=self.cluster.env(env),
                              preexec_fn=_die_with_parent)

    def start(self, argv, log_name, env=None, stdin=subprocess.DEVNULL, stdout=None):
        """Starts a long-running command inside the node; its stderr (and
        stdout unless given) go to the run's log file log_name."""
        log_file = open(self.path(log_name), "ab")
        proc = subprocess.Popen(self.command(argv), stdin=stdin,
                                stdout=log_file if stdout is None else stdout, stderr=log_file,
                                env=self.cluster.env(env), preexec_fn=_die_with_parent)
        log_file.close()
        self.processes.append(proc)
        return proc

    # setup

    def create(self):
        ip = ["ip", "-n", self.netns]
        run_checked(["ip", "netns", "add", self.netns])
        run_checked(["ip", "-n", self.cluster.bridge_ns, "link", "add", self.bridge_port, "type", "veth",
                     "peer", "name", "eth0", "netns", self.netns])
        run_checked(["ip", "-n", self.cluster.bridge_ns, "link", "set", self.bridge_port, "master", "br0", "up"])
        run_checked(ip + ["addr", "add", "%s/24" % self.address, "dev", "eth0"])
        run_checked(ip + ["link", "set", "eth0", "up"])
        run_checked(ip + ["link", "set", "lo", "up"])
        self._start_holder()

    def _start_holder(self):
        mounts = "; ".join("mkdir -p %s && mount -t tmpfs -o mode=0755 tmpfs %s" % (d, d) for d in PRIVATE_DIRS)
        script = "set -e; %s; echo ready; exec sleep infinity" % mounts
        self.holder = subprocess.Popen(
            ["nsenter", "--net=/run/netns/%s" % self.netns, "--", "unshare", "--mount", "--propagation", "private",
             "--", "sh", "-c", script],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=self.cluster.env(), preexec_fn=_die_with_parent)
        line = self.holder.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError("%s: holder failed: %s" % (self.name, self.holder.stderr.read().decode()))

    def write_file(self, file, text):
        with open(self.inside(file), "w") as f:
            f.write(text)

    # corosync

    def start_corosync(self):
        if self.corosync is not None and self.corosync.poll() is None:
            raise RuntimeError("%s: corosync already runs" % self.name)
        self.corosync = self.start(["corosync", "-f", "-c", "/etc/corosync/corosync.conf"], "corosync.log")
        log("%s: corosync started (pid %d)" % (self.name, self.corosync.pid))

    def stop_corosync(self, sig=signal.SIGTERM, timeout=20):
        if self.corosync is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.corosync.pid, sig)
        try:
            self.corosync.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.corosync.pid, signal.SIGKILL)
            self.corosync.wait(5)
        log("%s: corosync stopped (%s, exit %s)" % (self.name, signal.Signals(sig).name, self.corosync.returncode))
        self.corosync = None

    def quorum(self):
        """corosync-quorumtool -s in this node: {'nodes': N, 'quorate': bool, 'ring_id': ...}
        or None when corosync does not answer."""
        result = self.run(["corosync-quorumtool", "-s"], timeout=10)
        if result.returncode not in (0, 2):
            return None
        state = {}
        for line in result.stdout.splitlines():
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "Nodes":
                state["nodes"] = int(value)
            elif key == "Quorate":
                state["quorate"] = value == "Yes"
            elif key == "Ring ID":
                state["ring_id"] = value
        return state if "nodes" in state and "quorate" in state else None

    def wait_quorum(self, nodes, quorate, timeout=30):
        def matches():
            state = self.quorum()
            return state if state and state["nodes"] == nodes and state["quorate"] == quorate else None
        state = wait_until("%s: %d nodes, quorate=%s" % (self.name, nodes, quorate), matches, timeout)
        log("%s: %d nodes, quorate %s, ring %s" % (self.name, nodes, quorate, state.get("ring_id")))
        return state

    # failures

    def kill(self):
        """SIGKILL every process of this node, corosync included."""
        for proc in self.processes:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
        self.corosync = None
        log("%s: killed" % self.name)

    def set_link(self, up):
        run_checked(["ip", "-n", self.cluster.bridge_ns, "link", "set", self.bridge_port, "up" if up else "down"])
        log("%s: link %s" % (self.name, "up" if up else "down"))

    def partition(self):
        self.set_link(False)

    def heal(self):
        self.set_link(True)


class Cluster:
    """A cluster of `size` nodes; use as a context manager."""

    def __init__(self, size=3, token_ms=1000, keep_dir=None, conclave=()):
        """conclave: (key, value) pairs for corosync.conf's conclave section."""
        self.size = size
        self.token_ms = token_ms
        self.conclave = conclave
        self.run_id = uuid.uuid4().hex[:10]
        self.bridge_ns = "%s%s-br" % (PREFIX, self.run_id)
        self.nodes = [Node(self, i + 1) for i in range(size)]
        self.dir = keep_dir or tempfile.mkdtemp(prefix="conclave-cluster-")
        os.makedirs(self.dir, exist_ok=True)
        self.lock_fd = None
        self._namespaces = []
        self._previous_handlers = {}

    def env(self, extra=None):
        env = dict(os.environ)
        env[ENV_MARK] = self.run_id
        if extra:
            env.update(extra)
        return env

    def __enter__(self):
        self._install_signal_handlers()
        try:
            self._create()
        except BaseException:
            self.destroy(failed=True)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.destroy(failed=exc_type is not None)
        return False

    def _install_signal_handlers(self):
        def interrupted(signum, frame):
            raise KeyboardInterrupt("signal %d" % signum)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            self._previous_handlers[sig] = signal.signal(sig, interrupted)

    def _create(self):
        os.makedirs(LOCK_DIR, exist_ok=True)
        remove_stale_runs()
        self.lock_fd = os.open(os.path.join(LOCK_DIR, self.run_id), os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
        log("run %s in %s" % (self.run_id, self.dir))
        run_checked(["ip", "netns", "add", self.bridge_ns])
        self._namespaces.append(self.bridge_ns)
        run_checked(["ip", "-n", self.bridge_ns, "link", "add", "br0", "type", "bridge"])
        run_checked(["ip", "-n", self.bridge_ns, "link", "set", "br0", "up"])
        for node in self.nodes:
            self._namespaces.append(node.netns)
            node.create()
        conf = corosync_conf(self.nodes, "conclave%s" % self.run_id[:6], self.token_ms, self.conclave)
        for node in self.nodes:
            node.write_file("/etc/corosync/corosync.conf", conf)

    def start_corosync(self, timeout=60):
        for node in self.nodes:
            node.start_corosync()
        for node in self.nodes:
            node.wait_quorum(self.size, True, timeout)

    def node(self, nodeid):
        return self.nodes[nodeid - 1]

    def destroy(self, failed=False):
        for node in self.nodes:
            for proc in node.processes + ([node.holder] if node.holder else []):
                if proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(10)
        _kill_run_processes(self.run_id)
        for name in reversed(self._namespaces):
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)
        self._namespaces = []
        if self.lock_fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(LOCK_DIR, self.run_id))
            os.close(self.lock_fd)
            self.lock_fd = None
        for sig, handler in self._previous_handlers.items():
            signal.signal(sig, handler)
        self._previous_handlers = {}
        if failed:
            self.print_logs()
        if os.environ.get("CONCLAVE_CLUSTER_KEEP"):
            log("logs kept in %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def print_logs(self, lines=40):
        for name in sorted(os.listdir(self.dir)):
            with open(os.path.join(self.dir, name), errors="replace") as f:
                tail = f.readlines()[-lines:]
            log("---- %s (last %d lines)" % (name, lines))
            sys.stderr.writelines(tail)
