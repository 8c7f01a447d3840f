#!/usr/bin/env python3
"""Tracing from the IDL against a real conclaved: CONCLAVE_DEBUG=1 in a
client, conclaved -d, conclavectl call and conclavectl monitor, all decoding
messages by name from the generator's catalogs, a service module's (the
echo test module, loaded from the daemon's service directory) included.

usage: test_tracing.py CONCLAVED CONCLAVECTL ECHO_MODULE
The monitor's refusal of other users is checked by running conclavectl as
nobody, which needs root: without it that test is skipped (a failure under
CI=true).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

CONCLAVED = CONCLAVECTL = ECHO_MODULE = None
TIMEOUT = 30.0
NOBODY = 65534
STAMP = r"\[\d\d:\d\d:\d\d\.\d{6}\] "


class Tracing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="conclave-trace-")
        os.chmod(cls.tmp, 0o755)
        cls.socket = os.path.join(cls.tmp, "conclaved.sock")
        cls.service_dir = os.path.join(cls.tmp, "services")
        os.mkdir(cls.service_dir)
        os.symlink(ECHO_MODULE, os.path.join(cls.service_dir, "echo.so"))
        config = os.path.join(cls.tmp, "conclave.conf")
        with open(config, "w") as f:
            f.write("nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n"
                    "quorum {\n\tprovider: corosync_votequorum\n}\n"
                    "uidgid {\n\tuid: %d\n}\n" % NOBODY +
                    # small queues, for a monitor that falls behind
                    "conclave {\n\tmax_message_size: 16384\n\tmax_queued_bytes: 65536\n"
                    "\tservice_dir: %s\n}\n" % cls.service_dir)
        cls.daemon_log = open(os.path.join(cls.tmp, "stderr"), "w+")
        cls.daemon = subprocess.Popen([CONCLAVED, "-f", "-d", "-c", config, "-s", cls.socket],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=cls.daemon_log)
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(cls.socket):
            if time.monotonic() > deadline or cls.daemon.poll() is not None:
                raise RuntimeError("conclaved did not start")
            time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.send_signal(signal.SIGTERM)
        cls.daemon.wait(timeout=TIMEOUT)
        cls.daemon_log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def ctl(self, *args, env=None, user=None):
        full_env = dict(os.environ, CONCLAVE_SOCKET=self.socket)
        full_env.pop("CONCLAVE_DEBUG", None)
        full_env.update(env or {})
        command = [CONCLAVECTL, *args]
        if user:
            command = ["setpriv", "--reuid", str(user), "--regid", str(user), "--clear-groups", *command]
        return subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=TIMEOUT)

    def daemon_stderr(self):
        self.daemon_log.flush()
        self.daemon_log.seek(0)
        return self.daemon_log.read()

    # ---- CONCLAVE_DEBUG=1 ------------------------------------------------

    def test_client_trace_names_requests_replies_and_events(self):
        r = self.ctl("cmap", "set", "trace.client", "str", "v1", env={"CONCLAVE_DEBUG": "1"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, "(?m)^" + STAMP + r'conclave: cmap\[fd \d+\] -> store_set\('
                         r'key_name="trace\.client", value=b"v1", type=11\)$')
        self.assertRegex(r.stderr, "(?m)^" + STAMP + r"conclave: cmap\[fd \d+\] <- store_set = CS_OK \(\)$")
        r = self.ctl("cmap", "get", "no.such.key", env={"CONCLAVE_DEBUG": "1"})
        self.assertRegex(r.stderr, r"<- store_get = CS_ERR_NOT_EXIST")
        r = self.ctl("quorum", "-s", env={"CONCLAVE_DEBUG": "yes"})
        self.assertRegex(r.stderr, "(?m)^" + STAMP + r"conclave: quorum\[fd \d+\] <- event "
                         r"notification\(quorate=1, ring_seq=\d+, view_list=\[1\]\)$")
        self.assertRegex(r.stderr, r"votequorum\[fd \d+\] <- getinfo = CS_OK \(info=\{node_id=1, ")

    def test_client_trace_is_off_unless_asked(self):
        for env in ({}, {"CONCLAVE_DEBUG": "0"}, {"CONCLAVE_DEBUG": ""}):
            with self.subTest(env=env):
                r = self.ctl("cmap", "get", "trace.none", env=env)
                self.assertNotIn("conclave: cmap", r.stderr)

    # ---- conclaved -d ----------------------------------------------------

    def test_daemon_trace_per_connection(self):
        r = self.ctl("cmap", "set", "trace.daemon", "u32", "7")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.ctl("quorum", "-s")
        err = self.daemon_stderr()
        self.assertRegex(err, r"(?m)^conclaved: \[debug\] " + STAMP + r"connection \d+ \(pid \d+\) cmap -> "
                         r'store_set\(key_name="trace\.daemon", value=<07 00 00 00>, type=6\)$')
        self.assertRegex(err, r"connection \d+ \(pid \d+\) cmap <- store_set = CS_OK \(\)")
        self.assertRegex(err, r"connection \d+ \(pid \d+\) quorum <- event notification\(quorate=1, ")

    # ---- conclavectl call ------------------------------------------------

    def test_call_lists_services_and_requests(self):
        r = self.ctl("call")
        self.assertEqual(r.returncode, 0)
        for service in ("cmap", "cpg", "quorum", "votequorum", "corosync_cfg", "evs"):
            self.assertRegex(r.stdout, rf"(?m)^{service} \d+\.\d+: \d+ requests, \d+ events$")
        r = self.ctl("call", "cmap")
        self.assertIn("store_get(key_name: string) -> (type: int32, value: bytes)", r.stdout)
        r = self.ctl("call", "cpg")
        self.assertIn("groups_mcast(msg: bytes) one-way", r.stdout)

    def test_call_any_request(self):
        r = self.ctl("call", "cmap", "store_set", "key_name=trace.call", "value=abc\\x00", "type=11")
        self.assertEqual((r.returncode, r.stdout), (0, "status=CS_OK\n"), r.stderr)
        r = self.ctl("call", "cmap", "cmap_store_get", "key_name=trace.call")
        self.assertEqual((r.returncode, r.stdout), (0, 'status=CS_OK\ntype=11\nvalue=b"abc\\x00"\n'))
        self.assertEqual(self.ctl("cmap", "get", "trace.call").stdout, "trace.call (str) = abc\n")
        r = self.ctl("call", "votequorum", "getinfo", "nodeid=1")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"info=\{node_id=1, node_state=1, node_votes=1, ")
        r = self.ctl("call", "cpg", "groups_members", "group.value=nobody")
        self.assertEqual((r.returncode, r.stdout), (0, "status=CS_OK\nmembers=[]\n"))

    def test_call_errors(self):
        r = self.ctl("call", "cmap", "store_get", "key_name=no.such")
        self.assertEqual((r.returncode, r.stdout), (1, "status=CS_ERR_NOT_EXIST\n"))
        for args, message in (
                (("nosuch",), "no service nosuch"),
                (("cmap", "nosuch"), "cmap has no request nosuch"),
                (("cmap", "store_get", "bogus=1"), "no field bogus"),
                (("cmap", "store_get", "key_name"), "'key_name' is not FIELD=VALUE"),
                (("votequorum", "getinfo", "nodeid=-1"), "invalid uint32 '-1' for nodeid"),
                (("votequorum", "getinfo", "nodeid=4294967296"), "invalid uint32"),
                (("cmap", "store_set", "value=\\q"), "invalid bytes"),
                (("cpg", "groups_members", "group=g"), "group is a message: give its fields as "
                                                        "group.FIELD=VALUE"),
                (("cpg", "groups_members", "group.bogus=g"), "no field bogus"),
                (("cpg", "groups_members", "flags.value=1"), "flags is no message field")):
            with self.subTest(args=args):
                r = self.ctl("call", *args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(message, r.stderr)
        r = subprocess.run([CONCLAVECTL, "call", "quorum", "getquorate"], capture_output=True, text=True,
                           env=dict(os.environ, CONCLAVE_SOCKET=os.path.join(self.tmp, "none.sock")))
        self.assertEqual(r.returncode, 3)
        self.assertIn("none.sock, from CONCLAVE_SOCKET", r.stderr)

    # ---- conclavectl monitor ---------------------------------------------

    def start_monitor(self, *args):
        return self.start_monitor_named("-".join(args or ("all",)), *args)

    def start_monitor_named(self, label, *args):
        out = open(os.path.join(self.tmp, f"monitor-{label}.out"), "w+")
        proc = subprocess.Popen([CONCLAVECTL, "monitor", *args], stdout=out, stderr=subprocess.STDOUT,
                                env=dict(os.environ, CONCLAVE_SOCKET=self.socket))
        self.addCleanup(self.end_monitor, proc, out)
        return proc, out

    @staticmethod
    def end_monitor(proc, out):
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        out.close()

    def wait_for(self, out, pattern):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            out.seek(0)
            text = out.read()
            if re.search(pattern, text):
                return text
            time.sleep(0.05)
        self.fail(f"no {pattern!r} in:\n{text[-2000:]}")

    def stop_monitor(self, proc, out):
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(timeout=TIMEOUT), 0)
        out.close()

    def test_monitor_watches_every_connection(self):
        everything = self.start_monitor()
        only_quorum = self.start_monitor("quorum")
        # The monitors are connected once conclaved logs their HELLO.
        deadline = time.monotonic() + TIMEOUT
        while self.daemon_stderr().count("uses service conclave_monitor") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.ctl("cmap", "set", "trace.monitor", "str", "m")
        self.ctl("quorum", "-s")
        text = self.wait_for(everything[1], r"quorum <- event notification")
        self.assertRegex(text, "(?m)^" + STAMP + r"connection \d+ \(pid \d+, uid 0\) cmap -> "
                         r'store_set\(key_name="trace\.monitor", value=b"m", type=11\)$')
        self.assertRegex(text, r"cmap <- store_set = CS_OK \(\)")
        quorum_text = self.wait_for(only_quorum[1], r"quorum <- event notification")
        self.assertNotIn(" cmap ", quorum_text)
        self.assertNotIn("conclave_monitor", text)
        self.stop_monitor(*everything)
        self.stop_monitor(*only_quorum)

    def test_monitor_names_a_module_services_messages(self):
        connected = self.daemon_stderr().count("uses service conclave_monitor")
        proc, out = self.start_monitor_named("echo", "--service-dir", self.service_dir, "echo")
        self.wait_for_monitors(connected + 1)
        r = self.ctl("call", "--service-dir", self.service_dir, "echo", "plus_one", "flags=7")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "status=CS_OK\nquorum_type=8\n", ""))
        text = self.wait_for(out, r"echo <- plus_one = CS_OK \(quorum_type=8\)$")
        self.assertRegex(text, "(?m)^" + STAMP + r"connection \d+ \(pid \d+, uid 0\) echo -> plus_one\(flags=7\)$")
        self.assertRegex(self.daemon_stderr(), r"echo -> plus_one\(flags=7\)")
        self.stop_monitor(proc, out)

    def wait_for_monitors(self, count):
        deadline = time.monotonic() + TIMEOUT
        while self.daemon_stderr().count("uses service conclave_monitor") < count:
            self.assertLess(time.monotonic(), deadline, "the monitors did not connect")
            time.sleep(0.05)

    def test_monitor_that_falls_behind_loses_records_not_traffic(self):
        connected = self.daemon_stderr().count("uses service conclave_monitor")
        proc, out = self.start_monitor("cmap")
        self.wait_for_monitors(connected + 1)
        proc.send_signal(signal.SIGSTOP)
        keys = os.path.join(self.tmp, "keys")
        with open(keys, "w") as f:
            for i in range(3000):
                f.write(f"trace.flood.{i} u32 {i}\n")
        r = self.ctl("cmap", "load", keys)
        proc.send_signal(signal.SIGCONT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.ctl("cmap", "get", "-q", "trace.flood.2999").stdout, "2999\n")
        self.ctl("cmap", "set", "trace.flood.after", "u8", "1")
        text = self.wait_for(out, r'key_name="trace\.flood\.after"')
        lost = re.findall(r"(?m)^\((\d+) records lost: conclavectl monitor did not keep up\)$", text)
        self.assertTrue(lost, text[-2000:])
        self.stop_monitor(proc, out)

    def test_monitors_are_limited(self):
        connected = self.daemon_stderr().count("uses service conclave_monitor")
        monitors = []
        for i in range(8):
            monitors.append(self.start_monitor_named(f"limit{i}"))
        self.wait_for_monitors(connected + 8)
        r = self.ctl("monitor")
        self.assertEqual(r.returncode, 3)
        self.assertIn("(CS_ERR_NO_RESOURCES)", r.stderr)
        for m in monitors:
            self.stop_monitor(*m)

    def test_monitor_usage(self):
        r = self.ctl("monitor", "nosuch")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no such service", r.stderr)

    def test_monitor_is_for_root_only(self):
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            if os.environ.get("CI") == "true":
                self.fail("needs root and setpriv to run conclavectl as another user")
            self.skipTest("needs root and setpriv to run conclavectl as another user")
        # nobody may use cmap (uidgid), not the monitor.
        self.assertEqual(self.ctl("cmap", "get", "trace.client", user=NOBODY).returncode, 0)
        r = self.ctl("monitor", user=NOBODY)
        self.assertEqual(r.returncode, 3)
        self.assertIn("cannot connect to the monitor service: conclaved refuses this user (CS_ERR_ACCESS)",
                      r.stderr)


if __name__ == "__main__":
    CONCLAVED = os.path.abspath(sys.argv.pop(1))
    CONCLAVECTL = os.path.abspath(sys.argv.pop(1))
    ECHO_MODULE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
