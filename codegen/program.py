"""Loading a directory of IDL files into one validated program."""

import os

from . import parser
from .diagnostics import IdlError
from .model import STATUS_TYPE, Enum
from .validate import check_service_ids, validate


class Program:
    """All IDL files of one directory, parsed, linked by their imports, validated."""

    def __init__(self, files, own=None):
        self.files = files
        # The files to generate for: all, or those of the project's own
        # directory when the others were imported from an installed IDL directory.
        self.own = files if own is None else own

    @property
    def common(self):
        return next((f for f in self.files if f.service.is_common), None)

    @property
    def services(self):
        return [f for f in self.files if not f.service.is_common]

    def all_functions(self):
        return [fn for f in self.files for fn in f.functions]

    def find_function(self, name):
        return next((fn for fn in self.all_functions() if fn.name == name), None)

    def status_enum(self, idl_file):
        """The cs_error_t enum visible from idl_file."""
        for candidate in [idl_file] + idl_file.imported:
            for enum in candidate.of_type(Enum):
                if enum.name == STATUS_TYPE:
                    return enum
        return None


def load(idl_dir, import_dirs=()):
    """Parses and validates every `*.idl` file of idl_dir (sorted by name).
    An import not in idl_dir is read from the first of import_dirs that has it
    (another project's IDL importing the installed common.idl); the program
    then generates for idl_dir's files only."""
    names = sorted(n for n in os.listdir(idl_dir) if n.endswith(".idl"))
    display_dir = os.path.basename(os.path.normpath(os.path.abspath(idl_dir)))
    own = [parse_path(os.path.normpath(os.path.join(idl_dir, name)), f"{display_dir}/{name}")
           for name in names]
    files = own + _imported_files(own, import_dirs)
    link_imports(files, ", ".join([idl_dir, *import_dirs]))
    validate(files)
    check_service_ids(files)
    return Program(files, own if import_dirs else None)


def load_service(idl_path, import_dirs=()):
    """Parses and validates one service's IDL file and what it imports: the
    files of its own directory it imports (directly or not) are generated
    with it, as the project's; the rest come from import_dirs. Other IDL
    files of that directory are not read."""
    idl_dir = os.path.dirname(os.path.abspath(idl_path))
    display_dir = os.path.basename(idl_dir)
    own = [parse_path(os.path.normpath(idl_path), f"{display_dir}/{os.path.basename(idl_path)}")]
    pending = list(own)
    while pending:
        for name, _ in pending.pop().imports:
            path = os.path.join(idl_dir, name)
            if name in {os.path.basename(f.path) for f in own} or not os.path.isfile(path):
                continue
            own.append(parse_path(os.path.normpath(path), f"{display_dir}/{name}"))
            pending.append(own[-1])
    files = own + _imported_files(own, import_dirs)
    link_imports(files, ", ".join([idl_dir, *import_dirs]))
    validate(files)
    check_service_ids(files)
    return Program(files, own)


def _imported_files(own, import_dirs):
    """The files own imports (directly or not) that are not among own, from import_dirs."""
    known = {os.path.basename(f.path) for f in own}
    found = []
    pending = list(own)
    while pending:
        for name, _ in pending.pop().imports:
            path = next((os.path.join(d, name) for d in import_dirs
                         if os.path.isfile(os.path.join(d, name))), None)
            if name in known or path is None:
                continue
            known.add(name)
            imported = parse_path(os.path.normpath(path), path)
            found.append(imported)
            pending.append(imported)
    return found


def load_file(path, search_dirs, documentation_rules=True):
    """Parses and validates one IDL file and the files it imports, found beside
    it or else in search_dirs; returns that file."""
    loaded = {}
    pending = [(os.path.normpath(path), None)]
    while pending:
        current, pos = pending.pop()
        key = os.path.realpath(current)
        if key in loaded:
            continue
        if pos is not None and not os.path.isfile(current):
            raise IdlError(pos, f"cannot import '{os.path.basename(current)}': no such file "
                           f"beside {path} or in {', '.join(search_dirs)}")
        loaded[key] = parse_path(current, current)
        for name, import_pos in loaded[key].imports:
            pending.append((_find_import(name, os.path.dirname(current), search_dirs), import_pos))
    files = list(loaded.values())
    link_imports_by_name(files)
    validate(files, documentation_rules)
    return files[0]


def _find_import(name, directory, search_dirs):
    for candidate in [directory, *search_dirs]:
        if os.path.isfile(os.path.join(candidate, name)):
            return os.path.join(candidate, name)
    return os.path.join(directory, name)


def parse_path(path, display_path):
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    return parser.parse(text, path, display_path)


def link_imports(files, idl_dir):
    by_name = {os.path.basename(f.path): f for f in files}
    for idl_file in files:
        for name, pos in idl_file.imports:
            if name not in by_name:
                raise IdlError(pos, f"cannot import '{name}': no such file in {idl_dir}")
    link_imports_by_name(files)


def link_imports_by_name(files):
    """Links each file to the files its imports name (all among `files`)."""
    by_name = {os.path.basename(f.path): f for f in files}
    for idl_file in files:
        for name, pos in idl_file.imports:
            imported = by_name[name]
            if imported is idl_file:
                raise IdlError(pos, f"'{name}' imports itself")
            idl_file.imported.append(imported)
