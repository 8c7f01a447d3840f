#!/usr/bin/env python3
"""The differential harness: runs every scenario of scenarios/ against
conclaved (through Conclave's libraries) and against corosync 3.1.7 (through
Debian's), and compares the two transcripts: every return code and every
callback, with its values and its place in the order.

A scenario is written once (scenarios/*.scn, format below) and drives one or
more diff-driver processes over pipes; the same driver source is built
against both sets of libraries. Only what legitimately differs is masked:
pids (named after the scenario's processes), ring ids, and the connection
part of cmap's stats.ipcs keys (numbered in order of appearance).

Scenario lines:
    # comment
    config: FILE          both daemons run with FILE (beside the scenario) for it
    spawn a b             start driver processes named a and b
    a: COMMAND            one driver command in process a (see driver.c)
    *: COMMAND            the command in every live process at once
    a: exit               process a ends without finalizing anything
    daemon: kill          SIGKILL the daemon (it is restarted for the next scenario)
    daemon: restart       a fresh daemon (first line: one no scenario has used yet)
    known: REASON         the next step may differ; REASON says why (README or
                          a finding about the runtime). It is reported, not failed.
At the end every live process settles (dispatches until 300 ms pass quietly)
and exits.

It needs root: it enters private network and mount namespaces (loopback up,
tmpfs on /run, /dev/shm and corosync's directories), starts a throwaway corosync
and a conclaved there with the same configuration, and stops both. Exit
status: 0 the transcripts agree (known differences apart), 1 they do not,
77 it could not run (1 under CI=true, where Debian's corosync is installed).
"""
import argparse
import concurrent.futures
import difflib
import os
import re
import select
import shutil
import socket
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dropin"))
from dropin import clean_environment, skip  # noqa: E402  (the drop-in test's, shared)

SETTLE_MS = 300
STEP_TIMEOUT = 30
# /run, not just /run/corosync: corosync locks /run/corosync.pid, and two
# corosyncs sharing that file refuse to run side by side.
PRIVATE_DIRS = ("/run", "/dev/shm", "/var/lib/corosync", "/var/log/corosync")
LIBRARIES = ("libcpg.so.4", "libcmap.so.4", "libquorum.so.5", "libvotequorum.so.8")


class Skip(Exception):
    pass


class ScenarioError(Exception):
    pass


# ---- scenarios -------------------------------------------------------------

@dataclass
class Step:
    line: int
    target: str          # a process name, "*" or "daemon"
    command: str
    known: str = ""


@dataclass
class Scenario:
    name: str
    steps: list
    config: str = ""     # a configuration of its own, else the default one
    fresh: bool = False  # needs daemons no scenario has used yet


def parse_scenario(path):
    steps, known, config, fresh = [], "", "", False
    for number, raw in enumerate(Path(path).read_text().splitlines(), 1):
        text = re.sub(r"(^|\s)#.*", "", raw).strip()
        if not text:
            continue
        if text.startswith("config:"):
            config = str(Path(path).parent / text[len("config:"):].strip())
            continue
        if text.startswith("spawn "):
            steps.append(Step(number, "spawn", text[len("spawn "):]))
            continue
        target, sep, command = text.partition(":")
        if not sep or not command.strip():
            raise ScenarioError(f"{path}:{number}: error: expected 'PROCESS: COMMAND'")
        if not steps and text == "daemon: restart":
            fresh = True
            continue
        if target.strip() == "known":
            known = command.strip()
            continue
        steps.append(Step(number, target.strip(), command.strip(), known))
        known = ""
    return Scenario(Path(path).stem, steps, config, fresh)


# ---- one side: a daemon and its driver processes ---------------------------

@dataclass
class Block:
    step: Step
    process: str
    lines: list


@dataclass
class Side:
    name: str
    driver: str
    env: dict
    daemon: object = None


class Driver:
    def __init__(self, name, side):
        self.name, self.pending = name, b""
        self.process = subprocess.Popen([side.driver], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env=side.env)

    @property
    def pid(self):
        return self.process.pid

    def send(self, command):
        self.process.stdin.write(command.encode() + b"\n")
        self.process.stdin.flush()

    def read_line(self, deadline):
        """The next line, "" at the end of the output, None at the deadline."""
        while b"\n" not in self.pending:
            ready, _, _ = select.select([self.process.stdout], [], [], max(0, deadline - time.monotonic()))
            if not ready:
                return None
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                return ""
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return line.decode(errors="replace")

    def receive(self):
        """The lines a command printed, up to its '.'."""
        lines, deadline = [], time.monotonic() + STEP_TIMEOUT
        while True:
            line = self.read_line(deadline)
            if line is None:
                return lines + [f"harness: no answer within {STEP_TIMEOUT} s"]
            if line == "" and self.process.poll() is not None:
                return lines + [f"harness: the driver ended: {self.process.stderr.read().decode().strip()}"]
            if line == ".":
                return lines
            lines.append(line)

    def exit(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.write(b"exit\n")
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        try:
            status = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.process.wait()
        return status, self.process.stderr.read().decode(errors="replace").strip()


def run_scenario(scenario, side):
    """The scenario's blocks on one side, and {pid: process name}."""
    drivers, blocks, pids = {}, [], {}
    try:
        for step in scenario.steps:
            blocks += run_step(step, side, drivers, pids)
        blocks += finish(drivers)
    finally:
        for driver in drivers.values():
            driver.exit()
    return blocks, pids


def run_step(step, side, drivers, pids):
    if step.target == "spawn":
        for name in step.command.split():
            drivers[name] = Driver(name, side)
            pids[drivers[name].pid] = name
        return []
    if step.target == "daemon":
        return [daemon_step(step, side)]
    targets = list(drivers) if step.target == "*" else [step.target]
    if any(t not in drivers for t in targets):
        raise ScenarioError(f"line {step.line}: no process {step.target}")
    if step.command == "exit":
        return [exit_block(step, drivers.pop(t)) for t in targets]
    for t in targets:
        drivers[t].send(step.command)
    return [Block(step, t, drivers[t].receive()) for t in targets]


def daemon_step(step, side):
    if step.command == "kill":
        side.daemon.kill()
    elif step.command == "restart":
        side.daemon.restart()
    else:
        raise ScenarioError(f"line {step.line}: daemon: kill or restart")
    return Block(step, "daemon", [])


def exit_block(step, driver):
    status, err = driver.exit()
    return Block(step, driver.name, [f"exit status {status}"] + [f"stderr: {line}" for line in err.splitlines()])


def finish(drivers):
    step = Step(0, "*", f"settle {SETTLE_MS}")
    for driver in drivers.values():
        driver.send(step.command)
    blocks = [Block(step, name, driver.receive()) for name, driver in drivers.items()]
    for name in list(drivers):
        blocks.append(exit_block(Step(0, name, "exit"), drivers.pop(name)))
    return blocks


# ---- normalising -----------------------------------------------------------

class Normaliser:
    """Names pids after the scenario's processes and masks ring ids and
    stats connection ids (corosync's are addresses, which it reuses)."""

    STATS_KEY = re.compile(r"stats\.ipcs\.service(\d+)\.(\d+)\.(0x[0-9a-f]+)")
    PID = re.compile(r"pid:(\d+)")
    RING = re.compile(r"\bring=\d+\.[0-9a-f]+")
    RING_SEQ = re.compile(r"\bring_seq=\d+")

    def __init__(self, pids):
        self.pids = pids

    def pid(self, text):
        return self.pids.get(int(text), "other")

    def stats_key(self, match):
        return f"stats.ipcs.service{match.group(1)}.<{self.pid(match.group(2))}>.<conn>"

    def line(self, text):
        text = self.STATS_KEY.sub(self.stats_key, text)
        text = self.PID.sub(lambda m: f"pid:<{self.pid(m.group(1))}>", text)
        text = self.RING.sub("ring=<ring>", text)
        return self.RING_SEQ.sub("ring_seq=<seq>", text)


def normalise(blocks, pids):
    n = Normaliser(pids)
    return [Block(b.step, b.process, [n.line(line) for line in b.lines]) for b in blocks]


# ---- comparing -------------------------------------------------------------

def block_title(block):
    where = f"line {block.step.line}" if block.step.line else "end"
    return f"{where} {block.process}: {block.step.command}"


def transcript(blocks):
    return [f"{block_title(b)}\n" + "".join(f"    {line}\n" for line in b.lines) for b in blocks]


@dataclass
class Outcome:
    name: str
    ours: list
    ref: list = None
    differing: list = field(default_factory=list)   # (title, diff) not excused
    known: list = field(default_factory=list)       # (title, reason, diff)
    agreeing_known: list = field(default_factory=list)
    harness_errors: list = field(default_factory=list)


def compare(name, ours, ref):
    outcome = Outcome(name, ours, ref)
    if [(b.step.line, b.process) for b in ours] != [(b.step.line, b.process) for b in ref]:
        outcome.differing.append(("the steps", "".join(difflib.unified_diff(
            transcript(ref), transcript(ours), "corosync", "conclave"))))
        return outcome
    for our_block, ref_block in zip(ours, ref):
        diff = "".join(difflib.unified_diff([line + "\n" for line in ref_block.lines],
                                            [line + "\n" for line in our_block.lines],
                                            "corosync", "conclave", n=len(ref_block.lines)))
        title = block_title(our_block)
        if diff and our_block.step.known:
            outcome.known.append((title, our_block.step.known, diff))
        elif diff:
            outcome.differing.append((title, diff))
        elif our_block.step.known:
            outcome.agreeing_known.append(title)
    return outcome


def harness_errors(blocks):
    return [f"{block_title(b)}: {line}" for b in blocks for line in b.lines
            if line.startswith(("error:", "harness:"))]


# ---- the daemons -----------------------------------------------------------

class Corosync:
    def __init__(self, script, config, workdir):
        self.script, self.config, self.dir = script, config, os.path.join(workdir, "corosync")
        self.used = False

    def start(self):
        self.used = False
        result = subprocess.run([self.script, "start", self.config, self.dir], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"corosync did not start:\n{result.stdout}{result.stderr}")

    def running(self):
        return Path(self.dir, "pid").exists()

    def kill(self):
        pid = int(Path(self.dir, "pid").read_text())
        os.kill(pid, signal.SIGKILL)
        self.stop()

    def stop(self):
        subprocess.run([self.script, "stop", self.dir], capture_output=True, text=True)

    def restart(self):
        self.stop()
        self.start()


def accepts(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(path)
            return True
        except OSError:
            return False


class Conclaved:
    def __init__(self, binary, config, socket_path):
        self.binary, self.config = binary, config
        self.socket, self.log_path, self.process = socket_path, socket_path + ".log", None
        self.used = False

    def running(self):
        return self.process is not None

    def start(self):
        self.used = False
        self.log = open(self.log_path, "a")
        self.process = subprocess.Popen([self.binary, "-f", "-c", self.config, "-s", self.socket],
                                        stdout=self.log, stderr=subprocess.STDOUT, env=clean_environment())
        for _ in range(200):
            if self.process.poll() is not None:
                break
            if accepts(self.socket):
                return
            time.sleep(0.025)
        raise RuntimeError(f"conclaved did not start: {Path(self.log_path).read_text()}")

    def kill(self):
        self.process.kill()
        self.process.wait()
        self.log.close()
        Path(self.socket).unlink(missing_ok=True)
        self.process = None

    def restart(self):
        status = self.stop()
        if status != 0:
            raise RuntimeError(f"conclaved exited with status {status}; its log:\n{Path(self.log_path).read_text()}")
        self.start()

    def stop(self):
        """conclaved's exit status after SIGTERM (0: clean, nothing reported)."""
        if not self.process:
            return 0
        self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.process.wait()
        self.log.close()
        self.process = None
        return status


def ensure_running(side, config, fresh):
    """The side's daemon, running with config (and unused, if fresh)."""
    daemon = side.daemon
    if daemon.running() and (daemon.config != config or (fresh and daemon.used)):
        daemon.config = config
        daemon.restart()
    elif not daemon.running():
        daemon.config = config
        daemon.start()
    daemon.used = True


# ---- running it all --------------------------------------------------------

def library_paths(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, env=clean_environment()).stdout
    return {m.group(1): os.path.realpath(m.group(2))
            for m in re.finditer(r"^\s*(\S+) => (\S+)", out, re.M) if m.group(1) in LIBRARIES}


def check_libraries(args):
    """Each driver loads its own side's libraries, by its run path or the
    system's default, never the other side's."""
    ours = [os.path.realpath(d) for d in args.libdir]
    problems = []
    for name, path in library_paths(args.driver).items():
        if os.path.dirname(path) not in ours:
            problems.append(f"{args.driver} loads {path} for {name}")
    for name, path in library_paths(args.reference_driver).items():
        if any(os.path.dirname(path) == d for d in ours):
            problems.append(f"{args.reference_driver} loads this tree's {path}")
    if len(library_paths(args.driver)) != len(LIBRARIES):
        problems.append(f"{args.driver} does not link all of {', '.join(LIBRARIES)}")
    if problems:
        raise RuntimeError("; ".join(problems))


def run_all(args, scenarios, workdir):
    env = clean_environment()
    socket_path = os.path.join(workdir, "conclaved.sock")
    ours = Side("conclave", args.driver, dict(env, CONCLAVE_SOCKET=socket_path),
                Conclaved(args.conclaved, args.config, socket_path))
    ref = Side("corosync", args.reference_driver, dict(env, ASAN_OPTIONS="detect_leaks=0"),
               Corosync(args.throwaway, args.config, workdir))
    outcomes = []
    try:
        for scenario in scenarios:
            outcomes.append(run_both(scenario, ours, ref, args.config))
    finally:
        ref.daemon.stop()
        status = ours.daemon.stop()
    if status != 0:
        raise RuntimeError(f"conclaved exited with status {status}; its log:\n{Path(ours.daemon.log_path).read_text()}")
    return outcomes


def run_side(scenario, side, config):
    ensure_running(side, config, scenario.fresh)
    return normalise(*run_scenario(scenario, side))


def run_both(scenario, ours, ref, default_config):
    """The two sides run at the same time: each has its own daemon and
    processes, and nothing one does is seen by the other."""
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(run_side, scenario, side, scenario.config or default_config) for side in (ours, ref)]
        results = [run.result() for run in runs]
    outcome = compare(scenario.name, *results)
    outcome.harness_errors = harness_errors(results[0]) + harness_errors(results[1])
    print(f"{scenario.name}: {'agrees' if not (outcome.differing or outcome.harness_errors) else 'DIFFERS'}"
          f" ({time.monotonic() - started:.1f} s)", flush=True)
    return outcome


def report(outcomes):
    text, failed = [], False
    for o in outcomes:
        failed |= bool(o.differing or o.harness_errors)
        text.append(f"==== {o.name}: " + ("differs" if o.differing else "agrees") +
                    (f", {len(o.known)} known difference(s)" if o.known else "") + "\n")
        text += [f"harness error: {e}\n" for e in o.harness_errors]
        for title, diff in o.differing:
            text.append(f"-- DIFFERS: {title}\n{diff}")
        for title, reason, diff in o.known:
            text.append(f"-- known: {title}\n   why: {reason}\n{diff}")
        for title in o.agreeing_known:
            text.append(f"-- marked known but now agrees (remove the mark): {title}\n")
        text.append("-- conclave's transcript:\n" + "".join(transcript(o.ours)))
    return "".join(text), failed


def enter_namespaces():
    """Re-runs this script in private network and mount namespaces."""
    setup = ("ip link set lo up && for d in " + " ".join(PRIVATE_DIRS) +
             "; do mkdir -p $d && mount -t tmpfs tmpfs $d || exit 1; done && exec \"$@\"")
    argv = ["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", setup, "sh",
            sys.executable, os.path.abspath(__file__), "--isolated"] + sys.argv[1:]
    os.execvp(argv[0], argv)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conclaved", required=True)
    parser.add_argument("--driver", required=True, help="diff-driver built on Conclave's libraries")
    parser.add_argument("--reference-driver", required=True, help="diff-driver built on corosync's")
    parser.add_argument("--config", required=True, help="corosync.conf, for both daemons")
    parser.add_argument("--throwaway", required=True, help="the script that starts and stops a corosync")
    parser.add_argument("--scenarios", required=True, help="a directory of .scn files, or one file")
    parser.add_argument("--libdir", action="append", required=True, help="where this build's libraries are")
    parser.add_argument("--report", help="also write the report here")
    parser.add_argument("--isolated", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.config = os.path.abspath(args.config)

    if not shutil.which("corosync", path="/usr/sbin:/sbin:" + os.environ.get("PATH", "")):
        return skip("Debian's corosync package is not installed")
    if not os.path.exists(args.reference_driver):
        return skip("the driver could not be built on corosync's libraries (libcpg-dev and the rest missing)")
    if not args.isolated:
        if os.geteuid() != 0:
            return skip("starting a private corosync needs root")
        if subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True).returncode != 0:
            return skip("private network and mount namespaces cannot be made here (unshare)")
        if not shutil.which("ip", path="/usr/sbin:/sbin:" + os.environ.get("PATH", "")):
            return skip("ip (iproute2) is missing: the private loopback cannot be brought up")
        enter_namespaces()
    path = Path(args.scenarios)
    files = sorted(path.glob("*.scn")) if path.is_dir() else [path]
    scenarios = [parse_scenario(f) for f in files]
    check_libraries(args)
    workdir = tempfile.mkdtemp(prefix="conclave-diff-")
    try:
        outcomes = run_all(args, scenarios, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text, failed = report(outcomes)
    if args.report:
        Path(args.report).write_text(text)
    print(text if failed else f"all {len(outcomes)} scenarios agree (known differences apart); report: {args.report}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
