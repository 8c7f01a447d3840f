"""python3 -m codegen --idl-dir idl --out . [--check]
python3 -m codegen --idl-dir DIR --import-dir SHARE/conclave/idl --out OUT [--check]
python3 -m codegen --idl FILE --import-dir SHARE/conclave/idl --out OUT [--check]
python3 -m codegen [--idl-dir idl] --compat OLD.idl NEW.idl"""

import argparse
import os
import sys

from .compat import BREAKING, compare
from .diagnostics import IdlError
from .generate import GENERATED_NOTICE, OWNED_DIRS, SHARED_DIRS, api_headers_beside, generate
from .program import load, load_file, load_service


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python3 -m codegen",
        description="Generate headers, stubs, tables, maps and man pages from the IDL.")
    parser.add_argument("--idl-dir", default="idl", help="directory of *.idl files (default: idl)")
    parser.add_argument("--out", default=".", help="directory to write generated/, man/man3/ and "
                        "man/man7/ under (conclave-service(7) and conclave-client-runtime(7) come from "
                        "include/conclave/service.h and client-runtime.h beside the IDL directory, "
                        "when there is one)")
    parser.add_argument("--idl", metavar="FILE",
                        help="generate FILE's service only, with the files of its directory it "
                             "imports, instead of every file of --idl-dir")
    parser.add_argument("--import-dir", action="append", default=[], metavar="DIR",
                        help="another project's IDL: read imports not in --idl-dir from DIR "
                             "(the installed share/conclave/idl), generate for --idl-dir's "
                             "services only, and remove only files the last run wrote, "
                             f"as listed in OUT/{MANIFEST}")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and list every file that differs")
    parser.add_argument("--compat", nargs=2, metavar=("OLD", "NEW"),
                        help="compare two versions of an IDL file (imports are found beside "
                             "each, then in --idl-dir and each --import-dir); exit 1 when a change breaks programs "
                             "or the wire")
    return parser.parse_args(argv)


# Another project's generated files, listed by the run that wrote them.
MANIFEST = ".conclave-codegen-manifest"


def manifest_files(out_dir):
    text = read_text(os.path.join(out_dir, MANIFEST)) or ""
    return {line for line in text.splitlines() if line}


def existing_files(out_dir):
    """Relative paths of every file under the owned directories, and of every
    generated one under the shared directories."""
    found = set()
    for owned in OWNED_DIRS + SHARED_DIRS:
        root = os.path.join(out_dir, owned)
        for directory, _, names in os.walk(root):
            for name in names:
                path = os.path.join(directory, name)
                if owned in OWNED_DIRS or is_generated(path):
                    found.add(os.path.relpath(path, out_dir).replace(os.sep, "/"))
    return found


def is_generated(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            return GENERATED_NOTICE in stream.readline()
    except OSError:
        return False


def read_text(path):
    try:
        with open(path, encoding="utf-8", newline="") as stream:
            return stream.read()
    except (OSError, UnicodeDecodeError):
        return None


def drift(outputs, out_dir, project=False):
    """(differing, missing, extra) relative paths."""
    existing = existing_files(out_dir) if not project else \
        {p for p in manifest_files(out_dir) | set(outputs) if os.path.isfile(os.path.join(out_dir, p))}
    differing = [p for p in outputs if p in existing
                 and read_text(os.path.join(out_dir, p)) != outputs[p]]
    missing = [p for p in outputs if p not in existing]
    extra = sorted(existing - set(outputs))
    return differing, missing, extra


def check(outputs, out_dir, project=False):
    differing, missing, extra = drift(outputs, out_dir, project)
    for label, paths in (("differs", differing), ("missing", missing), ("extra", extra)):
        for path in paths:
            print(f"{label}: {path}")
    if differing or missing or extra:
        print("generated files are out of date: run python3 -m codegen", file=sys.stderr)
        return 1
    return 0


def write(outputs, out_dir, project=False):
    """Writes outputs under out_dir and removes the files of the last run that
    are no longer made: for Conclave every other file of OWNED_DIRS, for
    another project those its manifest lists, which is then rewritten; prints
    each path written or removed in project mode."""
    stale = (manifest_files(out_dir) if project else existing_files(out_dir)) - set(outputs)
    for path in sorted(stale):
        if os.path.isfile(os.path.join(out_dir, path)):
            os.remove(os.path.join(out_dir, path))
            if project:
                print(f"removed {os.path.join(out_dir, path)}")
    for owned in () if project else OWNED_DIRS:
        remove_empty_dirs(os.path.join(out_dir, owned))
    for path, text in outputs.items():
        target = os.path.join(out_dir, path)
        if read_text(target) == text:
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        if project:
            print(f"wrote {target}")
    if project:
        with open(os.path.join(out_dir, MANIFEST), "w", encoding="utf-8") as stream:
            stream.write("".join(f"{path}\n" for path in outputs))
    return 0


def remove_empty_dirs(root):
    for directory, _, _ in sorted(os.walk(root), key=lambda entry: -len(entry[0])):
        if directory != root and not os.listdir(directory):
            os.rmdir(directory)


def reporting_errors(action, failure):
    """(action(), None), or (None, failure) once the IDL or file error is printed."""
    try:
        return action(), None
    except IdlError as error:
        print(error, file=sys.stderr)
    except OSError as error:
        print(f"{error.filename}: error: {error.strerror}", file=sys.stderr)
    return None, failure


def compat(old_path, new_path, search_dirs):
    """Prints one line per change between two versions of an IDL file; 0 when
    every change is compatible, 1 when one breaks, 2 when either cannot be read."""
    def findings():
        old, new = (load_file(path, search_dirs, documentation_rules=False)
                    for path in (old_path, new_path))
        return compare(old, new)

    found, failed = reporting_errors(findings, 2)
    if failed:
        return failed
    for finding in found:
        print(finding)
    return 1 if any(f.kind == BREAKING for f in found) else 0


def main(argv=None):
    args = parse_args(argv)
    if args.compat:
        return compat(*args.compat, [args.idl_dir, *args.import_dir])
    project = bool(args.import_dir or args.idl)
    headers = () if project else api_headers_beside(args.idl_dir)
    def program():
        if args.idl:
            return load_service(args.idl, args.import_dir)
        return load(args.idl_dir, args.import_dir)

    outputs, failed = reporting_errors(lambda: generate(program(), headers), 1)
    if failed:
        return failed
    if args.check:
        return check(outputs, args.out, project)
    return write(outputs, args.out, project)


if __name__ == "__main__":
    sys.exit(main())
