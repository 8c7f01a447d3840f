#!/usr/bin/env python3
"""Checks one built library against its generated linker map: the soname, the
exported symbols (exactly the map's, each with the map's version node) and a
man page for every exported symbol."""
import argparse
import re
import subprocess
import sys
from pathlib import Path


def parse_map(path):
    """Returns (version node or None, set of global symbols)."""
    text = re.sub(r"#.*", "", Path(path).read_text())
    node = re.match(r"\s*([A-Za-z0-9_.]*)\s*{", text)
    globals_part = re.search(r"global:(.*?)(local:|})", text, re.S)
    symbols = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*;", globals_part.group(1)))
    return (node.group(1) or None), symbols


def exported_symbols(library):
    """Returns {name: version or None} of the defined dynamic symbols."""
    out = subprocess.run(["readelf", "--dyn-syms", "--wide", library],
                         check=True, capture_output=True, text=True).stdout
    symbols = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 8 or fields[6] == "UND" or fields[4] != "GLOBAL":
            continue
        name, _, version = fields[7].partition("@")
        symbols[name] = version.lstrip("@") or None
    return symbols


def soname(library):
    out = subprocess.run(["readelf", "-d", library], check=True, capture_output=True, text=True).stdout
    match = re.search(r"\(SONAME\)\s+Library soname: \[(.*)\]", out)
    return match.group(1) if match else None


def check(library, map_path, man_dir, expected_soname):
    problems = []
    node, wanted = parse_map(map_path)
    exported = exported_symbols(library)
    if soname(library) != expected_soname:
        problems.append(f"soname is {soname(library)}, expected {expected_soname}")
    for name in sorted(set(exported) - wanted):
        if node is None or name != node:
            problems.append(f"exports {name}, which the map does not list")
    for name in sorted(wanted - set(exported)):
        problems.append(f"does not export {name}, which the map lists")
    for name in sorted(wanted & set(exported)):
        if exported[name] != node:
            problems.append(f"{name} has version {exported[name]}, expected {node}")
        if not (Path(man_dir) / f"{name}.3").exists():
            problems.append(f"{name} has no man page {name}.3")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("library")
    parser.add_argument("map")
    parser.add_argument("man_dir")
    parser.add_argument("soname")
    args = parser.parse_args()
    problems = check(args.library, args.map, args.man_dir, args.soname)
    for problem in problems:
        print(f"{args.library}: {problem}")
    wanted = parse_map(args.map)[1]
    print(f"{Path(args.library).name}: {len(wanted)} symbols checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
