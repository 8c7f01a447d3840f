"""The model declares every attribute it has, and emitters find their queries there."""

import ast
import os
import unittest

from codegen.model import Enumerator
from codegen.program import load

from .support import IDL_DIR, REPO


class DeclaredAttributesTest(unittest.TestCase):
    def test_an_undeclared_attribute_cannot_be_attached(self):
        function = load(IDL_DIR).find_function("cpg_join")
        with self.assertRaises(AttributeError):
            function.checked = True

    def test_validation_links_every_definition_to_its_file(self):
        program = load(IDL_DIR)
        for idl_file in program.files:
            for function in idl_file.functions:
                self.assertIs(function.file, idl_file)
        enumerator = program.status_enum(program.common).enumerators[0]
        self.assertIsInstance(enumerator, Enumerator)
        self.assertEqual(enumerator.enum.name, "cs_error_t")

    def test_emitters_import_nothing_from_the_validator(self):
        emit_dir = os.path.join(REPO, "codegen", "emit")
        for name in sorted(os.listdir(emit_dir)):
            if not name.endswith(".py"):
                continue
            with open(os.path.join(emit_dir, name), encoding="utf-8") as stream:
                tree = ast.parse(stream.read())
            modules = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
            with self.subTest(emitter=name):
                self.assertNotIn("validate", [m.rsplit(".", 1)[-1] for m in modules if m])


if __name__ == "__main__":
    unittest.main()
