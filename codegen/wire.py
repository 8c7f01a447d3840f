"""How C parameters and fields travel on the wire: the proto3 mapping of
codegen/README.md ("Fields"), shared by the validator and every emitter."""

from dataclasses import dataclass
from typing import Optional

from .diagnostics import IdlError
from .model import Enum, Struct, ultimate
from . import naming

SCALAR_WIRE_TYPES = {
    "uint8_t": "uint32", "uint16_t": "uint32", "uint32_t": "uint32", "unsigned": "uint32",
    "unsigned int": "uint32", "unsigned char": "uint32",
    "int8_t": "int32", "int16_t": "int32", "int32_t": "int32", "int": "int32", "char": "int32",
    "uint64_t": "uint64", "size_t": "uint64", "unsigned long long": "uint64",
    "int64_t": "int64", "long long": "int64",
    "float": "float", "double": "double",
}

# The C type protoc-c gives each proto3 scalar.
PROTOBUF_C_TYPES = {
    "uint32": "uint32_t", "int32": "int32_t", "uint64": "uint64_t", "int64": "int64_t",
    "float": "float", "double": "double",
}

# Elements of a counted array that travels as `bytes` rather than `repeated`.
BYTE_ELEMENTS = ("void", "char", "uint8_t", "unsigned char")
# The system header's gather list, `struct iovec`: counted, it travels as `bytes`.
IOVEC_TAG = "iovec"

# Built-in types that are the same type as a fixed-width one on every Linux ABI.
_SAME_AS_FIXED_WIDTH = {"unsigned int": "uint32_t", "unsigned": "uint32_t", "int": "int32_t"}

SCALAR = "scalar"
ENUM = "enum"
STRING = "string"
BYTES = "bytes"
MESSAGE = "message"


@dataclass
class WireField:
    decl: object            # the C parameter or field
    number: int
    kind: str               # SCALAR, ENUM, STRING, BYTES or MESSAGE
    proto_type: str         # 'uint32', 'string', 'QuorumRingId'
    repeated: bool
    c_type: str             # C element type as written, without pointer: 'unsigned int'
    struct: Optional[Struct] = None
    count_decl: object = None       # for repeated and counted bytes fields: the C count parameter
    c_type_resolved: str = ""       # the built-in type behind c_type: 'unsigned int'
    allocated: bool = False         # an @out the stub hands over malloc'd: `char **`, `T **`
    gathered: bool = False          # a counted `const struct iovec *`: its buffers, as one bytes field

    @property
    def counted_bytes(self):
        """A pointer and a count parameter that travel as one bytes field."""
        return self.kind == BYTES and self.count_decl is not None

    @property
    def name(self):
        return self.decl.name

    def proto_line(self):
        label = "repeated " if self.repeated else ""
        return f"{label}{self.proto_type} {self.name} = {self.number};"

    @property
    def pb_c_type(self):
        """The C type protoc-c uses for one element of this field."""
        if self.kind in (SCALAR, ENUM):
            return PROTOBUF_C_TYPES[self.proto_type]
        if self.kind == STRING:
            return "char *"
        if self.kind == BYTES:
            return "ProtobufCBinaryData"
        return f"{self.proto_type} *"

    @property
    def passes_directly(self):
        """A repeated scalar whose C element type is protoc-c's own type."""
        same = _SAME_AS_FIXED_WIDTH.get(self.c_type_resolved, self.c_type_resolved)
        return self.kind == SCALAR and same == PROTOBUF_C_TYPES[self.proto_type]


def scalar_name(ctype):
    """The built-in scalar a type resolves to, or None."""
    target = ultimate(ctype)
    return target if isinstance(target, str) else None


def is_string_type(decl):
    return decl.array is None and decl.ctype.pointers == 1 and scalar_name(decl.ctype) == "char"


def _element_mapping(ctype, decl, what):
    """Wire kind and type of one non-pointer element of C type `ctype`."""
    target = ultimate(ctype)
    if isinstance(target, str):
        if target not in SCALAR_WIRE_TYPES:
            raise IdlError(decl.pos, f"{what} '{decl.name}' has type '{ctype.text()}', "
                           f"which has no wire mapping")
        return SCALAR, SCALAR_WIRE_TYPES[target], target, None
    if isinstance(target, Enum):
        return ENUM, "int32", "int32_t", None
    if isinstance(target, Struct) and target.external:
        raise IdlError(decl.pos, f"{what} '{decl.name}' has type '{ctype.text()}', which a "
                       f"system header defines and cannot be carried on the wire")
    if isinstance(target, Struct):
        return MESSAGE, naming.message_of_struct(target), target.type_text(), target
    raise IdlError(decl.pos, f"{what} '{decl.name}' has type '{ctype.text()}', "
                   f"which cannot be carried on the wire")


def is_byte_element(ctype):
    return ctype.pointers == 0 and scalar_name(ctype) in BYTE_ELEMENTS


def is_iovec(ctype):
    """`struct iovec`, which a system header defines: an array of them is a
    gather list, whose buffers travel as one bytes field."""
    target = ultimate(ctype)
    return ctype.pointers == 0 and isinstance(target, Struct) and target.external \
        and target.name == IOVEC_TAG


def is_string_element(ctype):
    """An element of an array of strings: `char *`, `const char *`."""
    return ctype.pointers == 1 and scalar_name(ctype) == "char"


def map_input(decl, number, what, params=()):
    """The wire field of a parameter passed into a call or an event, or of a struct field."""
    element = decl.ctype
    repeated = False
    count_decl = None
    if decl.count_param is not None:
        if decl.array is None:
            element = element.pointee()
        count_decl = next(p for p in params if p.name == decl.count_param)
        if is_byte_element(element):
            return WireField(decl, number, BYTES, "bytes", False, element.base_text(),
                             count_decl=count_decl, c_type_resolved=scalar_name(element))
        if is_iovec(element):
            return WireField(decl, number, BYTES, "bytes", False, element.base_text(),
                             count_decl=count_decl, c_type_resolved="uint8_t", gathered=True)
        if is_string_element(element):
            return WireField(decl, number, STRING, "string", True, "char *",
                             count_decl=count_decl, c_type_resolved="char *")
        repeated = True
    elif decl.array is not None:
        return _fixed_array_mapping(decl, number, what)
    elif is_string_type(decl):
        return WireField(decl, number, STRING, "string", False, "char *", c_type_resolved="char *")
    elif decl.ctype.pointers == 1 and isinstance(ultimate(decl.ctype.pointee()), Struct):
        element = element.pointee()
    if element.pointers:
        raise IdlError(decl.pos, f"{what} '{decl.name}' has type '{decl.ctype.text()}', "
                       f"which cannot be carried on the wire")
    kind, proto_type, resolved, struct = _element_mapping(element, decl, what)
    return WireField(decl, number, kind, proto_type, repeated, element.base_text(), struct,
                     count_decl, c_type_resolved=resolved)


def _fixed_array_mapping(decl, number, what):
    element = scalar_name(decl.ctype) if decl.ctype.pointers == 0 else None
    if element == "char" and decl.has("bytes"):
        return WireField(decl, number, BYTES, "bytes", False, element, c_type_resolved=element)
    if element == "char":
        return WireField(decl, number, STRING, "string", False, "char", c_type_resolved="char")
    if element in ("uint8_t", "unsigned char"):
        return WireField(decl, number, BYTES, "bytes", False, element, c_type_resolved=element)
    raise IdlError(decl.pos, f"{what} '{decl.name}' is an array without @count; only char "
                   f"and uint8_t arrays can be carried without one")


def map_output(decl, number, params=()):
    """The reply field of an @out parameter: the pointed-to type; for `char **`
    and counted `T **` parameters, a string or an array the stub copies into
    malloc'd memory."""
    pointee = decl.ctype.pointee()
    if decl.count_param is not None:
        return _map_allocated_array(decl, number, pointee, params)
    if pointee.pointers == 1 and scalar_name(pointee) == "char":
        return WireField(decl, number, STRING, "string", False, "char *",
                         c_type_resolved="char *", allocated=True)
    if pointee.pointers:
        raise IdlError(decl.pos, f"@out parameter '{decl.name}' of type '{decl.ctype.text()}' "
                       f"cannot be returned in a reply")
    kind, proto_type, resolved, struct = _element_mapping(pointee, decl, "@out parameter")
    return WireField(decl, number, kind, proto_type, False, pointee.base_text(), struct,
                     c_type_resolved=resolved)


def _map_allocated_array(decl, number, pointee, params):
    """`T **x @out @count(n)`: bytes for byte-like T, else repeated T."""
    count_decl = next(p for p in params if p.name == decl.count_param)
    if is_string_element(pointee.pointee()):
        return WireField(decl, number, STRING, "string", True, "char *", count_decl=count_decl,
                         c_type_resolved="char *", allocated=True)
    if pointee.pointers != 1:
        raise IdlError(decl.annotations["count"].pos, f"@out array '{decl.name}' must be a "
                       f"pointer to a pointer (T **), which receives a malloc'd array")
    element = pointee.pointee()
    if is_byte_element(element):
        return WireField(decl, number, BYTES, "bytes", False, element.base_text(),
                         count_decl=count_decl, c_type_resolved=scalar_name(element),
                         allocated=True)
    kind, proto_type, resolved, struct = _element_mapping(element, decl, "@out parameter")
    return WireField(decl, number, kind, proto_type, True, element.base_text(), struct,
                     count_decl, c_type_resolved=resolved, allocated=True)


def handle_param(params, service):
    """The parameter that carries the service handle by value, or None."""
    for param in params:
        if param.ctype.name == service.handle and param.ctype.pointers == 0 \
                and param.array is None:
            return param
    return None


def count_params(params):
    return {p.count_param for p in params if p.count_param is not None}


def request_fields(function):
    """Request fields: inputs without the handle and the @count parameters."""
    handle = handle_param(function.params, function.service)
    counts = count_params(function.params)
    inputs = [p for p in function.params
              if p is not handle and p.name not in counts and not p.has("out")]
    return [map_input(p, i, "parameter", function.params) for i, p in enumerate(inputs, 1)]


def reply_fields(function):
    """Reply fields: the @out parameters without the counts of @out arrays."""
    counts = count_params(function.params)
    outs = [p for p in function.params if p.has("out") and p.name not in counts]
    return [map_output(p, i, function.params) for i, p in enumerate(outs, 1)]


def event_fields(callback):
    handle = handle_param(callback.params, callback.service)
    counts = count_params(callback.params)
    inputs = [p for p in callback.params if p is not handle and p.name not in counts]
    return [map_input(p, i, "parameter", callback.params) for i, p in enumerate(inputs, 1)]


def struct_fields(struct):
    """A struct's message fields: its fields in order, without the count of a
    counted byte array (`char value[N] @count(length)`), which is the length
    of that array's bytes field."""
    for decl in struct.fields:
        others = [a for a in decl.annotations.values() if a.name not in ("count", "bytes")]
        if others:
            first = sorted(others, key=lambda a: (a.pos.line, a.pos.col))[0]
            raise IdlError(first.pos, f"field '{decl.name}' of a struct carried on the wire "
                           f"cannot have @{first.name}")
    counts = count_params(struct.fields)
    carried = [decl for decl in struct.fields if decl.name not in counts]
    fields = [map_input(decl, i, "field", struct.fields) for i, decl in enumerate(carried, 1)]
    for field in fields:
        if field.count_decl is not None and not field.counted_bytes:
            raise IdlError(field.decl.annotations["count"].pos, f"counted field "
                           f"'{field.name}' of {struct.name} is not a byte array; only bytes "
                           f"can be counted inside a struct carried on the wire")
    return fields


def counted_fields(struct):
    """The counted byte arrays of a struct carried on the wire."""
    return [f for f in struct_fields(struct) if f.counted_bytes]


def wire_structs(fields_lists):
    """Structs reachable from the given field lists, dependencies first, each once."""
    ordered = []

    def visit(struct):
        if struct in ordered:
            return
        for field in struct_fields(struct):
            if field.struct is not None:
                visit(field.struct)
        ordered.append(struct)

    for fields in fields_lists:
        for field in fields:
            if field.struct is not None:
                visit(field.struct)
    return ordered

