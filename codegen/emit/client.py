"""generated/S/S-client.h and S-client.c: the client library's stubs, event
decoders and service descriptor, all thin wrappers over src/runtime/."""

from .. import naming, rules, wire
from ..model import LOCAL, ONEWAY, REQUEST, Struct, callbacks_struct, is_callback_type
from .catalog import catalog_field, catalog_include
from . import ctext
from .cshared import abi_gate, ids_block, string_length_helper

RUNTIME_ABI = 1


def emit(program, idl_file):
    service = idl_file.service
    directory = f"generated/{service.output_dir}"
    return {
        f"{directory}/{naming.client_header(service)}": client_header(idl_file),
        f"{directory}/{service.name}-client.c": ClientSource(idl_file).render(),
    }


# ---- S-client.h ------------------------------------------------------------

def client_header(idl_file):
    service = idl_file.service
    guard = f"CONCLAVE_{service.name.upper()}_CLIENT_H"
    parts = [
        ctext.c_notice(idl_file),
        ctext.c_comment(f"Hidden declarations shared by the generated and the hand-written parts "
                        f"of {service.library.name}: the service descriptor, the request and "
                        f"event ids, and the internal functions."),
        f"#ifndef {guard}\n#define {guard}\n\n",
        f"#include <{service.header}>\n#include <conclave/client-runtime.h>\n\n",
        abi_gate("CV_RUNTIME_ABI", RUNTIME_ABI, naming.client_header(service)),
        "\n", ids_block(idl_file), "\n",
        "#ifndef CV_EXPORT\n#define CV_EXPORT __attribute__((visibility(\"default\")))\n#endif\n\n",
        "/* The library exports exactly these; the build hides every other symbol. */\n",
        "".join(ctext.function_prototype(f, "CV_EXPORT ") for f in idl_file.public_functions),
        f"\nextern CV_HIDDEN const struct cv_client_service {naming.client_service(service)};\n",
        _internal_declarations(idl_file),
        _filler_declarations(idl_file),
        f"\n#endif /* {guard} */\n",
    ]
    return "".join(parts)


def _internal_declarations(idl_file):
    out = []
    for callback in idl_file.callbacks:
        if callback.internal:
            out.append("\n" + ctext.c_comment(callback.doc))
            out.append(ctext.callback_typedef(callback))
    for function in idl_file.functions:
        if function.internal:
            doc = "\n\n".join(t for t in (function.doc, ctext.ownership_note(function)) if t)
            out.append("\n" + ctext.c_comment(doc))
            out.append(ctext.function_prototype(function, "CV_HIDDEN "))
    return "".join(out)


def callback_structs(idl_file):
    """Structs of this file with a field of one of this service's event callback types."""
    callbacks = set(id(c) for c in idl_file.event_callbacks)
    return [s for s in idl_file.of_type(Struct)
            if any(is_callback_type(f.ctype) and id(f.ctype.definition) in callbacks
                   for f in s.fields)]


def _filler_signature(struct, service, prefix=""):
    return ctext.wrap_call(f"{prefix}void {naming.callback_table_filler(struct, service)}",
                           [f"const {struct.type_text()} *callbacks",
                            f"cv_callback_fn table[{naming.event_count(service)}]"], "")


def _filler_declarations(idl_file):
    structs = callback_structs(idl_file)
    if not structs:
        return ""
    head = "\n/* Fill a callback table, indexed by event id, from a callbacks struct. */\n"
    return head + "".join(f"{_filler_signature(s, idl_file.service, 'CV_HIDDEN ')};\n"
                          for s in structs)


# ---- S-client.c ------------------------------------------------------------

class ClientSource:
    """Renders S-client.c. Bodies are rendered first; they record which helpers
    and struct converters they use, so that only those are emitted."""

    def __init__(self, idl_file):
        self.idl_file = idl_file
        self.service = idl_file.service
        self.svc = f"&{naming.client_service(self.service)}"
        self.helpers = set()
        self.from_wire = []
        self.to_wire = []

    def render(self):
        fillers = [self.filler(s) for s in callback_structs(self.idl_file)]
        delivers = [self.deliver(c) for c in self.events()]
        stubs = [self.stub(f) for f in self.idl_file.functions
                 if f.kind in (REQUEST, ONEWAY, LOCAL)]
        converters = self.converters()
        parts = [
            ctext.c_notice(self.idl_file),
            "#include <stdbool.h>\n#include <stdlib.h>\n#include <string.h>\n\n",
            f"#include \"{naming.client_header(self.service)}\"\n",
            catalog_include(self.idl_file),
            f"#include \"{naming.pb_header(self.service)}\"\n\n",
            abi_gate("CV_RUNTIME_ABI", RUNTIME_ABI, f"{self.service.name}-client.c"),
            self.helper_functions(),
            "".join("\n" + c for c in converters),
            "".join("\n" + f for f in fillers),
            "".join("\n" + d for d in delivers),
            "\n" + self.descriptor(),
            "".join("\n" + s for s in stubs),
        ]
        return "".join(parts)

    def events(self):
        return self.idl_file.event_callbacks

    # ---- helpers and converters --------------------------------------------

    def helper_functions(self):
        out = []
        if "string_length" in self.helpers:
            out.append(string_length_helper())
        if "copy_string" in self.helpers:
            out.append("/* Copies src into dst[size], truncating; dst is always NUL-terminated. */\n"
                       "static void copy_string(char *dst, size_t size, const char *src)\n"
                       "{\n"
                       "\tsize_t length = src != NULL ? strnlen(src, size - 1) : 0;\n\n"
                       "\tif (length > 0)\n"
                       "\t\tmemcpy(dst, src, length);\n"
                       "\tdst[length] = '\\0';\n"
                       "}\n")
        if "string_dup" in self.helpers:
            out.append("/* A malloc'd copy of src (\"\" for NULL), or NULL when memory is short. */\n"
                       "static char *string_dup(const char *src)\n"
                       "{\n"
                       "\tsize_t size = strlen(src != NULL ? src : \"\") + 1;\n"
                       "\tchar *copy = malloc(size);\n\n"
                       "\tif (copy != NULL)\n"
                       "\t\tmemcpy(copy, src != NULL ? src : \"\", size);\n"
                       "\treturn copy;\n"
                       "}\n")
        if "bytes_dup" in self.helpers:
            out.append("/* A malloc'd copy of src's bytes, or NULL when there are none or memory is short. */\n"
                       "static void *bytes_dup(const ProtobufCBinaryData *src)\n"
                       "{\n"
                       "\tvoid *copy;\n\n"
                       "\tif (src->len == 0)\n"
                       "\t\treturn NULL;\n"
                       "\tcopy = malloc(src->len);\n"
                       "\tif (copy != NULL)\n"
                       "\t\tmemcpy(copy, src->data, src->len);\n"
                       "\treturn copy;\n"
                       "}\n")
        if "array_alloc" in self.helpers:
            out.append("/* Zeroed room for count elements, or NULL when count is 0 or memory is short. */\n"
                       "static void *array_alloc(size_t count, size_t size)\n"
                       "{\n"
                       "\treturn count > 0 ? calloc(count, size) : NULL;\n"
                       "}\n")
        if "copy_bytes" in self.helpers:
            out.append("/* Copies at most size bytes of src into dst; the rest of dst stays as it is. */\n"
                       "static void copy_bytes(uint8_t *dst, size_t size, const ProtobufCBinaryData *src)\n"
                       "{\n"
                       "\tsize_t length = src->len < size ? src->len : size;\n\n"
                       "\tif (length > 0)\n"
                       "\t\tmemcpy(dst, src->data, length);\n"
                       "}\n")
        return "".join("\n" + h for h in out)

    def need_from_wire(self, struct):
        if struct not in self.from_wire:
            self.from_wire.append(struct)
        return f"{struct.name}_from_wire"

    def need_to_wire(self, struct):
        if struct not in self.to_wire:
            self.to_wire.append(struct)
        return f"{struct.name}_to_wire"

    def converters(self):
        """The converters the bodies asked for and those they need in turn,
        nested structs first so that no prototypes are needed."""
        rendered = {}
        for struct in self.from_wire:   # grows while nested structs are rendered
            rendered[(struct.name, "from")] = self.render_from_wire(struct)
        for struct in self.to_wire:
            rendered[(struct.name, "to")] = self.render_to_wire(struct)
        ordered = wire.wire_structs([[_struct_field(s) for s in self.from_wire + self.to_wire]])
        return [rendered[(s.name, direction)] for s in ordered for direction in ("from", "to")
                if (s.name, direction) in rendered]

    def render_from_wire(self, struct):
        message = naming.message_of_struct(struct)
        lines = []
        for field in wire.struct_fields(struct):
            lines.append(self.field_from_wire(field))
        return (f"static void {struct.name}_from_wire({struct.type_text()} *out, "
                f"const {message} *in)\n{{\n"
                f"\tmemset(out, 0, sizeof(*out));\n"
                f"\tif (in == NULL)\n\t\treturn;\n"
                + "".join(lines) + "}\n")

    def field_from_wire(self, field):
        name = field.name
        if field.kind == wire.STRING:
            self.helpers.add("copy_string")
            return f"\tcopy_string(out->{name}, sizeof(out->{name}), in->{name});\n"
        if field.kind == wire.BYTES:
            self.helpers.add("copy_bytes")
            return f"\tcopy_bytes(out->{name}, sizeof(out->{name}), &in->{name});\n"
        if field.kind == wire.MESSAGE:
            return f"\t{self.need_from_wire(field.struct)}(&out->{name}, in->{name});\n"
        return f"\tout->{name} = {_cast_from_wire(field, f'in->{name}')};\n"

    def render_to_wire(self, struct):
        message = naming.message_of_struct(struct)
        lines = []
        for field in wire.struct_fields(struct):
            name = field.name
            if field.kind == wire.BYTES:
                lines.append(f"\tout->{name}.len = sizeof(in->{name});\n"
                             f"\tout->{name}.data = (uint8_t *)in->{name};\n")
            else:   # validation rejects struct and char array fields in structs sent
                lines.append(f"\tout->{name} = in->{name};\n")
        return (f"static void {struct.name}_to_wire({message} *out, "
                f"const {struct.type_text()} *in)\n{{\n" + "".join(lines) + "}\n")

    # ---- callbacks -----------------------------------------------------------

    def filler(self, struct):
        lines = []
        for field in struct.fields:
            callback = field.ctype.definition if is_callback_type(field.ctype) else None
            events = self.idl_file.event_callbacks
            if callback is not None and callback.service is self.service \
                    and any(callback is c for c in events):
                lines.append(f"\ttable[{naming.event_id(callback)}] = "
                             f"(cv_callback_fn)callbacks->{field.name};\n")
        return f"{_filler_signature(struct, self.service)}\n{{\n{''.join(lines)}}}\n"

    def deliver(self, callback):
        fields = {f.name: f for f in wire.event_fields(callback)}
        handle = wire.handle_param(callback.params, self.service)
        counted = {p.count_param: p for p in callback.params if p.count_param}
        message = naming.event_message(callback)
        locals_, prepare, args, allocated = [], [], [], []
        for param in callback.params:
            if param is handle:
                args.append("handle")
            elif param.name in counted:
                array = counted[param.name]
                length = f"event->{array.name}.len" if fields[array.name].counted_bytes \
                    else f"event->n_{array.name}"
                args.append(f"({param.ctype.text()}){length}")
            else:
                field = fields[param.name]
                args.append(self.event_argument(field, locals_, prepare, allocated))
        body = [f"\tconst {message} *event = (const {message} *)message;\n",
                f"\t{callback.name} callback = ({callback.name})fn;\n"]
        body += locals_
        body.append("\n\tif (callback == NULL)\n\t\treturn CS_OK;\n")
        body += self.allocations(allocated)
        body += prepare
        body.append("\t" + ctext.wrap_call("callback", args, ";", "\t\t") + "\n")
        body += [f"\tfree({name});\n" for name, _, _ in allocated]
        body.append("\treturn CS_OK;\n")
        return (f"static cs_error_t deliver_{callback.short_name}(uint64_t handle, "
                f"cv_callback_fn fn,\n\t\t\t\t\tconst ProtobufCMessage *message)\n{{\n"
                + "".join(body) + "}\n")

    def event_argument(self, field, locals_, prepare, allocated):
        source = f"event->{field.name}"
        local = f"arg_{field.name}"
        if field.counted_bytes:
            needs_cast = field.c_type_resolved in ("char", "unsigned char")
            return f"({field.decl.ctype.text()}){source}.data" if needs_cast else f"{source}.data"
        if field.repeated:
            if field.passes_directly:
                return source
            element = _element_c_type(field)
            allocated.append((local, element, f"event->n_{field.name}"))
            locals_.append(f"\t{element} *{local};\n")
            prepare.append(self.array_from_wire(field, local, source))
            return local
        if field.kind == wire.MESSAGE:
            locals_.append(f"\t{field.struct.type_text()} {local};\n")
            prepare.append(f"\t{self.need_from_wire(field.struct)}(&{local}, {source});\n")
            return f"&{local}" if field.decl.ctype.pointers else local
        if field.kind == wire.STRING:
            return source
        return _cast_from_wire(field, source)

    def array_from_wire(self, field, local, source):
        if field.kind == wire.MESSAGE:
            convert = f"{self.need_from_wire(field.struct)}(&{local}[i], {source}[i]);"
        else:
            convert = f"{local}[i] = {_cast_from_wire(field, f'{source}[i]')};"
        return (f"\tfor (size_t i = 0; i < event->n_{field.name}; i++)\n"
                f"\t\t{convert}\n")

    def allocations(self, allocated):
        """calloc every array (one spare element so that size 0 still gives
        memory), and give up with CS_ERR_NO_MEMORY if any fails."""
        if not allocated:
            return []
        out = [f"\t{name} = calloc({count} + 1, sizeof(*{name}));\n"
               for name, _, count in allocated]
        failed = " || ".join(f"{name} == NULL" for name, _, _ in allocated)
        if len(allocated) == 1:
            out.append(f"\tif ({failed})\n\t\treturn CS_ERR_NO_MEMORY;\n")
            return out
        frees = "".join(f"\t\tfree({name});\n" for name, _, _ in allocated)
        out.append(f"\tif ({failed}) {{\n{frees}\t\treturn CS_ERR_NO_MEMORY;\n\t}}\n")
        return out

    def descriptor(self):
        service = self.service
        events = self.events()
        table = "NULL"
        out = []
        if events:
            table = f"{service.name}_events"
            entries = "".join(
                f"\t[{naming.event_id(c)}] = {{\n"
                f"\t\t.name = \"{c.short_name}\",\n"
                f"\t\t.message = &{naming.protobuf_c_descriptor(naming.event_message(c))},\n"
                f"\t\t.deliver = deliver_{c.short_name},\n"
                f"\t}},\n" for c in events)
            out.append(f"static const struct cv_event_desc {table}[{naming.event_count(service)}]"
                       f" = {{\n{entries}}};\n\n")
        out.append(f"static struct cv_handle_table {service.name}_handles = CV_HANDLE_TABLE_INIT;\n\n")
        out.append(f"const struct cv_client_service {naming.client_service(service)} = {{\n"
                   f"\t.name = \"{service.name}\",\n"
                   f"\t.version_major = {service.version[0]},\n"
                   f"\t.version_minor = {service.version[1]},\n"
                   f"\t.n_events = {naming.event_count(service)},\n"
                   f"\t.events = {table},\n"
                   f"\t.handles = &{service.name}_handles,\n"
                   f"{catalog_field(self.idl_file)}"
                   f"}};\n")
        return "".join(out)

    # ---- public stubs --------------------------------------------------------

    def stub(self, function):
        if function.kind == LOCAL:
            body = self.local_body(function)
        else:
            body = RequestStub(self, function).body()
        return f"{ctext.function_signature(function)}\n{{\n{body}}}\n"

    def local_body(self, function):
        kind = function.implementation.arg
        names = [p.name for p in function.params]
        if kind == "initialize":
            return self.initialize_body(function)
        cast = {"context_get": "(void **)", "context_set": "(void *)"}.get(kind, "")
        args = [cast + name for name in names[1:2]]
        call = ctext.wrap_call(f"cv_client_{kind}", [self.svc, names[0]] + args, ";", "\t\t")
        return f"\treturn {call}\n"

    def initialize_body(self, function):
        handle = function.params[0].name
        context = next((p for p in function.params[1:]
                        if p.ctype.name == "void" and p.ctype.pointers == 1), None)
        context_arg = "NULL"
        if context is not None:
            context_arg = f"(void *){context.name}" if context.ctype.const else context.name
        table_param = next((p for p in function.params if callbacks_struct(p) is not None), None)
        if table_param is None or not self.events():
            return f"\treturn cv_client_initialize({self.svc}, {handle}, NULL, {context_arg});\n"
        struct = callbacks_struct(table_param)
        filler = naming.callback_table_filler(struct, self.service)
        name = table_param.name
        return (f"\tcv_callback_fn table[{naming.event_count(self.service)}] = {{ NULL }};\n\n"
                f"\tif ({name} == NULL)\n"
                f"\t\treturn cv_client_initialize({self.svc}, {handle}, NULL, {context_arg});\n"
                f"\t{filler}({name}, table);\n"
                f"\treturn cv_client_initialize({self.svc}, {handle}, table, {context_arg});\n")


class RequestStub:
    """The body of a `request` or `oneway` stub: check the arguments, build the
    request, call, copy the outputs on CS_OK, free the reply."""

    def __init__(self, source, function):
        self.source = source
        self.function = function
        self.locals = []
        self.fill = []
        self.allocated = []

    def body(self):
        function = self.function
        request = naming.request_message(function)
        handle = wire.handle_param(function.params, function.service)
        checks = self.argument_checks()
        for field in wire.request_fields(function):
            self.fill_field(field)
        reply_desc = "NULL"
        if function.kind == REQUEST:
            reply_desc = f"&{naming.protobuf_c_descriptor(naming.reply_message(function))}"
        call = ctext.wrap_call(
            "\tstatus = cv_client_call",
            [self.source.svc, handle.name, naming.request_id(function), "&request.base",
             reply_desc, "&reply"], ";", "\t\t\t\t")
        if any(name == "nowait" for name, _ in function.flags):
            call = ctext.wrap_call(
                "\tstatus = cv_client_post",
                [self.source.svc, handle.name, naming.request_id(function), "&request.base"],
                ";", "\t\t\t\t")
        out = [f"\t{request} request = {naming.protobuf_c_init(request)};\n"]
        out += self.locals
        out.append("\tProtobufCMessage *reply = NULL;\n\tcs_error_t status;\n\n")
        out += checks
        out += self.source.allocations(self.allocated)
        out += self.fill
        out.append(call + "\n")
        out += self.copy_outputs()
        out.append("\tif (reply != NULL)\n\t\tprotobuf_c_message_free_unpacked(reply, NULL);\n")
        out += [f"\tfree({name});\n" for name, _, _ in self.allocated]
        out.append("\treturn status;\n")
        return "".join(out)

    def argument_checks(self):
        """One `if` per status: CS_ERR_INVALID_PARAM first, then the statuses @len names."""
        checks = rules.argument_checks(self.function)
        if any(check.kind == rules.LENGTH for check in checks):
            self.source.helpers.add("string_length")
        return [_return_if([c.condition() for c in group], status)
                for status, group in rules.checks_by_status(checks).items()]

    def fill_field(self, field):
        param = field.decl
        target = f"request.{field.name}"
        if field.counted_bytes:
            self.fill.append(f"\t{target}.len = {field.count_decl.name};\n"
                             f"\t{target}.data = (uint8_t *){param.name};\n")
        elif field.repeated:
            self.fill_repeated(field, target)
        elif field.kind == wire.MESSAGE:
            self.fill_message(field, target)
        elif field.kind == wire.STRING:
            value = f"(char *){param.name}"
            if param.has("optional"):
                value = f"{param.name} != NULL ? (char *){param.name} : \"\""
            self.fill.append(f"\t{target} = {value};\n")
        else:
            self.fill.append(f"\t{target} = {param.name};\n")

    def fill_message(self, field, target):
        param = field.decl
        message = naming.message_of_struct(field.struct)
        local = f"wire_{param.name}"
        self.locals.append(f"\t{message} {local} = {naming.protobuf_c_init(message)};\n")
        convert = self.source.need_to_wire(field.struct)
        source = param.name if param.ctype.pointers else f"&{param.name}"
        lines = f"\t{convert}(&{local}, {source});\n\t{target} = &{local};\n"
        if param.ctype.pointers and param.has("optional"):
            lines = (f"\tif ({param.name} != NULL) {{\n"
                     + lines.replace("\t", "\t\t") + "\t}\n")
        self.fill.append(lines)

    def fill_repeated(self, field, target):
        param = field.decl
        count = field.count_decl.name
        self.fill.append(f"\trequest.n_{field.name} = {count};\n")
        if field.passes_directly:
            element = field.pb_c_type
            self.fill.append(f"\t{target} = ({element} *){param.name};\n")
            return
        local = f"wire_{param.name}"
        if field.kind == wire.MESSAGE:
            message = naming.message_of_struct(field.struct)
            pointers = f"wire_{param.name}_ptrs"
            self.locals.append(f"\t{message} *{local} = NULL;\n\t{message} **{pointers} = NULL;\n")
            self.allocated += [(local, message, count), (pointers, f"{message} *", count)]
            convert = self.source.need_to_wire(field.struct)
            init = naming.protobuf_c_lower(message) + "__init"
            self.fill.append(f"\tfor (size_t i = 0; i < {count}; i++) {{\n"
                             f"\t\t{init}(&{local}[i]);\n"
                             f"\t\t{convert}(&{local}[i], &{param.name}[i]);\n"
                             f"\t\t{pointers}[i] = &{local}[i];\n"
                             f"\t}}\n\t{target} = {pointers};\n")
            return
        element = field.pb_c_type
        self.locals.append(f"\t{element} *{local} = NULL;\n")
        self.allocated.append((local, element, count))
        self.fill.append(f"\tfor (size_t i = 0; i < {count}; i++)\n"
                         f"\t\t{local}[i] = {param.name}[i];\n\t{target} = {local};\n")

    def copy_outputs(self):
        fields = wire.reply_fields(self.function) if self.function.kind == REQUEST else []
        if not fields:
            return []
        reply = naming.reply_message(self.function)
        lines = [f"\tif (status == CS_OK && reply == NULL)\n\t\tstatus = CS_ERR_LIBRARY;\n",
                 f"\tif (status == CS_OK) {{\n",
                 f"\t\tconst {reply} *result = (const {reply} *)reply;\n"]
        allocated = [f for f in fields if f.allocated]
        if allocated:
            return lines + self.copy_allocated_outputs(fields, allocated) + ["\t}\n"]
        lines.append("\n")
        lines += ["\t\t" + self.output_assignment(field) for field in fields]
        lines.append("\t}\n")
        return lines

    def output_assignment(self, field):
        name = field.decl.name
        if field.kind == wire.MESSAGE:
            convert = self.source.need_from_wire(field.struct)
            return f"{convert}({name}, result->{field.name});\n"
        return f"*{name} = {_cast_from_wire(field, f'result->{field.name}')};\n"

    def copy_allocated_outputs(self, fields, allocated):
        """Copies every malloc'd output first; the caller's outputs are written
        only when all copies succeeded, and none of them otherwise."""
        declarations, failures, frees = [], [], []
        for field in allocated:
            copy = f"copy_{field.decl.name}"
            source = f"result->{field.name}"
            declarations.append(f"\t\t{self.allocation(field, copy, source)}\n")
            frees.append(f"\t\t\tfree({copy});\n")
            if field.kind == wire.STRING:
                failures.append(f"{copy} == NULL")
            elif field.kind == wire.BYTES:
                failures.append(f"{source}.len > 0 && {copy} == NULL")
            else:
                failures.append(f"{source_count(field)} > 0 && {copy} == NULL")
        if len(failures) > 1:
            failures = [f"({c})" if "&&" in c else c for c in failures]
        condition = ctext.wrap_condition(failures, "\t\t")
        lines = declarations + [f"\n\t\tif ({condition}) {{\n"]
        if len(allocated) > 1:      # with one, the failed copy is the only one and is NULL
            lines += frees
        lines += ["\t\t\tstatus = CS_ERR_NO_MEMORY;\n", "\t\t} else {\n"]
        for field in fields:
            if field.allocated:
                lines += self.hand_over(field)
            else:
                lines.append("\t\t\t" + self.output_assignment(field))
        lines.append("\t\t}\n")
        return lines

    def allocation(self, field, copy, source):
        if field.kind == wire.STRING:
            self.source.helpers.add("string_dup")
            return f"char *{copy} = string_dup({source});"
        element = _element_c_type(field)
        if field.kind == wire.BYTES:
            self.source.helpers.add("bytes_dup")
            return f"{element} *{copy} = bytes_dup(&{source});"
        self.source.helpers.add("array_alloc")
        return f"{element} *{copy} = array_alloc({source_count(field)}, sizeof(*{copy}));"

    def hand_over(self, field):
        """The caller's pointer (and count) for one malloc'd output."""
        name = field.decl.name
        copy = f"copy_{name}"
        lines = []
        if field.repeated:
            lines.append(f"\t\t\tfor (size_t i = 0; i < {source_count(field)}; i++)\n"
                         f"\t\t\t\t{self.element_from_wire(field, copy)}\n")
        lines.append(f"\t\t\t*{name} = {copy};\n")
        if field.count_decl is not None:
            count_type = field.count_decl.ctype.pointee().text()
            count = source_count(field)
            if count_type != "size_t":
                count = f"({count_type}){count}"
            lines.append(f"\t\t\t*{field.count_decl.name} = {count};\n")
        return lines

    def element_from_wire(self, field, copy):
        source = f"result->{field.name}[i]"
        if field.kind == wire.MESSAGE:
            return f"{self.source.need_from_wire(field.struct)}(&{copy}[i], {source});"
        return f"{copy}[i] = {_cast_from_wire(field, source)};"


def source_count(field):
    """The number of elements (or bytes) of a reply field, as protoc-c holds it."""
    if field.kind == wire.BYTES:
        return f"result->{field.name}.len"
    return f"result->n_{field.name}"


def _return_if(conditions, status):
    if len(conditions) > 1:
        conditions = [f"({c})" if "&&" in c else c for c in conditions]
    text = " ||\n\t    ".join(conditions)
    return f"\tif ({text})\n\t\treturn {status};\n"


def _cast_from_wire(field, expression):
    """`expression` (protoc-c's type) converted to the C type of the field."""
    if field.kind == wire.ENUM or (field.kind == wire.SCALAR and not field.passes_directly):
        return f"({_element_c_type(field)}){expression}"
    return expression


def _element_c_type(field):
    """The C element type without const, for locals and casts."""
    text = field.c_type
    return text[len("const "):] if text.startswith("const ") else text


def _struct_field(struct):
    """A stand-in wire field so that wire_structs() can order converters."""
    return wire.WireField(None, 0, wire.MESSAGE, "", False, struct.type_text(), struct)
