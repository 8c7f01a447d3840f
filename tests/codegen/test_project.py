"""The generator run for another project (--import-dir): only that project's
files, imports from the installed IDL, a manifest, and no file removed that it
did not write."""

import io
import os
import shutil
import unittest
from contextlib import redirect_stderr, redirect_stdout

from codegen.__main__ import MANIFEST, main

from .support import IDL_DIR, REPO, TempDir

EXAMPLE_IDL = os.path.join(REPO, "examples", "counter", "idl")


def run_main(*args):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(list(args))
    return status, out.getvalue(), err.getvalue()


def files_under(root):
    return sorted(os.path.relpath(os.path.join(d, n), root).replace(os.sep, "/")
                  for d, _, names in os.walk(root) for n in names)


class ProjectTest(unittest.TestCase):
    def generate(self, idl_dir, out, *extra):
        return run_main("--idl-dir", idl_dir, "--import-dir", IDL_DIR, "--out", out, *extra)

    def test_writes_only_the_projects_service_and_says_so(self):
        with TempDir() as out:
            status, stdout, stderr = self.generate(EXAMPLE_IDL, out)
            self.assertEqual((status, stderr), (0, ""))
            written = files_under(out)
            self.assertIn("generated/include/counter.h", written)
            self.assertIn("generated/counter/counter-server.c", written)
            self.assertIn("man/man3/counter_add.3", written)
            self.assertIn(MANIFEST, written)
            for path in written:
                self.assertTrue(path == MANIFEST or "counter" in path, f"{path} is not the project's")
            self.assertEqual(sorted(line.split(" ", 1)[1] for line in stdout.splitlines()),
                             sorted(os.path.join(out, p) for p in written if p != MANIFEST))
            self.assertEqual(self.generate(EXAMPLE_IDL, out, "--check")[:2], (0, ""))
            self.assertEqual(self.generate(EXAMPLE_IDL, out)[:2], (0, ""), "a second run rewrites nothing")

    def test_one_service_of_a_directory(self):
        with TempDir() as work:
            idl_dir, out = os.path.join(work, "idl"), os.path.join(work, "out")
            shutil.copytree(EXAMPLE_IDL, idl_dir)
            with open(os.path.join(EXAMPLE_IDL, "counter.idl")) as stream:
                text = stream.read()
            with open(os.path.join(idl_dir, "gauge.idl"), "w") as stream:
                stream.write(text.replace("counter", "gauge").replace("Counter", "Gauge").replace("COUNTER", "GAUGE")
                             .replace("id 200;", "id 201;"))
            status, stdout, stderr = run_main("--idl", os.path.join(idl_dir, "counter.idl"),
                                              "--import-dir", IDL_DIR, "--out", out)
            self.assertEqual((status, stderr), (0, ""))
            written = files_under(out)
            self.assertIn("generated/counter/counter-server.c", written)
            self.assertEqual([p for p in written if "gauge" in p], [])
            # the directory's files together: both services
            self.assertEqual(self.generate(idl_dir, out)[0], 0)
            self.assertIn("generated/gauge/gauge-server.c", files_under(out))

    def test_removes_only_what_it_wrote_before(self):
        with TempDir() as work:
            idl_dir, out = os.path.join(work, "idl"), os.path.join(work, "out")
            shutil.copytree(EXAMPLE_IDL, idl_dir)
            os.makedirs(os.path.join(out, "man/man3"))
            theirs = ["man/man3/theirs.3", "generated/theirs.h"]
            for path in theirs:
                os.makedirs(os.path.dirname(os.path.join(out, path)), exist_ok=True)
                open(os.path.join(out, path), "w").close()
            self.assertEqual(self.generate(idl_dir, out)[0], 0)
            idl_path = os.path.join(idl_dir, "counter.idl")
            with open(idl_path) as stream:
                text = stream.read()
            start = text.index("function cs_error_t counter_get(")
            end = text.index("function cs_error_t counter_trackstart(")
            with open(idl_path, "w") as stream:
                stream.write(text[:start] + text[end:])
            status, stdout, _ = self.generate(idl_dir, out)
            self.assertEqual(status, 0)
            self.assertIn(f"removed {os.path.join(out, 'man/man3/counter_get.3')}", stdout)
            self.assertFalse(os.path.exists(os.path.join(out, "man/man3/counter_get.3")))
            for path in theirs:
                self.assertTrue(os.path.exists(os.path.join(out, path)), f"{path} was removed")

    def test_compat_finds_imports_in_the_import_dir(self):
        with TempDir() as work:
            new = os.path.join(work, "counter.idl")
            with open(os.path.join(EXAMPLE_IDL, "counter.idl")) as stream:
                text = stream.read()
            with open(new, "w") as stream:
                stream.write(text.replace("request 2;", "request 3;"))
            status, stdout, stderr = run_main("--idl-dir", work, "--import-dir", IDL_DIR, "--compat",
                                              os.path.join(EXAMPLE_IDL, "counter.idl"), new)
            self.assertEqual((status, stderr), (1, ""))
            self.assertIn("breaking", stdout)

    def test_an_import_found_nowhere_is_an_error(self):
        with TempDir() as work:
            status, _, stderr = run_main("--idl-dir", EXAMPLE_IDL, "--import-dir", work, "--out", work)
            self.assertEqual(status, 1)
            self.assertIn("cannot import 'common.idl'", stderr)


if __name__ == "__main__":
    unittest.main()
