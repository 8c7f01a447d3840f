"""What the generated pages say: the errors of each function, from one source."""

import glob
import os
import re
import shutil
import unittest

from codegen import rules
from codegen.program import load

from .support import FEATURES_IDL, IDL_DIR, REPO, generate_dir, run

IDL_PAGE = os.path.join(REPO, "man", "man5", "conclave-idl.5")
RENDERERS = {"mandoc": ["mandoc", "-Tutf8"], "groff": ["groff", "-man", "-Tutf8", "-ww", "-P-c"]}

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


def see_also(page):
    """The page names of a page's SEE ALSO section, as `name(N)`."""
    section = page.split(".Sh SEE ALSO\n", 1)[1]
    return {line.rstrip(",") for line in section.splitlines()}


class SeeAlsoTest(unittest.TestCase):
    def test_every_function_page_lists_the_life_cycle_of_its_service(self):
        outputs = generate_dir(IDL_DIR)
        for idl_file in load(IDL_DIR).services:
            lifecycle = {f"{f.name}(3)" for f in idl_file.public_functions
                         if f.runtime_kind in ("initialize", "finalize", "fd_get", "dispatch")}
            if idl_file.service.handle:
                self.assertGreaterEqual(len(lifecycle), 4, idl_file.service.name)
            else:   # libsam: process-wide, no handle, no fd, no dispatch
                self.assertEqual(lifecycle, set(), idl_file.service.name)
            for function in idl_file.public_functions:
                refs = see_also(outputs[f"man/man3/{function.name}.3"])
                with self.subTest(page=function.name):
                    self.assertIn(f"{idl_file.service.name}_overview(3)", refs)
                    self.assertLessEqual(lifecycle - {f"{function.name}(3)"}, refs)

    def test_a_page_lists_the_functions_of_its_name_group(self):
        outputs = generate_dir(IDL_DIR)
        for page, group in [("cmap_get_int8", {"cmap_get(3)", "cmap_get_string(3)"}),
                            ("cpg_zcb_alloc", {"cpg_zcb_free(3)", "cpg_zcb_mcast_joined(3)"}),
                            ("votequorum_qdevice_poll", {"votequorum_qdevice_register(3)"})]:
            with self.subTest(page=page):
                refs = see_also(outputs[f"man/man3/{page}.3"])
                self.assertLessEqual(group, refs)
                self.assertNotIn("cpg_iteration_initialize(3)", refs)

    def test_a_page_with_the_poll_loop_points_to_poll(self):
        outputs = generate_dir(IDL_DIR)
        self.assertIn("poll(2)", see_also(outputs["man/man3/cpg_dispatch.3"]))
        self.assertNotIn("poll(2)", see_also(outputs["man/man3/cpg_join.3"]))


def render(renderer, path):
    """(text without overstriking, warnings) of one page."""
    result = run(RENDERERS[renderer] + [path])
    return re.sub(r".\x08", "", result.stdout), result.stderr


class RenderingTest(unittest.TestCase):
    """The pages read as written under both renderers: man-db uses groff,
    the BSDs and the lint test mandoc."""

    def setUp(self):
        missing = [name for name, args in RENDERERS.items() if shutil.which(args[0]) is None]
        if missing:
            why = f"{', '.join(missing)} not installed (Debian: groff-base, mandoc)"
            if os.environ.get("CI") == "true":
                self.fail(why)
            self.skipTest(why)

    def test_the_idl_page_shows_its_syntax_lines_whole(self):
        expected = [
            'header "path" guard MACRO;',
            'library name soname N version "x.y.z" [node NODE];',
            'import "file";',
            '(""" ... """)',
            "--out . and read",
        ]
        for renderer in RENDERERS:
            text, warnings = render(renderer, IDL_PAGE)
            with self.subTest(renderer=renderer):
                self.assertEqual(warnings, "")
                flat = " ".join(text.split())
                for line in expected:
                    self.assertIn(line, flat)

    def test_the_wire_mapping_table_keeps_its_columns_apart(self):
        for renderer in RENDERERS:
            text, _ = render(renderer, IDL_PAGE)
            table = text.split("Types map as follows:")[1].split("Typedefs map")[0]
            rows = [line.strip() for line in table.splitlines() if line.strip()]
            with self.subTest(renderer=renderer):
                self.assertEqual(len(rows), 18)
                for row in rows:
                    self.assertRegex(row.expandtabs(8), r"\S {2,}\S", row)

    def test_every_page_renders_without_warnings(self):
        pages = sorted(glob.glob(os.path.join(REPO, "man", "man*", "*.[0-9]")))
        self.assertGreater(len(pages), 100)
        if run(RENDERERS["groff"] + pages).stderr == "":    # one run for all, while clean
            return
        for path in pages:
            with self.subTest(page=os.path.basename(path)):
                self.assertEqual(render("groff", path)[1], "")


if __name__ == "__main__":
    unittest.main()
