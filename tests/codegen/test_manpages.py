"""What the generated pages say: the errors of each function, from one source."""

import re
import unittest

from codegen import rules
from codegen.program import load

from .support import FEATURES_IDL, IDL_DIR, generate_dir

# Every initialize can return these, whatever the service: they come from the
# runtime's connection set-up and the daemon's handshake.
INITIALIZE_ERRORS = ("CS_ERR_LIBRARY", "CS_ERR_ACCESS", "CS_ERR_NOT_SUPPORTED",
                     "CS_ERR_TRY_AGAIN", "CS_ERR_NO_RESOURCES", "CS_ERR_NO_MEMORY",
                     "CS_ERR_INVALID_PARAM")


def errors_section(page):
    """{code: [text lines]} of a page's ERRORS list, without the alias lines."""
    section = page.split(".Sh ERRORS\n", 1)[1].split(".Sh ", 1)[0]
    errors, code = {}, None
    for line in section.splitlines():
        match = re.match(r"\.It Er (\S+)", line)
        if match:
            code = match.group(1)
            errors[code] = []
        elif code and not line.startswith((".", "Also spelled")):
            errors[code].append(line)
    return errors


class ErrorSectionTest(unittest.TestCase):
    def test_every_initialize_page_lists_the_errors_of_connecting(self):
        for idl_dir in (IDL_DIR, FEATURES_IDL):
            outputs = generate_dir(idl_dir)
            initializers = [f for f in load(idl_dir).all_functions()
                            if f.is_public and f.runtime_kind == "initialize"]
            self.assertTrue(initializers)
            for function in initializers:
                with self.subTest(function=function.name):
                    errors = errors_section(outputs[f"man/man3/{function.name}.3"])
                    for code in INITIALIZE_ERRORS:
                        self.assertIn(code, errors)

    def test_hand_written_initializers_are_described_by_the_runtime_data(self):
        page = generate_dir(FEATURES_IDL)["man/man3/feature_mode_initialize.3"]
        errors = errors_section(page)
        self.assertEqual(errors["CS_ERR_INVALID_PARAM"],
                         ["handle is NULL.", "mode is not a feature_mode_t value."])
        self.assertIn("connection's state in the daemon.", errors["CS_ERR_NO_RESOURCES"][-1])

    def test_no_page_says_the_same_thing_twice_about_an_error(self):
        for path, page in generate_dir(IDL_DIR).items():
            if ".Sh ERRORS" not in page:
                continue
            for code, lines in errors_section(page).items():
                sentences = re.split(r"(?<=\.)\s+", " ".join(lines))
                with self.subTest(page=path, code=code):
                    self.assertEqual(len(sentences), len(set(sentences)))

    def test_a_check_gives_the_stub_condition_and_the_page_sentence(self):
        program = load(FEATURES_IDL)
        function = program.find_function("feature_set_name")
        checks = rules.argument_checks(function)
        self.assertEqual([(c.condition(), c.cause, c.status) for c in checks], [
            ("name == NULL", "name is NULL", "CS_ERR_INVALID_PARAM"),
            ("!string_length_ok(name, 1, 15)", "name is shorter than 1 or longer than 15 bytes",
             "CS_ERR_INVALID_PARAM"),
        ])
        outputs = generate_dir(FEATURES_IDL)
        self.assertIn("\tif (name == NULL ||\n\t    !string_length_ok(name, 1, 15))\n"
                      "\t\treturn CS_ERR_INVALID_PARAM;\n",
                      outputs["generated/feature/feature-client.c"])
        self.assertEqual(errors_section(outputs["man/man3/feature_set_name.3"])
                         ["CS_ERR_INVALID_PARAM"],
                         ["name is NULL, or name is shorter than 1 or longer than 15 bytes."])


if __name__ == "__main__":
    unittest.main()
