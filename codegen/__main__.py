"""python3 -m codegen --idl-dir idl --out . [--check]"""

import argparse
import os
import sys

from .diagnostics import IdlError
from .generate import OWNED_DIRS, generate
from .program import load


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python3 -m codegen",
        description="Generate headers, stubs, tables, maps and man pages from the IDL.")
    parser.add_argument("--idl-dir", default="idl", help="directory of *.idl files (default: idl)")
    parser.add_argument("--out", default=".", help="directory to write generated/ and man/man3/ under")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and list every file that differs")
    return parser.parse_args(argv)


def existing_files(out_dir):
    """Relative paths of every file under the owned directories."""
    found = set()
    for owned in OWNED_DIRS:
        root = os.path.join(out_dir, owned)
        for directory, _, names in os.walk(root):
            for name in names:
                path = os.path.join(directory, name)
                found.add(os.path.relpath(path, out_dir).replace(os.sep, "/"))
    return found


def read_text(path):
    try:
        with open(path, encoding="utf-8", newline="") as stream:
            return stream.read()
    except (OSError, UnicodeDecodeError):
        return None


def drift(outputs, out_dir):
    """(differing, missing, extra) relative paths."""
    existing = existing_files(out_dir)
    differing = [p for p in outputs if p in existing
                 and read_text(os.path.join(out_dir, p)) != outputs[p]]
    missing = [p for p in outputs if p not in existing]
    extra = sorted(existing - set(outputs))
    return differing, missing, extra


def check(outputs, out_dir):
    differing, missing, extra = drift(outputs, out_dir)
    for label, paths in (("differs", differing), ("missing", missing), ("extra", extra)):
        for path in paths:
            print(f"{label}: {path}")
    if differing or missing or extra:
        print("generated files are out of date: run python3 -m codegen", file=sys.stderr)
        return 1
    return 0


def write(outputs, out_dir):
    for path in existing_files(out_dir) - set(outputs):
        os.remove(os.path.join(out_dir, path))
    for owned in OWNED_DIRS:
        remove_empty_dirs(os.path.join(out_dir, owned))
    for path, text in outputs.items():
        target = os.path.join(out_dir, path)
        if read_text(target) == text:
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
    return 0


def remove_empty_dirs(root):
    for directory, _, _ in sorted(os.walk(root), key=lambda entry: -len(entry[0])):
        if directory != root and not os.listdir(directory):
            os.rmdir(directory)


def main(argv=None):
    args = parse_args(argv)
    try:
        outputs = generate(load(args.idl_dir))
    except IdlError as error:
        print(error, file=sys.stderr)
        return 1
    except OSError as error:
        print(f"{args.idl_dir}: error: {error.strerror}: {error.filename}", file=sys.stderr)
        return 1
    if args.check:
        return check(outputs, args.out)
    return write(outputs, args.out)


if __name__ == "__main__":
    sys.exit(main())
