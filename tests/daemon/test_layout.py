"""conclaved's core knows services only through the generated list
(generated/services.c): no file of src/daemon names a service, and nothing
in it has a fixed-size list of services."""

import os
import re
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAEMON = os.path.join(REPO, "src", "daemon")


def served_services():
    with open(os.path.join(REPO, "generated", "services.cmake"), encoding="utf-8") as stream:
        return re.search(r"set\(CONCLAVE_SERVICES ([^)]*)\)", stream.read()).group(1).split()


def daemon_files():
    for name in sorted(os.listdir(DAEMON)):
        with open(os.path.join(DAEMON, name), encoding="utf-8") as stream:
            yield name, stream.read()


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


if __name__ == "__main__":
    unittest.main()
