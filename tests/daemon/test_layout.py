"""conclaved's core knows services only through the generated list
(generated/services.c): no file of src/daemon names a service, and nothing
in it has a fixed-size list of services. Services know the daemon only
through <conclave/service.h> (and <conclave/cluster.h>, the ordering seam
of cluster mode): src/daemon and src/services include none of each other's
headers."""

import os
import re
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAEMON = os.path.join(REPO, "src", "daemon")
SERVICES = os.path.join(REPO, "src", "services")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def served_services():
    with open(os.path.join(REPO, "generated", "services.cmake"), encoding="utf-8") as stream:
        return re.search(r"set\(CONCLAVE_SERVICES ([^)]*)\)", stream.read()).group(1).split()


def files_of(directory):
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), encoding="utf-8") as stream:
            yield name, stream.read()


def daemon_files():
    return files_of(DAEMON)


def includes(text):
    """(quoted, header) of every #include."""
    return [(kind == '"', header) for kind, header in INCLUDE.findall(text)]


class DaemonLayoutTest(unittest.TestCase):
    def test_the_daemon_names_no_service(self):
        services = served_services()
        self.assertIn("cpg", services)
        for name, text in daemon_files():
            for service in services:
                for mention in (f"{service}-server", f"{service}_server_service", f"{service}_service_ops",
                                f"conclave_proto_{service}", f"{service.upper()}_SERVICE"):
                    with self.subTest(file=name, mention=mention):
                        self.assertNotIn(mention, text)

    def test_no_fixed_size_list_of_services(self):
        # An array of services (or of their names) declared with a size.
        fixed = re.compile(r"(cv_server_service|service_name)\b[^;(){}=\n]*\[\s*\w+\s*\]")
        for name, text in daemon_files():
            with self.subTest(file=name):
                self.assertEqual(fixed.findall(text), [])



class IncludeTest(unittest.TestCase):
    def test_services_include_the_daemon_only_through_the_service_api(self):
        daemon_headers = set(os.listdir(DAEMON))
        for name, text in files_of(SERVICES):
            for quoted, header in includes(text):
                with self.subTest(file=name, header=header):
                    if quoted:
                        self.assertNotIn(header, daemon_headers)
                    elif header.startswith("conclave/"):
                        self.assertIn(header, ("conclave/service.h", "conclave/cluster.h"))

    def test_the_daemon_includes_no_service_header(self):
        service_headers = {n for n in os.listdir(SERVICES) if n.endswith(".h")}
        self.assertTrue(service_headers)
        for name, text in daemon_files():
            for quoted, header in includes(text):
                with self.subTest(file=name, header=header):
                    self.assertNotIn(header, service_headers)


if __name__ == "__main__":
    unittest.main()
