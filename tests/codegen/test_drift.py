"""The committed generated/ and man/man3/ are what the real IDL gives, and the
command line's --check and write modes behave."""

import io
import os
import unittest
from contextlib import redirect_stderr, redirect_stdout

from codegen.__main__ import main

from .support import IDL_DIR, REPO, TempDir, drift_report, generate_dir, write_tree


class CommittedOutputTest(unittest.TestCase):
    def test_committed_files_match_the_idl(self):
        report = drift_report(generate_dir(IDL_DIR), REPO)
        self.assertEqual(report, "", f"\n{report}\nRun: python3 -m codegen --idl-dir idl --out .")


class CommandLineTest(unittest.TestCase):
    def run_main(self, *args):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            status = main(list(args))
        return status, out.getvalue(), err.getvalue()

    def test_write_then_check_is_clean(self):
        with TempDir() as out:
            self.assertEqual(self.run_main("--idl-dir", IDL_DIR, "--out", out)[0], 0)
            status, stdout, _ = self.run_main("--idl-dir", IDL_DIR, "--out", out, "--check")
            self.assertEqual((status, stdout), (0, ""))

    def test_check_names_differing_missing_and_extra_files(self):
        with TempDir() as out:
            write_tree(generate_dir(IDL_DIR), out)
            with open(os.path.join(out, "generated/quorum/quorum.proto"), "a") as stream:
                stream.write("// edited\n")
            os.remove(os.path.join(out, "man/man3/quorum_dispatch.3"))
            with open(os.path.join(out, "generated/stale.h"), "w") as stream:
                stream.write("")
            status, stdout, _ = self.run_main("--idl-dir", IDL_DIR, "--out", out, "--check")
            self.assertEqual(status, 1)
            self.assertEqual(stdout, "differs: generated/quorum/quorum.proto\n"
                                     "missing: man/man3/quorum_dispatch.3\n"
                                     "extra: generated/stale.h\n")

    def test_write_removes_stale_files_it_owns(self):
        with TempDir() as out:
            os.makedirs(os.path.join(out, "generated/gone"))
            for stale in ("generated/gone/old.c", "man/man3/old_function.3"):
                os.makedirs(os.path.dirname(os.path.join(out, stale)), exist_ok=True)
                open(os.path.join(out, stale), "w").close()
            self.run_main("--idl-dir", IDL_DIR, "--out", out)
            self.assertFalse(os.path.exists(os.path.join(out, "generated/gone")))
            self.assertFalse(os.path.exists(os.path.join(out, "man/man3/old_function.3")))

    def test_errors_exit_1_with_the_position(self):
        with TempDir() as idl:
            with open(os.path.join(idl, "x.idl"), "w") as stream:
                stream.write("service x {\n  bogus;\n}\n")
            status, _, stderr = self.run_main("--idl-dir", idl, "--out", idl, "--check")
            self.assertEqual(status, 1)
            self.assertEqual(stderr, f"{idl}/x.idl:2:3: error: unknown service statement 'bogus'\n")


if __name__ == "__main__":
    unittest.main()
