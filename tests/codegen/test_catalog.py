"""The catalogs (generated/S/S-catalog.c, generated/catalogs.c): every
request, reply and event of a service by name and id, which tracing and
conclavectl call and monitor read."""

import re
import unittest

from codegen.model import ONEWAY
from codegen.program import load

from .support import IDL_DIR, generate_dir


class CatalogTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.program = load(IDL_DIR)
        cls.outputs = generate_dir(IDL_DIR)

    def catalog(self, service):
        return self.outputs[f"generated/{service.output_dir}/{service.name}-catalog.c"]

    def test_every_request_and_event_is_named_at_its_id(self):
        for idl_file in self.program.services:
            functions, events = idl_file.remote_functions, idl_file.event_callbacks
            if not functions and not events:
                continue
            text = self.catalog(idl_file.service)
            for f in functions:
                with self.subTest(function=f.name):
                    self.assertRegex(text, rf'\[{f.request_id}\] = {{\n\t\t\.name = "{f.short_name}",\n'
                                           rf'\t\t\.function = "{f.name}",')
                    reply = "NULL" if f.kind == ONEWAY else "&"
                    self.assertRegex(text, rf'\.function = "{f.name}",\n.*\n.*\n\t\t\.reply = {reply}')
            for c in events:
                with self.subTest(event=c.name):
                    self.assertIn(f'[{c.event_id}] = {{\n\t\t.name = "{c.short_name}",', text)

    def test_a_library_without_messages_has_no_catalog(self):
        self.assertFalse(any(path.startswith("generated/sam/sam-catalog") for path in self.outputs))
        self.assertNotIn("sam_catalog", self.outputs["generated/catalogs.c"])

    def test_the_list_names_every_catalog_once(self):
        listed = re.findall(r"^\t&(\w+)_catalog,$", self.outputs["generated/catalogs.c"], re.M)
        made = sorted(re.match(r"generated/\w+/(\w+)-catalog\.c$", p).group(1)
                      for p in self.outputs if p.endswith("-catalog.c"))
        self.assertEqual(sorted(listed), made)
        self.assertEqual(len(listed), len(set(listed)))

    def test_client_and_server_descriptors_point_at_the_catalog(self):
        for name in ("cmap", "cpg", "quorum"):
            with self.subTest(service=name):
                self.assertIn(f"\t.catalog = &{name}_catalog,\n", self.outputs[f"generated/{name}/{name}-client.c"])
                self.assertIn(f"\t.catalog = &{name}_catalog,\n", self.outputs[f"generated/{name}/{name}-server.c"])


if __name__ == "__main__":
    unittest.main()
