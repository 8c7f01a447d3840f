#!/usr/bin/env python3
"""Runs Debian's prebuilt corosync tools twice, once against corosync 3.1.7
through Debian's libraries and once against conclaved through ours (the same
binaries, LD_LIBRARY_PATH pointing at this build), and compares what they
print and their exit status. Values that legitimately differ (dates, ring ids,
pids, counters, keys only one daemon has) are normalised or left out, and the
output says which and why.

A corosync that already answers is used and left running; otherwise a
throwaway one is started (as root) and stopped at the end. Exit status: 0 all
compared commands agree, 1 some differ, 77 nothing could be compared (1 under
CI=true, where Debian's corosync is installed for this test)."""
import argparse
import difflib
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SKIPPED = 77
TOOLS = ("corosync-cmapctl", "corosync-cpgtool", "corosync-quorumtool", "corosync-cfgtool")
COROSYNC_LIBRARIES = ("libcpg.so.4", "libcmap.so.4", "libquorum.so.5", "libvotequorum.so.8",
                      "libcfg.so.7", "libcorosync_common.so.4")
# Named after this run, so that two runs sharing a corosync keep apart.
PROBE = f"dropin.probe{os.getpid()}"   # the prefix of the cmap keys this test sets, on both daemons
GROUP = f"dropin-probe{os.getpid()}"   # the cpg group its member process joins
# corosync services Conclave does not provide: their keys exist on one side only.
ABSENT_SERVICES = {"pload": "corosync's load generator",
                   "mon": "corosync's resource monitor",
                   "wd": "corosync's watchdog"}
# Services conclaved offers that corosync 3 does not: their keys exist on our side only.
EXTRA_SERVICES = {"evs": "corosync 1.x's evs service, which corosync 3 no longer has"}


@dataclass
class Result:
    status: int
    out: str
    err: str


@dataclass
class Side:
    name: str
    env: dict


@dataclass
class Comparison:
    title: str
    ref: Result = None
    ours: Result = None
    ref_lines: list = field(default_factory=list)
    our_lines: list = field(default_factory=list)
    skipped: str = ""

    @property
    def same(self):
        return self.ref.status == self.ours.status and self.ref_lines == self.our_lines


class Skip(Exception):
    pass


# ---- running things --------------------------------------------------------

def run(side, argv, timeout=30):
    result = subprocess.run(argv, env=side.env, capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    return Result(result.returncode, result.stdout, result.stderr)


def tool_path(name):
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def answers(side):
    try:
        return run(side, [tool_path("corosync-cmapctl"), "-g", "totem.cluster_name"], timeout=10).status == 0
    except subprocess.TimeoutExpired:
        return False


def resolved_libraries(tool, env):
    """{soname: path} of the corosync libraries the dynamic linker gives tool."""
    out = subprocess.run(["ldd", tool], env=env, capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        match = re.match(r"\s*(\S+) => (\S+)", line)
        if match and match.group(1) in COROSYNC_LIBRARIES:
            found[match.group(1)] = match.group(2)
    return found


def foreign_libraries(tool, env, libdirs):
    """The corosync libraries tool would load from outside this build."""
    ours = [os.path.realpath(d) for d in libdirs]
    return sorted(name for name, path in resolved_libraries(tool, env).items()
                  if os.path.dirname(os.path.realpath(path)) not in ours)


# ---- the two daemons -------------------------------------------------------

class Reference:
    """corosync 3.1.7: the one that answers, or a throwaway one. `config` is
    the file it runs with, which conclaved is then given too."""

    def __init__(self, side, script, config, workdir):
        self.side, self.script, self.config = side, script, config
        self.dir = os.path.join(workdir, "corosync")
        self.started = False

    def __enter__(self):
        if answers(self.side):
            self.config = running_corosync_config()
            self.note = f"corosync: one already answered, with {self.config}; used and left running"
        elif os.geteuid() != 0:
            raise Skip("no corosync answers, and starting one needs root")
        elif not tool_path("corosync"):
            raise Skip("no corosync answers, and the corosync daemon is not installed")
        else:
            result = subprocess.run([self.script, "start", self.config, self.dir],
                                    capture_output=True, text=True)
            print(result.stdout + result.stderr, end="")
            if result.returncode != 0:
                raise RuntimeError("could not start a throwaway corosync")
            self.started = True
            self.note = f"corosync: none answered; a throwaway one ran with {self.config}"
        print(self.note)
        return self

    def __exit__(self, *exc):
        if self.started:
            result = subprocess.run([self.script, "stop", self.dir], capture_output=True, text=True)
            print(result.stdout + result.stderr, end="")


def running_corosync_config():
    """The configuration file of the corosync process: its -c argument, or
    corosync's default (as when Debian's package started it)."""
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() != "corosync":
                continue
            argv = (comm.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [a.decode() for a in argv if a]
        path = args[args.index("-c") + 1] if "-c" in args[:-1] else "/etc/corosync/corosync.conf"
        if not os.path.isabs(path) or not os.access(path, os.R_OK):
            raise Skip(f"the running corosync's configuration {path} cannot be read from here")
        return path
    raise Skip("a corosync answers, but no corosync process is visible to find its configuration")


class Conclaved:
    def __init__(self, binary, config, socket_path, side, env):
        self.argv = [binary, "-f", "-c", config, "-s", socket_path]
        self.side, self.env = side, env
        self.log_path = socket_path + ".log"

    def __enter__(self):
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        for _ in range(100):
            if self.process.poll() is not None:
                break
            if answers(self.side):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"conclaved did not start; its log:\n{Path(self.log_path).read_text()}")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode

    def __exit__(self, *exc):
        status = self.stop()
        if status != 0 and exc[0] is None:
            raise RuntimeError(f"conclaved exited with status {status}; its log:\n"
                               f"{Path(self.log_path).read_text()}")


class CpgMember:
    """A process joined to GROUP, so that corosync-cpgtool has a member to list."""

    def __init__(self, binary, side):
        self.binary, self.side = binary, side

    def __enter__(self):
        self.process = subprocess.Popen([self.binary, GROUP], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        env=self.side.env, text=True)
        line = self.process.stdout.readline()
        if line.strip() != "joined":
            self.process.kill()
            raise RuntimeError(f"cpg-member on {self.side.name} did not join: {self.process.stderr.read()}")
        return self

    @property
    def pid(self):
        return self.process.pid

    def __exit__(self, *exc):
        self.process.stdin.close()
        self.process.wait(timeout=10)


def read_terminal(fd, done, before="", timeout=10):
    """What the program on the other side of terminal fd prints, until
    done(everything read so far) holds, the program exits, or timeout."""
    text = ""
    deadline = time.monotonic() + timeout
    while not done(before + text):
        ready, _, _ = select.select([fd], [], [], max(0, deadline - time.monotonic()))
        if not ready:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the program has exited
            break
        if not chunk:
            break
        text += chunk.decode(errors="replace").replace("\r\n", "\n")
    return text


# ---- normalising -----------------------------------------------------------

def lines_of(result):
    return result.out.splitlines() + [f"2> {line}" for line in result.err.splitlines()]


def mask(pattern, replacement):
    def apply(lines, side_info):
        return [re.sub(pattern, replacement, line) for line in lines]
    return apply


mask_date = mask(r"^(Date: +).*", r"\1<date>")
mask_ring_id = mask(r"^(Ring ID: +)\S+", r"\1<ring id>")


def mask_member_pid(lines, side_info):
    pid = str(side_info["member_pid"])
    return [re.sub(rf"(?<![0-9]){pid}(?![0-9])", "<member pid>", line) for line in lines]


def only_probe_group(lines, side_info):
    """Other users of a shared corosync may have groups of their own."""
    kept, in_probe = [], False
    for line in lines:
        if line.startswith("\t") or line.startswith("2> "):
            if in_probe or line.startswith("2> "):
                kept.append(line)
            continue
        in_probe = line == GROUP or line.startswith("Group Name")
        if in_probe:
            kept.append(line)
    return kept


class KeyFilter:
    """Chooses the cmap keys a listing compares: the configuration and the
    documented runtime keys. Everything else is left out with a reason."""

    def __init__(self, absent_services):
        self.absent = absent_services
        self.excluded = {}

    def reason(self, key, ref_services, own_services):
        match = re.match(r"internal_configuration\.service\.(\d+)\.", key)
        if match and ref_services.get(match.group(1)) in self.absent:
            return f"a service Conclave does not provide ({self.absent[ref_services[match.group(1)]]})"
        if match and match.group(1) not in ref_services and own_services.get(match.group(1)) in EXTRA_SERVICES:
            return EXTRA_SERVICES[own_services[match.group(1)]]
        match = re.match(r"runtime\.services\.([^.]+)\.", key)
        if match and match.group(1) in self.absent:
            return f"a service Conclave does not provide ({self.absent[match.group(1)]})"
        if match and match.group(1) in EXTRA_SERVICES:
            return EXTRA_SERVICES[match.group(1)]
        rules = (
            (r"resources\.", "corosync's mon and wd services, which Conclave does not provide"),
            (r"runtime\.services\.[^.]+\.\d+\.(rx|tx)$", "message counters of this run's traffic"),
            (r"runtime\.config\.totem\.", "totem's computed timeouts: conclaved runs no totem protocol"),
            (r"runtime\.(blackbox\.|force_gather$)",
             "triggers of corosync's flight recorder and totem gather, which conclaved does not have"),
            (r"runtime\.config\.conclave\.", "conclaved's own limits (the conclave { } section)"),
        )
        for pattern, why in rules:
            if re.match(pattern, key):
                return why
        compared = (r"totem\.", r"nodelist\.", r"quorum\.", r"logging\.", r"uidgid\.", r"system\.",
                    r"internal_configuration\.", r"runtime\.votequorum\.", r"runtime\.members\.",
                    r"runtime\.services\.[^.]+\.service_id$", re.escape(PROBE))
        if any(re.match(p, key) for p in compared):
            return None
        return "neither configuration nor a documented runtime key (another user's, on a shared corosync)"

    def __call__(self, lines, side_info):
        services = side_info["ref_services"]
        own_services = service_names("\n".join(lines))
        kept = []
        for line in lines:
            key = line.split(" ", 1)[0]
            why = None if line.startswith("2> ") else self.reason(key, services, own_services)
            if why is None:
                kept.append(line)
            else:
                self.excluded.setdefault(why, {}).setdefault(key, set()).add(side_info["side"])
        return kept


def stats_key_shapes(lines, side_info):
    """The stats map's keys and types, without the values and with pids,
    connection ids and counts as N: each connection gives the same set."""
    shapes = set()
    for line in lines:
        if line.startswith("2> "):
            shapes.add(line)
            continue
        key, _, value_type = line.split(" = ", 1)[0].partition(" ")
        shapes.add(f"{re.sub(r'0x[0-9a-f]+|[0-9]+', 'N', key)} {value_type}")
    return sorted(shapes)


def service_names(listing):
    """{index: service} from internal_configuration.service.N.name lines."""
    return {m.group(1): m.group(2) for m in
            re.finditer(r"^internal_configuration\.service\.(\d+)\.name \(str\) = corosync_(\S+)$",
                        listing, re.M)}


# ---- the comparisons -------------------------------------------------------

class DropinTest:
    def __init__(self, args, ref, ours, workdir, reference_is_shared):
        self.args, self.ref, self.ours, self.workdir = args, ref, ours, workdir
        self.reference_is_shared = reference_is_shared
        self.comparisons = []
        self.absent = dict(ABSENT_SERVICES)
        self.side_info = {"ref": {"side": "corosync"}, "ours": {"side": "conclave"}}

    def skip_reason(self, tool):
        foreign = foreign_libraries(tool_path(tool), self.ours.env, self.args.libdir)
        if foreign:
            return (f"{', '.join(foreign)} not built by this tree: {tool} would reach corosync "
                    f"through Debian's copy instead of conclaved")
        return ""

    def compare(self, title, argv, normalise=()):
        comparison = Comparison(title)
        tool = argv[0]
        comparison.skipped = self.skip_reason(tool)
        if not comparison.skipped:
            path = [tool_path(tool)] + argv[1:]
            comparison.ref = run(self.ref, path)
            comparison.ours = run(self.ours, path)
            comparison.ref_lines = self.normalised(comparison.ref, normalise, "ref")
            comparison.our_lines = self.normalised(comparison.ours, normalise, "ours")
        self.comparisons.append(comparison)
        return comparison

    def normalised(self, result, normalise, side):
        lines = lines_of(result)
        for step in normalise:
            lines = step(lines, self.side_info[side])
        return lines

    def compare_tracking(self, title, key):
        """corosync-cmapctl -t KEY while another cmapctl creates, changes and
        deletes KEY; the tracker ends when told "q" on its input."""
        comparison = Comparison(title)
        comparison.skipped = self.skip_reason("corosync-cmapctl")
        if not comparison.skipped:
            comparison.ref = self.track(self.ref, key)
            comparison.ours = self.track(self.ours, key)
            comparison.ref_lines = lines_of(comparison.ref)
            comparison.our_lines = lines_of(comparison.ours)
        self.comparisons.append(comparison)

    def track(self, side, key):
        """The tracker writes to a terminal, so that its lines come as they
        are printed: its prompt says the track is in place, and the changes'
        four lines say it has seen them all."""
        cmapctl = tool_path("corosync-cmapctl")
        terminal, tracker_side = pty.openpty()
        tracker = subprocess.Popen([cmapctl, "-t", key], stdin=subprocess.PIPE, stdout=tracker_side,
                                   stderr=subprocess.PIPE, env=side.env, text=True)
        os.close(tracker_side)
        try:
            seen = read_terminal(terminal, lambda text: "to finish" in text)
            for change in (["-s", key, "u32", "1"], ["-s", key, "u32", "2"], ["-s", key, "str", "two"],
                           ["-d", key]):
                run(side, [cmapctl] + change)
            seen += read_terminal(terminal, lambda text: text.count(key) >= 4, seen)
            _, err = tracker.communicate("q\n", timeout=10)
            seen += read_terminal(terminal, lambda text: False, seen, timeout=1)
        finally:
            os.close(terminal)
            if tracker.poll() is None:
                tracker.kill()
                tracker.wait()
        return Result(tracker.returncode, seen, err)

    def run_all(self):
        try:
            self.cmapctl()
        finally:
            self.cleanup_probe_keys()
        with CpgMember(self.args.cpg_member, self.ref) as ref_member, \
                CpgMember(self.args.cpg_member, self.ours) as our_member:
            self.side_info["ref"]["member_pid"] = ref_member.pid
            self.side_info["ours"]["member_pid"] = our_member.pid
            self.cpgtool()
        self.quorumtool()
        self.cfgtool()

    def cmapctl(self):
        cmapctl = "corosync-cmapctl"
        if self.skip_reason("corosync-cfgtool"):
            self.absent["cfg"] = "the cfg service, not built by this tree yet"
        listing = run(self.ref, [tool_path(cmapctl)]).out
        self.side_info["ref"]["ref_services"] = self.side_info["ours"]["ref_services"] = service_names(listing)
        self.key_filter = KeyFilter(self.absent)
        self.compare("corosync-cmapctl (every key)", [cmapctl], [self.key_filter])
        self.compare("corosync-cmapctl totem. (a prefix)", [cmapctl, "totem."], [self.key_filter])
        self.compare("corosync-cmapctl -g (several keys)",
                     [cmapctl, "-g", "totem.cluster_name", "nodelist.node.0.nodeid", "quorum.provider",
                      "runtime.votequorum.this_node_id"])
        self.compare("corosync-cmapctl -g (a missing key)", [cmapctl, "-g", f"{PROBE}.missing"])
        for value in (["u32", "42"], ["i64", "-5"], ["str", "hello world"], ["dbl", "1.5"]):
            self.compare(f"corosync-cmapctl -s ({value[0]})",
                         [cmapctl, "-s", "--", f"{PROBE}.key", *value])
            self.compare(f"corosync-cmapctl -g ({value[0]})", [cmapctl, "-g", f"{PROBE}.key"])
        self.compare("corosync-cmapctl -s (a read-only key)",
                     [cmapctl, "-s", "totem.cluster_name", "str", "other"])
        self.compare("corosync-cmapctl -s (a bad key name)", [cmapctl, "-s", "a b", "u8", "1"])
        self.compare("corosync-cmapctl -s (a bad type)", [cmapctl, "-s", f"{PROBE}.key", "u33", "1"])
        self.compare("corosync-cmapctl -d", [cmapctl, "-d", f"{PROBE}.key"])
        self.compare("corosync-cmapctl -d (a missing key)", [cmapctl, "-d", f"{PROBE}.key"])
        self.compare("corosync-cmapctl -d (a read-only key)", [cmapctl, "-d", "nodelist.local_node_pos"])
        changes = os.path.join(self.workdir, "changes")
        Path(changes).write_text(f"{PROBE}.a u8 1\n{PROBE}.b str x y\n{PROBE}.c i16 -3\n^{PROBE}.a\n")
        self.compare("corosync-cmapctl -p (a file of changes)", [cmapctl, "-p", changes])
        self.compare("corosync-cmapctl PREFIX (after -p)", [cmapctl, PROBE + "."])
        self.compare("corosync-cmapctl -D (a prefix)", [cmapctl, "-D", PROBE + "."])
        self.compare_tracking("corosync-cmapctl -t (create, modify, retype, delete)", f"{PROBE}.tracked")
        self.compare("corosync-cmapctl -m stats stats.ipcs. (key names and types)",
                     [cmapctl, "-m", "stats", "stats.ipcs."], [stats_key_shapes])

    def cleanup_probe_keys(self):
        """conclaved is new each time; the corosync may be shared."""
        run(self.ref, [tool_path("corosync-cmapctl"), "-D", PROBE + "."])

    def cpgtool(self):
        cpgtool = "corosync-cpgtool"
        steps = [only_probe_group, mask_member_pid]
        self.compare("corosync-cpgtool", [cpgtool], steps)
        self.compare("corosync-cpgtool -n", [cpgtool, "-n"], [only_probe_names])
        self.compare("corosync-cpgtool -d ,", [cpgtool, "-d", ","], [only_probe_delimited, mask_member_pid])
        self.compare("corosync-cpgtool -e", [cpgtool, "-e"], steps)

    def quorumtool(self):
        quorumtool = "corosync-quorumtool"
        steps = [mask_date, mask_ring_id]
        self.compare("corosync-quorumtool -s", [quorumtool, "-s"], steps)
        self.compare("corosync-quorumtool -l", [quorumtool, "-l"], steps)
        self.compare("corosync-quorumtool -s -i -H (addresses, hex ids)", [quorumtool, "-s", "-i", "-H"], steps)
        status = run(self.ref, [tool_path(quorumtool), "-s"]).out
        current = int(quorum_figure(status, "Expected votes") or 1)
        self.compare(f"corosync-quorumtool -e {current} (the current value)", [quorumtool, "-e", str(current)])
        title = f"corosync-quorumtool -e {current + 1} (more than the votes)"
        # One vote more than one node's single vote cannot be quorate, so it
        # is refused; elsewhere it could change a shared corosync.
        if self.reference_is_shared and not (current == 1 and quorum_figure(status, "Total votes") == "1"):
            self.comparisons.append(Comparison(title, skipped="it could change the shared corosync's votes"))
        else:
            self.compare(title, [quorumtool, "-e", str(current + 1)])
        self.compare("corosync-quorumtool -e 0 (refused by the tool)", [quorumtool, "-e", "0"])
        self.compare("corosync-quorumtool -s (after -e)", [quorumtool, "-s"], steps)

    def cfgtool(self):
        cfgtool = "corosync-cfgtool"
        self.compare("corosync-cfgtool -s", [cfgtool, "-s"])
        self.compare("corosync-cfgtool -s -b (brief)", [cfgtool, "-s", "-b"])
        self.compare("corosync-cfgtool -s -i 127.0.0.1 (one link)", [cfgtool, "-s", "-i", "127.0.0.1"])
        self.compare("corosync-cfgtool -n", [cfgtool, "-n"])
        self.compare("corosync-cfgtool -a 1", [cfgtool, "-a", "1"])
        self.compare("corosync-cfgtool -a 7 (an unknown node)", [cfgtool, "-a", "7"])
        self.compare("corosync-cfgtool -L (reopen the log files)", [cfgtool, "-L"])
        if self.reference_is_shared:
            self.comparisons.append(Comparison(
                "corosync-cfgtool -R (reload the configuration)",
                skipped="the corosync is shared with others: only a throwaway one is told to reload"))
        else:
            self.compare("corosync-cfgtool -R (reload the configuration)", [cfgtool, "-R"])
            self.compare("corosync-cmapctl config. (after -R)", ["corosync-cmapctl", "config."])


def quorum_figure(status, label):
    """A figure of corosync-quorumtool -s's output, such as "Total votes"."""
    match = re.search(rf"^{label}: +(\d+)", status, re.M)
    return match.group(1) if match else None


def only_probe_names(lines, side_info):
    return [line for line in lines if line == GROUP or line.startswith("2> ")]


def only_probe_delimited(lines, side_info):
    return [line for line in lines if line.startswith(GROUP + ",") or line.startswith("GRP_NAME")
            or line.startswith("2> ")]


# ---- the report ------------------------------------------------------------

WIDTH = 68


def side_by_side(left, right):
    rows = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        count = max(a2 - a1, b2 - b1)
        for i in range(count):
            l = left[a1 + i] if a1 + i < a2 else ""
            r = right[b1 + i] if b1 + i < b2 else ""
            mark = " " if op == "equal" else "|" if (a1 + i < a2 and b1 + i < b2) else "<" if a1 + i < a2 else ">"
            rows.append(f"  {shorten(l):<{WIDTH}} {mark} {shorten(r)}")
    return rows


def shorten(text):
    text = text.replace("\t", "    ")
    return text if len(text) <= WIDTH else text[:WIDTH - 1] + "~"


def report(test, notes):
    lines = ["Debian's corosync tools: corosync 3.1.7 (left) against conclaved (right)",
             f"  marks: ' ' same, '|' differs, '<' left only, '>' right only; '2>' is stderr"]
    lines += [f"  {note}" for note in notes if note]
    for c in test.comparisons:
        if c.skipped:
            lines += ["", f"== SKIPPED {c.title}: {c.skipped}"]
            continue
        verdict = "same" if c.same else "DIFFERENT"
        lines += ["", f"== {verdict}: {c.title}   (exit status {c.ref.status} | {c.ours.status})"]
        lines += side_by_side(c.ref_lines, c.our_lines)
    if getattr(test, "key_filter", None) and test.key_filter.excluded:
        lines += ["", "Keys left out of the cmap listings, and why:"]
        for why, keys in sorted(test.key_filter.excluded.items()):
            lines.append(f"  {why}: {len(keys)} keys")
            for key, sides in sorted(keys.items()):
                where = "both" if len(sides) == 2 else f"{next(iter(sides))} only"
                lines.append(f"      {key} ({where})")
    compared = [c for c in test.comparisons if not c.skipped]
    differing = [c for c in compared if not c.same]
    skipped = [c for c in test.comparisons if c.skipped]
    lines += ["", f"{len(compared)} commands compared, {len(compared) - len(differing)} the same, "
                  f"{len(differing)} different, {len(skipped)} skipped"]
    for c in differing:
        lines.append(f"  DIFFERENT: {c.title}")
    for c in skipped:
        lines.append(f"  SKIPPED: {c.title}")
    return "\n".join(lines) + "\n", compared, differing


# ---- main ------------------------------------------------------------------

def clean_environment():
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_LIBRARY_PATH", "LD_PRELOAD", "CONCLAVE_SOCKET")}
    env["PATH"] = env.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
    env["LC_ALL"] = "C"
    return env


def skip(why):
    """CI installs Debian's corosync for this test: there, not running is a failure."""
    if os.environ.get("CI") == "true":
        print(f"FAILED: CI=true, and the comparison cannot run: {why}")
        return 1
    print(f"SKIPPED: {why}")
    return SKIPPED


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conclaved", required=True)
    parser.add_argument("--cpg-member", required=True)
    parser.add_argument("--config", required=True, help="for a corosync this test starts, and conclaved")
    parser.add_argument("--throwaway", required=True, help="the script that starts a corosync")
    parser.add_argument("--libdir", action="append", required=True, help="where this build's libraries are")
    parser.add_argument("--preload", default="", help="the sanitizer runtime Debian's tools must preload")
    parser.add_argument("--report", help="also write the comparison here")
    args = parser.parse_args()
    args.config = os.path.abspath(args.config)  # corosync changes directory before reloading it

    missing = [t for t in TOOLS if not tool_path(t)]
    if missing:
        return skip(f"Debian's corosync package is not installed ({', '.join(missing)} missing)")

    workdir = tempfile.mkdtemp(prefix="conclave-dropin-")
    socket_path = os.path.join(workdir, "conclaved.sock")
    ref = Side("corosync", clean_environment())
    ours_env = clean_environment()
    ours_env["LD_LIBRARY_PATH"] = ":".join(args.libdir)
    ours_env["CONCLAVE_SOCKET"] = socket_path
    sanitizer_note = ""
    if args.preload:
        # Debian's tools are not instrumented: the runtime must come first.
        ours_env["LD_PRELOAD"] = args.preload
        sanitizer_note = (f"sanitizer build: Debian's tools run on our instrumented libraries with "
                          f"LD_PRELOAD={args.preload}")
    ours = Side("conclave", ours_env)
    try:
        with Reference(ref, args.throwaway, args.config, workdir) as reference, \
                Conclaved(args.conclaved, reference.config, socket_path, ours, clean_environment()):
            test = DropinTest(args, ref, ours, workdir, reference_is_shared=not reference.started)
            reference_note = reference.note
            test.run_all()
    except Skip as why:
        return skip(str(why))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    text, compared, differing = report(test, [reference_note, sanitizer_note])
    print(text, end="")
    if args.report:
        Path(args.report).write_text(text)
    if not compared:
        return SKIPPED
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
