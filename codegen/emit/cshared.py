"""Pieces common to the generated client and server sources."""

from .. import naming


def abi_gate(macro, value, filename):
    return (f"#if {macro} != {value}\n"
            f"#error \"{filename} was generated for {macro} {value}; "
            f"regenerate it with python3 -m codegen\"\n"
            f"#endif\n")


def ids_block(idl_file):
    """Request and event ids, shared by S-client.h and S-server.h under one guard."""
    service = idl_file.service
    guard = naming.ids_guard(service)
    requests = sorted(idl_file.remote_functions, key=lambda f: f.request_id)
    events = idl_file.event_callbacks
    out = [f"#ifndef {guard}\n#define {guard}\n"]
    out.append(_id_enum(f"{service.name}_request_id",
                        [(naming.request_id(f), f.request_id) for f in requests]))
    out.append(f"#define {naming.request_count(service)} "
               f"{requests[-1].request_id + 1 if requests else 0}\n")
    out.append(_id_enum(f"{service.name}_event_id",
                        [(naming.event_id(c), c.event_id) for c in events]))
    out.append(f"#define {naming.event_count(service)} "
               f"{events[-1].event_id + 1 if events else 0}\n")
    out.append(f"#endif /* {guard} */\n")
    return "".join(out)


def _id_enum(name, entries):
    if not entries:
        return ""
    body = "".join(f"\t{entry} = {number},\n" for entry, number in entries)
    return f"\nenum {name} {{\n{body}}};\n"


def string_length_helper():
    return ("/* True when s holds between min and max bytes before its NUL; reads at most\n"
            " * max + 1 bytes. */\n"
            "static bool string_length_ok(const char *s, size_t min, size_t max)\n"
            "{\n"
            "\tsize_t length = strnlen(s, max + 1);\n"
            "\n"
            "\treturn length >= min && length <= max;\n"
            "}\n")
