"""The `strerror` functions: an enum value to its name, as a static string."""

from . import ctext
from ..model import STRERROR

SUCCESS_NAME = "CS_OK"


def emit(program, idl_file):
    service = idl_file.service
    return {f"generated/{service.output_dir}/{f.name}.c": source(idl_file, f)
            for f in idl_file.functions if f.kind == STRERROR}


def source(idl_file, function):
    enum = function.params[0].ctype.definition
    param = function.params[0].name
    cases = "".join(f"\tcase {e.name}:\n\t\treturn \"{_text(e.name)}\";\n"
                    for e in enum.enumerators)
    signature = ctext.function_signature(function)
    return (ctext.c_notice(idl_file)
            + f"#include <{idl_file.service.header}>\n\n"
            + "/* Exported from the library whatever the default symbol visibility. */\n"
            + f"__attribute__((visibility(\"default\"))) {signature};\n\n"
            + f"{signature}\n{{\n"
            + f"\tswitch ({param}) {{\n{cases}\t}}\n"
            + "\treturn \"unknown error\";\n}\n")


def _text(name):
    return "success" if name == SUCCESS_NAME else name
