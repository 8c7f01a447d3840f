"""Loading a directory of IDL files into one validated program."""

import os

from . import parser
from .diagnostics import IdlError
from .model import STATUS_TYPE, Enum
from .validate import validate


class Program:
    """All IDL files of one directory, parsed, linked by their imports, validated."""

    def __init__(self, files):
        self.files = files

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


def load(idl_dir):
    """Parses and validates every `*.idl` file of idl_dir (sorted by name)."""
    names = sorted(n for n in os.listdir(idl_dir) if n.endswith(".idl"))
    display_dir = os.path.basename(os.path.normpath(os.path.abspath(idl_dir)))
    files = [parse_path(os.path.normpath(os.path.join(idl_dir, name)), f"{display_dir}/{name}")
             for name in names]
    link_imports(files, idl_dir)
    validate(files)
    return Program(files)


def parse_path(path, display_path):
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    return parser.parse(text, path, display_path)


def link_imports(files, idl_dir):
    by_name = {os.path.basename(f.path): f for f in files}
    for idl_file in files:
        for name, pos in idl_file.imports:
            imported = by_name.get(name)
            if imported is None:
                raise IdlError(pos, f"cannot import '{name}': no such file in {idl_dir}")
            if imported is idl_file:
                raise IdlError(pos, f"'{name}' imports itself")
            idl_file.imported.append(imported)
