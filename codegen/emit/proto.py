"""generated/S/S.proto: the proto3 messages of every request, reply, event and
wire struct of one service. No package: protoc-c names follow the messages."""

from .. import naming, wire
from . import ctext


def emit(program, idl_file):
    service = idl_file.service
    functions = idl_file.remote_functions
    callbacks = idl_file.event_callbacks
    field_lists = []
    blocks = []
    for function in functions:
        request, reply = wire.request_fields(function), wire.reply_fields(function)
        field_lists += [request, reply]
        blocks.append(_message(naming.request_message(function), request,
                               f"{function.name}(), request id {function.request_id}"))
        if function.kind == "request":
            blocks.append(_message(naming.reply_message(function), reply, None))
    for callback in callbacks:
        fields = wire.event_fields(callback)
        field_lists.append(fields)
        blocks.append(_message(naming.event_message(callback), fields,
                               f"{callback.name}, event id {callback.event_id}"))
    structs = [_message(naming.message_of_struct(s), wire.struct_fields(s), s.type_text())
               for s in wire.wire_structs(field_lists)]
    text = (f"// {ctext.notice_text(idl_file)}\n"
            f"syntax = \"proto3\";\n\n" + "\n".join(structs + blocks))
    return {f"generated/{service.output_dir}/{service.name}.proto": text}


def _message(name, fields, comment):
    head = f"// {comment}\n" if comment else ""
    body = "".join(f"  {field.proto_line()}\n" for field in fields)
    return f"{head}message {name} {{\n{body}}}\n"
