"""The public header, generated/include/<header>: ABI- and API-identical to corosync's."""

from ..model import Alias, Callback, Define, Function, Struct
from . import ctext


def emit(program, idl_file):
    service = idl_file.service
    parts = [
        ctext.c_notice(idl_file),
        ctext.c_comment(service.doc),
        f"#ifndef {service.guard}\n#define {service.guard}\n\n",
        "".join(f"#include {header}\n" for header in service.includes),
        '\n#ifdef __cplusplus\nextern "C" {\n#endif\n',
        _definitions(idl_file),
        "\n#ifdef __cplusplus\n}\n#endif\n",
        f"\n#endif /* {service.guard} */\n",
    ]
    return {f"generated/include/{service.header}": "".join(parts)}


def _definitions(idl_file):
    out = []
    previous = None
    for item in idl_file.items:
        if isinstance(item, (Function, Callback)) and not item.is_public:
            continue
        if isinstance(item, Struct) and item.external:
            continue
        grouped = isinstance(item, (Define, Alias)) and type(item) is type(previous) \
            and not item.doc and not previous.doc
        if not grouped:
            out.append("\n")
        out.append(ctext.c_comment(_comment(item)) if hasattr(item, "doc") else "")
        out.append(ctext.definition_text(item))
        previous = item
    return "".join(out)


def _comment(item):
    """An item's doc; for a function, followed by what its caller frees."""
    note = ctext.ownership_note(item) if isinstance(item, Function) else ""
    return "\n\n".join(text for text in (item.doc, note) if text)
