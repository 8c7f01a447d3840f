"""generated/S/S-server.h and S-server.c: ids, typed handler prototypes and
event senders for the service code, and the request table conclaved runs."""

from .. import naming, rules
from ..model import DEFAULT_LENGTH_ERROR, ONEWAY, REQUEST_FLAGS
from . import ctext
from .catalog import catalog_field, catalog_include
from .cshared import abi_gate, ids_block, string_length_helper

SERVICE_API = 4


def emit(program, idl_file):
    service = idl_file.service
    directory = f"generated/{service.output_dir}"
    return {
        f"{directory}/{naming.server_header(service)}": server_header(idl_file),
        f"{directory}/{service.name}-server.c": server_source(idl_file),
    }


def requests(idl_file):
    return sorted(idl_file.remote_functions, key=lambda f: f.request_id)


def events(idl_file):
    return idl_file.event_callbacks


# ---- S-server.h ------------------------------------------------------------

def handler_prototype(function):
    request = naming.request_message(function)
    params = ["struct cv_session *s", f"const {request} *request"]
    if function.kind != ONEWAY:
        params.append(f"{naming.reply_message(function)} *reply")
    return ctext.wrap_call(f"cs_error_t {naming.handler(function)}", params, ";") + "\n"


def sender(callback):
    message = naming.event_message(callback)
    head = ctext.wrap_call(f"static inline cs_error_t {naming.sender(callback)}",
                           ["struct cv_session *s", f"const {message} *event"], "")
    return (f"{head}\n{{\n"
            f"\treturn cv_session_send_event(s, {naming.event_id(callback)}, &event->base);\n"
            f"}}\n")


def server_header(idl_file):
    service = idl_file.service
    guard = f"CONCLAVE_{service.name.upper()}_SERVER_H"
    handlers = "\n".join(f"{ctext.c_comment(f'{f.name}(): {ctext.first_sentence(f.doc)}')}"
                         f"{handler_prototype(f)}" for f in requests(idl_file))
    senders = "".join("\n" + sender(c) for c in events(idl_file))
    parts = [
        ctext.c_notice(idl_file),
        ctext.c_comment(f"What the hand-written {service.name} service code "
                        f"(src/services/{service.name}.c) implements and calls: one handler "
                        f"per request, one typed sender per event, and its hooks "
                        f"{naming.service_ops(service)}."),
        f"#ifndef {guard}\n#define {guard}\n\n",
        f"#include <conclave/service.h>\n\n#include \"{naming.pb_header(service)}\"\n\n",
        abi_gate("CV_SERVICE_API", SERVICE_API, naming.server_header(service)),
        "\n", ids_block(idl_file), "\n",
        "/* Request handlers return CS_OK with the reply filled in, or the error to reply with. */\n\n",
        handlers,
        senders,
        f"\nextern const struct cv_service_ops {naming.service_ops(service)};\n",
        f"extern const struct cv_server_service {naming.server_service(service)};\n",
        f"\n#endif /* {guard} */\n",
    ]
    return "".join(parts)


# ---- S-server.c ------------------------------------------------------------

def server_source(idl_file):
    service = idl_file.service
    functions = requests(idl_file)
    validators = [v for v in (_validator(f) for f in functions) if v]
    parts = [
        ctext.c_notice(idl_file),
        "#include <stdbool.h>\n#include <stddef.h>\n#include <string.h>\n\n",
        f"#include <{service.header}>\n",
        f"#include \"{naming.server_header(service)}\"\n",
        catalog_include(idl_file) + "\n",
        abi_gate("CV_SERVICE_API", SERVICE_API, f"{service.name}-server.c"),
        "\n" + string_length_helper() if validators else "",
        "".join("\n" + _wrapper(f) for f in functions),
        "".join("\n" + v for v in validators),
        "\n" + _request_table(idl_file, functions),
        _event_names(idl_file),
        "\n" + _service(idl_file, functions),
    ]
    return "".join(parts)


def _wrapper(function):
    request = naming.request_message(function)
    reply = naming.reply_message(function)
    args = ["s", f"(const {request} *)request"]
    if function.kind != ONEWAY:
        args.append(f"({reply} *)reply")
    call = ctext.wrap_call(f"\treturn {naming.handler(function)}", args, ";", "\t\t")
    return (f"static cs_error_t request_{function.short_name}(struct cv_session *s,\n"
            f"\t\t\t\tconst ProtobufCMessage *request, ProtobufCMessage *reply)\n"
            f"{{\n{call}\n}}\n")


def _validator(function):
    """Checks of the declared bounds, or None when there is nothing to check."""
    by_status = {DEFAULT_LENGTH_ERROR: []}
    for check in rules.argument_checks(function):
        if check.kind != rules.LENGTH:
            continue
        subject = f"request->{check.param.name}"
        missing = f"{subject} == NULL"
        out_of_bounds = check.length_test(subject)
        if check.status == DEFAULT_LENGTH_ERROR:
            by_status[check.status].append(f"{missing} || {out_of_bounds}")
        else:
            by_status[DEFAULT_LENGTH_ERROR].append(missing)
            by_status.setdefault(check.status, []).append(out_of_bounds)
    if not any(by_status.values()):
        return None
    message = naming.request_message(function)
    checks = "".join(_return_if(conditions, status) for status, conditions in by_status.items()
                     if conditions)
    return (f"static cs_error_t validate_{function.short_name}(const ProtobufCMessage *message)\n"
            f"{{\n"
            f"\tconst {message} *request = (const {message} *)message;\n\n"
            f"{checks}"
            f"\treturn CS_OK;\n"
            f"}}\n")


def _return_if(conditions, status):
    condition = " ||\n\t    ".join(conditions)
    return f"\tif ({condition})\n\t\treturn {status};\n"


def _flags(function):
    bits = ["CV_REQUEST_ONEWAY"] if function.kind == ONEWAY else []
    bits += [REQUEST_FLAGS[name] for name, _ in function.flags]
    return " | ".join(bits) or "0"


def _request_table(idl_file, functions):
    service = idl_file.service
    if not functions:
        return ""
    entries = []
    for function in functions:
        oneway = function.kind == ONEWAY
        reply = "NULL" if oneway else \
            f"&{naming.protobuf_c_descriptor(naming.reply_message(function))}"
        validate = f"validate_{function.short_name}" if _validator(function) else "NULL"
        entries.append(
            f"\t[{naming.request_id(function)}] = {{\n"
            f"\t\t.name = \"{function.short_name}\",\n"
            f"\t\t.request = &{naming.protobuf_c_descriptor(naming.request_message(function))},\n"
            f"\t\t.reply = {reply},\n"
            f"\t\t.handle = request_{function.short_name},\n"
            f"\t\t.validate = {validate},\n"
            f"\t\t.flags = {_flags(function)},\n"
            f"\t}},\n")
    return (f"static const struct cv_request_desc {service.name}_requests"
            f"[{naming.request_count(service)}] = {{\n{''.join(entries)}}};\n")


def _event_names(idl_file):
    callbacks = events(idl_file)
    if not callbacks:
        return ""
    service = idl_file.service
    entries = "".join(f"\t[{naming.event_id(c)}] = \"{c.short_name}\",\n" for c in callbacks)
    return (f"\nstatic const char *const {service.name}_event_names"
            f"[{naming.event_count(service)}] = {{\n{entries}}};\n")


def _service(idl_file, functions):
    service = idl_file.service
    requests_table = f"{service.name}_requests" if functions else "NULL"
    names = f"{service.name}_event_names" if events(idl_file) else "NULL"
    return (f"const struct cv_server_service {naming.server_service(service)} = {{\n"
            f"\t.name = \"{service.name}\",\n"
            f"\t.id = {service.id if service.id is not None else 0},\n"
            f"\t.version_major = {service.version[0]},\n"
            f"\t.version_minor = {service.version[1]},\n"
            f"\t.n_requests = {naming.request_count(service)},\n"
            f"\t.requests = {requests_table},\n"
            f"\t.n_events = {naming.event_count(service)},\n"
            f"\t.event_names = {names},\n"
            f"\t.ops = &{naming.service_ops(service)},\n"
            f"{catalog_field(idl_file)}"
            f"}};\n")
