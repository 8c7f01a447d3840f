"""The one list of the services conclaved serves (generated/services.c and
generated/services.cmake): its order, and what adding a service changes."""

import os
import re
import shutil
import unittest

from codegen.diagnostics import IdlError

from .support import IDL_DIR, REPO, TempDir, generate_dir


def listed_services(outputs):
    cmake = outputs["generated/services.cmake"]
    return re.search(r"set\(CONCLAVE_SERVICES ([^)]*)\)", cmake).group(1).split()


def table_entries(outputs):
    return re.findall(r"^\t&(\w+)_server_service, /\* (\d+) \*/$", outputs["generated/services.c"], re.M)


def renamed_service(text, old, new, number):
    """An IDL file of another service made from an existing one."""
    for a, b in ((old, new), (old.upper(), new.upper()), (old.capitalize(), new.capitalize())):
        text = text.replace(a, b)
    return re.sub(r"\n    id \d+;", f"\n    id {number};", text, count=1)


class ServiceListTest(unittest.TestCase):
    def test_services_with_requests_are_listed_in_the_order_of_their_numbers(self):
        outputs = generate_dir(IDL_DIR)
        self.assertEqual(table_entries(outputs), [("cmap", "0"), ("corosync_cfg", "1"), ("cpg", "2"),
                                                  ("quorum", "3"), ("votequorum", "5"), ("evs", "8")])
        self.assertEqual(listed_services(outputs), ["cmap", "corosync_cfg", "cpg", "quorum", "votequorum", "evs"])
        self.assertNotIn("sam", listed_services(outputs))  # no requests: a client library only

    def test_a_new_idl_file_joins_the_list_and_nothing_else_changes(self):
        before = generate_dir(IDL_DIR)
        with TempDir() as tmp:
            idl = os.path.join(tmp, "idl")
            shutil.copytree(IDL_DIR, idl)
            shutil.copytree(os.path.join(REPO, "include"), os.path.join(tmp, "include"))
            with open(os.path.join(IDL_DIR, "quorum.idl"), encoding="utf-8") as stream:
                tally = renamed_service(stream.read(), "quorum", "tally", 4)
            with open(os.path.join(idl, "tally.idl"), "w", encoding="utf-8") as stream:
                stream.write(tally)
            after = generate_dir(idl)
        added = sorted(set(after) - set(before))
        changed = sorted(p for p in before if after.get(p) != before[p])
        # Only the program-wide lists: the services and their catalogs.
        self.assertEqual(changed, ["generated/catalogs.c", "generated/services.c", "generated/services.cmake"])
        self.assertTrue(added)
        for path in added:
            self.assertRegex(path, r"^(generated/tally/|generated/include/corosync/tally\.h$|man/man3/tally_)")
        self.assertEqual(listed_services(after), ["cmap", "corosync_cfg", "cpg", "quorum", "tally",
                                                  "votequorum", "evs"])
        self.assertIn(("tally", "4"), table_entries(after))
        self.assertIn('#include "tally-server.h"', after["generated/services.c"])


class ServiceNumberErrorTest(unittest.TestCase):
    def generate_with(self, text):
        with TempDir() as tmp:
            idl = os.path.join(tmp, "idl")
            shutil.copytree(IDL_DIR, idl)
            shutil.copytree(os.path.join(REPO, "include"), os.path.join(tmp, "include"))
            with open(os.path.join(idl, "tally.idl"), "w", encoding="utf-8") as stream:
                stream.write(text)
            with self.assertRaises(IdlError) as raised:
                generate_dir(idl)
        return str(raised.exception)

    def quorum_idl(self):
        with open(os.path.join(IDL_DIR, "quorum.idl"), encoding="utf-8") as stream:
            return stream.read()

    def test_a_service_with_requests_needs_a_number(self):
        text = re.sub(r"\n    id \d+;", "", renamed_service(self.quorum_idl(), "quorum", "tally", 4))
        self.assertRegex(self.generate_with(text),
                         r"tally\.idl:5:9: error: tally has requests but no 'id' statement")

    def test_two_services_cannot_share_a_number(self):
        text = renamed_service(self.quorum_idl(), "quorum", "tally", 2)
        with open(os.path.join(IDL_DIR, "cpg.idl")) as stream:
            service_line = stream.read().split("\n").index("service cpg {") + 1
        self.assertRegex(self.generate_with(text),
                         rf"tally\.idl:7:5: error: service number 2 is already cpg's "
                         rf"\(.*cpg\.idl:{service_line}:9\)")

    def test_a_number_is_0_to_65535(self):
        text = renamed_service(self.quorum_idl(), "quorum", "tally", 65536)
        self.assertRegex(self.generate_with(text), r"tally\.idl:7:8: error: service number '65536' is not 0 to 65535")


if __name__ == "__main__":
    unittest.main()


class ServicePageTest(unittest.TestCase):
    """conclave-service(7) is made from include/conclave/service.h."""

    def header(self):
        with open(os.path.join(REPO, "include", "conclave", "service.h"), encoding="utf-8") as stream:
            return stream.read()

    def test_the_page_shows_every_function_of_the_header(self):
        page = generate_dir(IDL_DIR)["man/man7/conclave-service.7"]
        functions = re.findall(r"^[a-z][\w ]*?\**\b(cv_\w+|cmap_\w+)\(", self.header(), re.M)
        self.assertIn("cv_session_send_event", functions)
        self.assertIn("cv_timer_start", functions)
        for function in functions:
            with self.subTest(function=function):
                self.assertIn(f"{function}(", page)

    def test_a_section_comment_starts_a_subsection_with_the_api_version(self):
        page = generate_dir(IDL_DIR)["man/man7/conclave-service.7"]
        version = re.search(r"#define CV_SERVICE_API (\d+)", self.header()).group(1)
        self.assertIn(".Ss Events and back-pressure\n", page)
        self.assertIn(f"version {version} of the API", page)

    def test_a_change_of_the_header_changes_the_page(self):
        with TempDir() as tmp:
            shutil.copytree(IDL_DIR, os.path.join(tmp, "idl"))
            os.makedirs(os.path.join(tmp, "include", "conclave"))
            with open(os.path.join(tmp, "include", "conclave", "service.h"), "w", encoding="utf-8") as stream:
                stream.write(self.header().replace("/* ---- Logging ---- */",
                                                   "/* ---- Logging ---- */\n\n/* Says hello. */\n"
                                                   "void cv_hello(void);"))
            page = generate_dir(os.path.join(tmp, "idl"))["man/man7/conclave-service.7"]
        self.assertIn("Says hello.\n.Bd -literal -offset indent\nvoid cv_hello(void);\n.Ed", page)
