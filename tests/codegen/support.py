"""Paths and small helpers shared by the generator's tests."""

import os
import shutil
import subprocess
import tempfile

from codegen.__main__ import drift
from codegen.generate import api_headers_beside, generate
from codegen.program import load

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IDL_DIR = os.path.join(REPO, "idl")
FEATURES = os.path.join(REPO, "tests", "codegen", "features")
FEATURES_IDL = os.path.join(FEATURES, "idl")
FEATURES_EXPECTED = os.path.join(FEATURES, "expected")
REGENERATE_FEATURES = ("python3 -m codegen --idl-dir tests/codegen/features/idl "
                       "--out tests/codegen/features/expected")

WARNINGS = ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Wshadow", "-Wstrict-prototypes",
            "-Wmissing-prototypes", "-Werror"]


def generate_dir(idl_dir):
    return generate(load(idl_dir), api_headers_beside(idl_dir))


def drift_report(outputs, out_dir):
    differing, missing, extra = drift(outputs, out_dir)
    lines = [f"differs: {p}" for p in differing] + [f"missing: {p}" for p in missing] \
        + [f"extra: {p}" for p in extra]
    return "\n".join(lines)


def write_tree(outputs, root):
    for path, text in outputs.items():
        target = os.path.join(root, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as stream:
            stream.write(text)


def compiler():
    return shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, **kwargs)


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="codegen-test-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)
