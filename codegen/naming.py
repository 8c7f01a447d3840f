"""Every derived name in one place (codegen/README.md, "Names")."""


def camel(name):
    """`v1_quorum` -> `V1Quorum`: split at `_`, capitalise each part."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def upper_snake(name):
    return name.upper()


def message_of_struct(struct):
    return camel(struct.name)


def request_message(function):
    return camel(function.name) + "Request"


def reply_message(function):
    return camel(function.name) + "Reply"


def event_message(callback):
    return camel(f"{callback.service.name}_{callback.short_name}") + "Event"


def request_id(function):
    return f"{function.service.name.upper()}_REQUEST_{function.short_name.upper()}"


def event_id(callback):
    return f"{callback.service.name.upper()}_EVENT_{callback.short_name.upper()}"


def request_count(service):
    return f"{service.name.upper()}_N_REQUESTS"


def event_count(service):
    return f"{service.name.upper()}_N_EVENTS"


def handler(function):
    return f"{function.service.name}_handle_{function.short_name}"


def sender(callback):
    return f"{callback.service.name}_send_{callback.short_name}"


def client_service(service):
    return f"{service.name}_client_service"


def server_service(service):
    return f"{service.name}_server_service"


def service_ops(service):
    return f"{service.name}_service_ops"


def callback_table_filler(struct, service):
    """Hidden helper that fills a callback table from a callbacks struct."""
    return f"{service.name}_callback_table_from_{struct.name}"


def protobuf_c_lower(message):
    """protoc-c's lower-case form of a message name: QuorumRingId -> quorum_ring_id."""
    out = []
    for i, ch in enumerate(message):
        if ch.isupper() and i > 0:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def protobuf_c_init(message):
    return protobuf_c_lower(message).upper() + "__INIT"


def protobuf_c_descriptor(message):
    return protobuf_c_lower(message) + "__descriptor"


def pb_header(service):
    return f"{service.name}.pb-c.h"


def client_header(service):
    return f"{service.name}-client.h"


def server_header(service):
    return f"{service.name}-server.h"


def ids_guard(service):
    return f"CONCLAVE_{service.name.upper()}_IDS_DEFINED"
