#!/usr/bin/env python3
"""conclaved under a service manager, played by this test: readiness,
reload and stop through $NOTIFY_SOCKET (sd_notify's protocol), the logging {}
section's targets (stderr, a log file reopened on SIGHUP, syslog with its
facility), and a warning for every configuration key conclaved does not use.

usage: test_service_manager.py CONCLAVED
Syslog is checked with /dev/log replaced in a mount namespace of its own,
which needs root: without it that test is skipped (a failure under CI=true).
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

CONCLAVED = None
TIMEOUT = 30.0


def receive(sock, timeout=TIMEOUT):
    """One datagram as a dict of its KEY=VALUE lines."""
    sock.settimeout(timeout)
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.split("\n") if line)


class Daemon:
    def __init__(self, tmp, config_text, notify_name=None, wrapper=()):
        self.tmp = tmp
        self.config = os.path.join(tmp, "conclave.conf")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.socket_path = os.path.join(tmp, "conclaved.sock")
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        if notify_name:
            env["NOTIFY_SOCKET"] = notify_name
        self.stderr_path = os.path.join(tmp, "stderr")
        self.stderr_file = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            [*wrapper, CONCLAVED, "-f", "-c", self.config, "-s", self.socket_path],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr_file)

    def stderr(self):
        with open(self.stderr_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        status = self.proc.wait(timeout=TIMEOUT)
        self.stderr_file.close()
        return status


def single_node(extra=""):
    return ("nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n"
            "quorum {\n\tprovider: corosync_votequorum\n}\n" + extra)


class ServiceManager(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="conclave-sm-")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify_path = os.path.join(self.tmp, "notify")
        self.notify.bind(self.notify_path)
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
            d.stderr_file.close()
        self.notify.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, config_text, notify_name=None, wrapper=()):
        d = Daemon(self.tmp, config_text, notify_name or self.notify_path, wrapper)
        self.daemons.append(d)
        return d

    def test_ready_reload_and_stop(self):
        log = os.path.join(self.tmp, "conclaved.log")
        d = self.start(single_node("logging {\n\tto_logfile: yes\n\tlogfile: %s\n}\n" % log))
        ready = receive(self.notify)
        self.assertEqual(ready.get("READY"), "1")
        self.assertEqual(ready.get("MAINPID"), str(d.proc.pid))
        self.assertIn("serving node 1", ready.get("STATUS", ""))
        self.assertTrue(os.path.exists(d.socket_path), "READY=1 came before the socket was listening")

        # logrotate: the file is moved away, SIGHUP makes conclaved open a new one.
        os.rename(log, log + ".1")
        d.proc.send_signal(signal.SIGHUP)
        reloading = receive(self.notify)
        self.assertEqual(reloading.get("RELOADING"), "1")
        self.assertTrue(reloading.get("MONOTONIC_USEC", "").isdigit(), reloading)
        self.assertEqual(receive(self.notify).get("READY"), "1")
        with open(log) as f:
            self.assertIn("configuration reloaded from", f.read())
        with open(log + ".1") as f:
            self.assertIn("ready: node 1", f.read())

        d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(receive(self.notify).get("STOPPING"), "1")
        self.assertEqual(d.stop(), 0)

    def test_abstract_notify_socket(self):
        name = "conclave-test-%d" % os.getpid()
        abstract = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        abstract.bind("\0" + name)
        try:
            d = self.start(single_node(), notify_name="@" + name)
            self.assertEqual(receive(abstract).get("READY"), "1")
            self.assertEqual(d.stop(), 0)
        finally:
            abstract.close()

    def test_no_service_manager(self):
        d = Daemon(self.tmp, single_node(), notify_name=None)
        self.daemons.append(d)
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(d.socket_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(d.stop(), 0)

    def test_bad_notify_socket_is_reported(self):
        d = self.start(single_node(), notify_name="relative/name")
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(d.socket_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(d.stop(), 0)
        self.assertIn("NOTIFY_SOCKET is not a socket name", d.stderr())

    def test_unused_keys_are_named(self):
        d = self.start(single_node("totem {\n\tcluster_name: c\n\ttoken: 3000\n}\n"
                                   "logging {\n\ttimestamp: on\n\tto_stderr: yes\n}\n"))
        receive(self.notify)
        self.assertEqual(d.stop(), 0)
        err = d.stderr()
        conf = d.config
        self.assertIn("%s:12: totem.token is not used by conclaved" % conf, err)
        self.assertIn("%s:15: logging.timestamp is not used by conclaved" % conf, err)
        for used in ("cluster_name", "ring0_addr", "provider", "to_stderr"):
            self.assertNotIn(used + " is not used", err)

    def test_example_configuration_is_used_whole(self):
        example = os.path.join(os.path.dirname(__file__), "..", "..", "dist", "conclave.conf.example")
        with open(example) as f:
            text = f.read().replace("/var/log/conclave/conclaved.log", os.path.join(self.tmp, "c.log"))
        d = self.start(text)
        self.assertEqual(receive(self.notify).get("READY"), "1")
        self.assertEqual(d.stop(), 0)
        self.assertNotIn("is not used", d.stderr())

    def test_to_stderr_no(self):
        d = self.start(single_node("logging {\n\tto_stderr: no\n}\n"))
        receive(self.notify)
        self.assertEqual(d.stop(), 0)
        self.assertNotIn("conclaved: [", d.stderr())

    def test_bad_logging_values_are_errors(self):
        for text, message in (
                ("logging {\n\tsyslog_facility: local9\n}\n",
                 ":2: error: invalid value 'local9' for syslog_facility: expected one of daemon, local0"),
                ("logging {\n\tsyslog_priority: loud\n}\n",
                 ":2: error: invalid value 'loud' for syslog_priority: expected one of emerg, alert, crit"),
                ("logging {\n\tto_syslog: maybe\n}\n", ":2: error: invalid value 'maybe' for to_syslog")):
            with self.subTest(text=text):
                d = self.start(text)
                self.assertEqual(d.proc.wait(timeout=TIMEOUT), 1)
                self.assertIn(d.config + message, d.stderr())

    def test_syslog_facility_and_priority(self):
        if os.geteuid() != 0 or not shutil.which("unshare"):
            if os.environ.get("CI") == "true":
                self.fail("syslog needs root and unshare to replace /dev/log")
            self.skipTest("syslog needs root and unshare to replace /dev/log")
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        receiver_path = os.path.join(self.tmp, "syslog")
        receiver.bind(receiver_path)
        os.chmod(receiver_path, 0o666)
        saved = os.path.join(self.tmp, "dev")
        os.mkdir(saved)
        # /dev/log, in a mount namespace of conclaved's own, leads to receiver.
        wrapper = ("unshare", "--mount", "--propagation", "private", "sh", "-ec",
                   'mount --rbind /dev "$1"; mount -t tmpfs tmpfs /dev; touch /dev/null; '
                   'mount --bind "$1/null" /dev/null; ln -s "$2" /dev/log; shift 2; exec "$@"',
                   "sh", saved, receiver_path)
        d = self.start(single_node("totem {\n\ttoken: 3000\n}\n"
                                   "logging {\n\tto_syslog: yes\n\tsyslog_facility: local3\n"
                                   "\tsyslog_priority: notice\n\tto_stderr: no\n}\n"), wrapper=wrapper)
        receive(self.notify)
        self.assertEqual(d.stop(), 0)
        lines = []
        receiver.settimeout(1)
        try:
            while True:
                lines.append(receiver.recv(4096).decode())
        except socket.timeout:
            pass
        receiver.close()
        # local3 (19 << 3) | warning (4); info lines ("ready") stay out at notice.
        self.assertTrue(any(l.startswith("<156>") and "conclaved[" in l and "totem.token is not used" in l
                            for l in lines), lines)
        self.assertFalse(any("ready: node" in l for l in lines), lines)

if __name__ == "__main__":
    CONCLAVED = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
