#!/usr/bin/env python3
"""Checks one built library against corosync's export list kept in
tests/abi/exports: the soname, exactly the listed functions, each as the
default (@@) definition of its version node, and a man page for each. When
Debian's build of the same library is installed, the list is also held to it:
the same functions, and the version node of each one Debian versions.

With --missing the library has not been built by this tree: the check says
so and exits 77, which ctest reports as skipped."""
import argparse
import re
import subprocess
import sys
from pathlib import Path

SKIPPED = 77
DEBIAN_LIBDIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"]


def parse_list(path):
    """Returns (soname, {function: version node or None})."""
    soname = None
    functions = {}
    for line in Path(path).read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if fields[0] == "soname":
            soname = fields[1]
        else:
            name, node = fields
            functions[name] = None if node == "-" else node
    return soname, functions


def exported_symbols(library):
    """Returns {name: (version or None, is default)} of the defined global
    dynamic symbols, leaving out the version node definitions themselves."""
    out = subprocess.run(["readelf", "--dyn-syms", "--wide", library],
                         check=True, capture_output=True, text=True).stdout
    symbols = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 8 or fields[6] == "UND" or fields[4] != "GLOBAL":
            continue
        if fields[3] == "OBJECT" and fields[6] == "ABS":
            continue
        name, at, version = fields[7].partition("@")
        default = version.startswith("@") or not at
        symbols[name] = (version.lstrip("@") or None, default)
    return symbols


def soname(library):
    out = subprocess.run(["readelf", "-d", library], check=True, capture_output=True, text=True).stdout
    match = re.search(r"\(SONAME\)\s+Library soname: \[(.*)\]", out)
    return match.group(1) if match else None


def compare(exported, wanted):
    problems = []
    for name in sorted(set(exported) - set(wanted)):
        problems.append(f"exports {name}, which corosync does not")
    for name in sorted(set(wanted) - set(exported)):
        problems.append(f"does not export {name}")
    for name in sorted(set(wanted) & set(exported)):
        version, default = exported[name]
        if version != wanted[name]:
            problems.append(f"{name} has version {version or '(none)'}, "
                            f"expected {wanted[name] or '(none)'}")
        elif not default:
            problems.append(f"{name}@{version} is not the default definition (@@)")
    return problems


def check_library(library, wanted_soname, wanted, man_dir):
    problems = []
    if soname(library) != wanted_soname:
        problems.append(f"soname is {soname(library)}, expected {wanted_soname}")
    problems += compare(exported_symbols(library), wanted)
    for name in sorted(wanted):
        if not (Path(man_dir) / f"{name}.3").exists():
            problems.append(f"{name} has no man page {name}.3")
    return problems


def debian_library(wanted_soname):
    for directory in DEBIAN_LIBDIRS:
        path = Path(directory) / wanted_soname
        if path.exists():
            return path
    return None


def check_list_against_debian(wanted_soname, wanted):
    """Debian versions only some of the functions; the others are bound
    unversioned by its programs, which any version node satisfies."""
    library = debian_library(wanted_soname)
    if library is None:
        return None, []
    problems = []
    theirs = exported_symbols(str(library))
    for name in sorted(set(theirs) ^ set(wanted)):
        side = "Debian's" if name in theirs else "the list's"
        problems.append(f"{name} is only in {side} {wanted_soname}")
    for name in sorted(set(theirs) & set(wanted)):
        version = theirs[name][0]
        if version is not None and version != wanted[name]:
            problems.append(f"{name}: Debian's version {version}, the list's {wanted[name]}")
    return library, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("exports", help="tests/abi/exports/LIB.exports")
    parser.add_argument("library", nargs="?", help="the built library")
    parser.add_argument("man_dir", nargs="?")
    parser.add_argument("--missing", metavar="WHY", help="the library is not built, because WHY")
    args = parser.parse_args()
    wanted_soname, wanted = parse_list(args.exports)

    debian, problems = check_list_against_debian(wanted_soname, wanted)
    for problem in problems:
        print(f"{args.exports}: {problem}")
    if debian and not problems:
        print(f"{Path(args.exports).name}: agrees with Debian's {debian}")
    if args.missing:
        print(f"SKIPPED: {wanted_soname} is not built by this tree ({args.missing}); "
              f"the check turns on once it is")
        return 1 if problems else SKIPPED

    own = check_library(args.library, wanted_soname, wanted, args.man_dir)
    for problem in own:
        print(f"{args.library}: {problem}")
    problems += own
    print(f"{Path(args.library).name}: {len(wanted)} functions checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
