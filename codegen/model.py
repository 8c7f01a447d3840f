"""The IDL as plain data. The parser fills these in; `validate` resolves names
and checks the rules; emitters only read them. Every node keeps its `pos`.

Every attribute is declared here, including the links validation fills in
(slots forbid any other), and the queries emitters share live here too."""

from dataclasses import dataclass, field
from typing import Optional

from .diagnostics import Pos

# Names the generator relies on: the status every call returns and the
# dispatch modes, both declared in common.idl.
STATUS_TYPE = "cs_error_t"

SCALAR_TYPES = (
    "void", "char", "signed char", "unsigned char", "short", "unsigned short",
    "int", "unsigned", "unsigned int", "long", "unsigned long", "long long", "unsigned long long",
    "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t",
    "int64_t", "uint64_t", "size_t", "float", "double",
)

LOCAL_KINDS = ("initialize", "finalize", "fd_get", "dispatch", "context_get", "context_set")

# Implementation statements of a function: how its body comes to exist.
REQUEST = "request"      # a generated stub sends a request and waits for the reply
ONEWAY = "oneway"        # a generated stub sends a request without a reply
LOCAL = "local"          # a generated one-line call into the client runtime
MANUAL = "manual"        # hand-written in src/; only the declaration is generated
STRERROR = "strerror"    # a generated enum-to-string function
IMPLEMENTATION_KINDS = (REQUEST, ONEWAY, LOCAL, MANUAL, STRERROR)
# What a string outside its @len bounds gives, unless @len names another status.
DEFAULT_LENGTH_ERROR = "CS_ERR_INVALID_PARAM"
# Request flags, each with the cv_request_flags bit the server table carries.
REQUEST_FLAGS = {"quorate_only": "CV_REQUEST_QUORATE_ONLY", "nowait": "CV_REQUEST_NOWAIT"}


def _link(doc):
    """A field validation fills in: a reference back into the model, left out
    of comparisons and reprs (it may point back to its owner)."""
    return field(default=None, compare=False, repr=False, metadata={"doc": doc})


@dataclass(slots=True)
class CType:
    """A C type as written: `const char *`, `struct quorum_ring_id`, `uint32_t`."""
    name: str                  # 'uint32_t', 'unsigned int', 'quorum_ring_id' (with is_struct_tag)
    pos: Pos
    const: bool = False
    pointers: int = 0
    is_struct_tag: bool = False
    # Set by validation: the definition `name` refers to (None for scalars).
    definition: object = None

    def base_text(self):
        text = f"struct {self.name}" if self.is_struct_tag else self.name
        return f"const {text}" if self.const else text

    def text(self):
        """The type alone, as in a cast or a return type: `const char *`."""
        stars = "*" * self.pointers
        return f"{self.base_text()} {stars}" if stars else self.base_text()

    def declare(self, name, array=None):
        """A declaration of `name` with this type: `const char *name`, `int x[4]`."""
        suffix = "" if array is None else f"[{array}]"
        return f"{self.base_text()} {'*' * self.pointers}{name}{suffix}"

    def pointee(self):
        return CType(self.name, self.pos, self.const, self.pointers - 1,
                     self.is_struct_tag, self.definition)


@dataclass(slots=True)
class Annotation:
    name: str
    args: list
    pos: Pos
    # Set by validation: the integer defines that arguments name, by name.
    defines: dict = field(default_factory=dict)

    def number(self, arg):
        """The value of a numeric argument: a number, or an integer define."""
        define = self.defines.get(arg)
        return define.number if define is not None else int(arg, 0)


@dataclass(slots=True)
class Decl:
    """A parameter or a struct field."""
    ctype: CType
    name: str
    pos: Pos
    array: Optional[str] = None      # None: not an array; '': `[]`; else the size text
    annotations: dict = field(default_factory=dict)
    array_is_code: bool = False      # the size is backquoted C code, such as a sizeof

    def declare(self):
        return self.ctype.declare(self.name, self.array)

    def has(self, annotation):
        return annotation in self.annotations

    @property
    def count_param(self):
        ann = self.annotations.get("count")
        return ann.args[0] if ann else None

    @property
    def length_bounds(self):
        """@len's (min, max), as numbers."""
        ann = self.annotations.get("len")
        return (ann.number(ann.args[0]), ann.number(ann.args[1])) if ann else None

    @property
    def length_bound_texts(self):
        """@len's (min, max) as written: a number or the name of a define."""
        ann = self.annotations.get("len")
        return tuple(ann.args[:2]) if ann else None

    @property
    def length_error(self):
        """The status a length outside @len's bounds gives (its third argument)."""
        ann = self.annotations.get("len")
        return ann.args[2] if ann and len(ann.args) > 2 else DEFAULT_LENGTH_ERROR


@dataclass(slots=True)
class Define:
    name: str
    value: str                   # C text
    pos: Pos
    params: Optional[list] = None
    doc: str = ""
    is_integer: bool = False     # the value was a plain number literal
    file: object = _link("the IdlFile that declares it")

    @property
    def number(self):
        """The value of an integer define, without its C suffixes."""
        return int(self.value.rstrip("uUlL"), 0)


@dataclass(slots=True)
class Typedef:
    name: str
    ctype: CType
    pos: Pos
    doc: str = ""
    file: object = _link("the IdlFile that declares it")


@dataclass(slots=True)
class Alias:
    """`alias NEW = OLD;`: a second, older name for a type or a constant, so
    that programs written against either spelling compile."""
    name: str
    target: str
    pos: Pos
    target_pos: Pos
    doc: str = ""
    # Set by validation: the definition `target` names.
    definition: object = None
    file: object = _link("the IdlFile that declares it")

    @property
    def is_type(self):
        return not isinstance(self.definition, (Define, Enumerator))


@dataclass(slots=True)
class Enumerator:
    name: str
    value: str
    pos: Pos
    doc: str = ""
    enum: object = _link("the Enum it belongs to")
    file: object = _link("the IdlFile that declares it")

    @property
    def number(self):
        return int(self.value, 0)


@dataclass(slots=True)
class Enum:
    name: str
    enumerators: list
    pos: Pos
    doc: str = ""
    is_typedef: bool = True  # `typedef enum {...} name;` rather than `enum name {...};`
    file: object = _link("the IdlFile that declares it")

    def type_text(self):
        return self.name if self.is_typedef else f"enum {self.name}"


@dataclass(slots=True)
class Struct:
    name: str
    fields: list
    pos: Pos
    is_typedef: bool       # `typedef struct {...} name;` rather than `struct name {...};`
    doc: str = ""
    external: bool = False  # `struct name;`: defined by an included system header
    file: object = _link("the IdlFile that declares it")

    def type_text(self):
        return self.name if self.is_typedef else f"struct {self.name}"


# corosync names its callback typedefs S_NAME_fn_t, except libcfg's
# corosync_cfg_shutdown_callback_t.
CALLBACK_SUFFIXES = ("_fn_t", "_callback_t")


@dataclass(slots=True)
class Callback:
    name: str               # the typedef name, ending in one of CALLBACK_SUFFIXES
    return_type: CType
    params: list
    pos: Pos
    event_id: Optional[int] = None
    event_pos: Optional[Pos] = None
    doc: str = ""
    internal: bool = False             # declared in S-client.h, not in the public header
    manual_pos: Optional[Pos] = None   # `manual;`: called by hand-written code, not an event
    # Set by validation.
    service: object = None
    file: object = _link("the IdlFile that declares it")

    @property
    def is_event(self):
        return self.event_id is not None

    @property
    def is_public(self):
        return not self.internal

    @property
    def short_name(self):
        suffix = next(x for x in CALLBACK_SUFFIXES if self.name.endswith(x))
        return self.name[len(self.service.name) + 1:-len(suffix)]


@dataclass(slots=True)
class ErrorDoc:
    code: str
    text: str
    pos: Pos


@dataclass(slots=True)
class Implementation:
    kind: str
    pos: Pos
    arg: Optional[str] = None      # request/oneway id, local kind, strerror enum


@dataclass(slots=True)
class Function:
    name: str
    return_type: CType
    params: list
    pos: Pos
    internal: bool = False
    implementation: Optional[Implementation] = None
    doc: str = ""
    errors: list = field(default_factory=list)
    example: str = ""                              # C code for the page's EXAMPLES
    flags: list = field(default_factory=list)    # (name, Pos) of `flag` statements
    unversioned_pos: Optional[Pos] = None         # `unversioned;`: exported outside the node
    # Set by validation.
    service: object = None
    file: object = _link("the IdlFile that declares it")

    @property
    def kind(self):
        return self.implementation.kind

    @property
    def short_name(self):
        return self.name[len(self.service.name) + 1:]

    @property
    def request_id(self):
        return int(self.implementation.arg, 0)

    @property
    def is_remote(self):
        return self.kind in (REQUEST, ONEWAY)

    @property
    def runtime_kind(self):
        """The local kind of a `local` function, or the one a `manual` function
        names (`manual initialize;`: written by hand around the runtime's
        initialize); None for any other."""
        return self.implementation.arg if self.kind in (LOCAL, MANUAL) else None

    @property
    def is_public(self):
        return not self.internal


@dataclass(slots=True)
class Inline:
    code: str
    pos: Pos


@dataclass(slots=True)
class Library:
    name: str           # libquorum
    soname: str         # 5
    version: str        # 5.1.0
    pos: Pos
    node: Optional[str] = None   # COROSYNC_QUORUM_1.0

    @property
    def link_name(self):
        return self.name[3:] if self.name.startswith("lib") else self.name


@dataclass(slots=True)
class Service:
    """The `service` (or `common`) block of one IDL file."""
    name: str
    is_common: bool
    pos: Pos
    version: tuple = (1, 0)
    id: Optional[int] = None      # the service's number: conclaved's order, corosync's id in cmap keys
    id_pos: Optional[Pos] = None
    header: Optional[str] = None
    guard: Optional[str] = None
    includes: list = field(default_factory=list)
    library: Optional[Library] = None     # a common block may have none: a header only
    handle: Optional[str] = None
    handle_pos: Optional[Pos] = None
    dispatch: Optional[str] = None
    doc: str = ""
    example: str = ""       # C code for the overview page's EXAMPLES

    @property
    def output_dir(self):
        return "common" if self.is_common else self.name


@dataclass(slots=True)
class IdlFile:
    path: str            # as reported in errors
    display_path: str    # as named in generated files: idl/quorum.idl
    imports: list = field(default_factory=list)     # (name, pos)
    service: Optional[Service] = None
    items: list = field(default_factory=list)       # definitions in order
    # Set by validation.
    imported: list = field(default_factory=list)    # IdlFile objects

    def of_type(self, cls):
        return [item for item in self.items if isinstance(item, cls)]

    @property
    def functions(self):
        return self.of_type(Function)

    @property
    def public_functions(self):
        return [f for f in self.functions if f.is_public]

    @property
    def callbacks(self):
        return self.of_type(Callback)

    @property
    def event_callbacks(self):
        """Callbacks that receive an event from the daemon, in event id order."""
        return sorted((c for c in self.callbacks if c.is_event), key=lambda c: c.event_id)

    @property
    def public_callbacks(self):
        return [c for c in self.callbacks if c.is_public]

    @property
    def aliases(self):
        return self.of_type(Alias)

    def aliases_of(self, name):
        """The names this file declares for `name`, in declaration order."""
        return [alias.name for alias in self.aliases if alias.target == name]

    @property
    def remote_functions(self):
        return [f for f in self.functions if f.is_remote]

    @property
    def has_server(self):
        """conclaved runs a server for the service: it has requests."""
        return not self.service.is_common and bool(self.remote_functions)


# ---- queries over resolved types (valid once validation has run) -------------

def ultimate(ctype):
    """The definition a type name finally stands for, following typedefs of
    non-pointer types; a scalar name for built-in types."""
    definition = ctype.definition
    while isinstance(definition, Typedef) and definition.ctype.pointers == 0:
        if definition.ctype.definition is None:
            return definition.ctype.name
        definition = definition.ctype.definition
    return definition if definition is not None else ctype.name


def is_callback_type(ctype):
    return ctype.pointers == 0 and isinstance(ctype.definition, Callback)


def callbacks_struct(param):
    """The struct behind a `callbacks *` parameter: one whose fields include callback types."""
    if param.ctype.pointers != 1:
        return None
    struct = ultimate(param.ctype.pointee())
    if isinstance(struct, Struct) and any(is_callback_type(f.ctype) for f in struct.fields):
        return struct
    return None
