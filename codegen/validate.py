"""Name resolution and the rules the parser cannot check.

Every check raises `IdlError` at the position of the offending node, so the
first problem is reported as `file:line:col: error: message`."""

import re

from . import rules, wire
from .diagnostics import IdlError, Pos
from .model import (
    Alias, CALLBACK_SUFFIXES, Callback, Define, Enum, Enumerator, Function, IMPLEMENTATION_KINDS,
    LOCAL, LOCAL_KINDS, ONEWAY, REQUEST, REQUEST_FLAGS, SCALAR_TYPES, STATUS_TYPE, Struct, Typedef,
    callbacks_struct,
)

KNOWN_ANNOTATIONS = ("out", "optional", "count", "len", "bytes")
# The number of arguments each annotation takes: (fewest, most).
ANNOTATION_ARITY = {"out": (0, 0), "optional": (0, 0), "count": (1, 1), "len": (2, 3),
                    "bytes": (0, 0)}
MAX_ID = 0xFFFF
# Locals of the generated stubs, and protoc-c's own member of every message.
RESERVED_STUB_NAMES = ("request", "reply", "call_status", "result", "table", "i", "base")
RESERVED_STUB_PREFIXES = ("wire_", "copy_")
_INTEGER_SCALARS = {name for name in SCALAR_TYPES if name not in ("void", "float", "double")}
_NUMBER = re.compile(r"^(0[xX][0-9A-Fa-f]+|[0-9]+)$")


class Validator:
    def __init__(self, files, documentation_rules=True):
        self.files = files
        # Off for comparing versions: an IDL written before a documentation
        # rule existed still describes its interface.
        self.documentation_rules = documentation_rules
        self.definitions = {}      # name -> definition (types, defines, functions, enumerators)
        self.struct_tags = {}      # tag -> Struct defined as `struct tag {...}`
        self.enum_tags = {}        # tag -> Enum defined as `enum tag {...}`
        self.external_structs = {} # tag -> the files' `struct tag;` declarations
        self.visible = {}          # id(IdlFile) -> set of definition names it may use

    def run(self):
        for idl_file in self.files:
            self.check_service_block(idl_file)
            self.collect_definitions(idl_file)
        for idl_file in self.files:
            self.visible[id(idl_file)] = self.visible_names(idl_file)
        for idl_file in self.files:
            self.check_file(idl_file)

    # ---- definitions and scopes ------------------------------------------

    def check_service_block(self, idl_file):
        service = idl_file.service
        if service is None:
            raise IdlError(_file_start(idl_file), "no service or common block in this file")
        if service.header is None:
            raise IdlError(service.pos, f"{service.name} has no 'header' statement")
        if service.library is None and not service.is_common:
            raise IdlError(service.pos, f"{service.name} has no 'library' statement")
        if not service.is_common and service.library.node is None:
            raise IdlError(service.library.pos, f"library {service.library.name} has no "
                           f"'node' (its symbol version node)")

    def collect_definitions(self, idl_file):
        for item in idl_file.items:
            if isinstance(item, (Typedef, Enum, Struct, Callback, Function, Define, Alias)):
                item.file = idl_file
                if isinstance(item, Struct) and item.external:
                    self.add_external_struct(item)
                elif isinstance(item, Struct) and not item.is_typedef:
                    self.add_name(self.struct_tags, item.name, item, "struct")
                elif isinstance(item, Enum) and not item.is_typedef:
                    self.add_name(self.enum_tags, item.name, item, "enum")
                else:
                    self.add_name(self.definitions, item.name, item, "definition")
            if isinstance(item, Enum):
                for enumerator in item.enumerators:
                    enumerator.enum = item
                    enumerator.file = idl_file
                    self.add_name(self.definitions, enumerator.name, enumerator, "definition")
            if isinstance(item, (Callback, Function)):
                item.service = idl_file.service

    def add_external_struct(self, struct):
        """A system header's struct (`struct iovec;`) may be declared by every
        file that uses it, once per file."""
        declared = self.external_structs.setdefault(struct.name, [])
        for previous in declared:
            if previous.file is struct.file:
                raise IdlError(struct.pos, f"duplicate struct of '{struct.name}' "
                               f"(first defined at {previous.pos})")
        declared.append(struct)

    def add_name(self, table, name, item, what):
        previous = table.get(name)
        if previous is not None:
            raise IdlError(item.pos, f"duplicate {what} of '{name}' (first defined at {previous.pos})")
        table[name] = item

    def visible_names(self, idl_file):
        files, pending = [], [idl_file]
        while pending:
            current = pending.pop()
            if current not in files:
                files.append(current)
                pending.extend(current.imported)
        return {id(f) for f in files}

    def visible_external_struct(self, name, scope):
        for struct in self.external_structs.get(name, []):
            if id(struct.file) in self.visible[id(scope)]:
                return struct
        return None

    def lookup(self, name, scope, pos, table=None, what="type"):
        definition = (table if table is not None else self.definitions).get(name)
        if definition is None or id(definition.file) not in self.visible[id(scope)]:
            raise IdlError(pos, f"unknown {what} '{name}'")
        return definition

    # ---- the public header's includes ------------------------------------

    def check_header_includes(self, idl_file):
        """Every definition of another IDL file that the public header uses comes
        through an `include` of that file's header (or of one that includes it),
        so that the header compiles on its own."""
        reachable = self.included_headers(idl_file)
        service = idl_file.service
        for name, definition, pos in self.header_uses(idl_file):
            home = definition.file
            if home is idl_file or home.service.header in reachable:
                continue
            raise IdlError(pos, f"{name} is declared in {home.service.header}, which "
                           f"{service.header} does not include: add 'include "
                           f"<{home.service.header}>;' to the {_block(service)} block")

    def included_headers(self, idl_file):
        """The headers the public header includes, directly or through the
        headers of other IDL files, without their angle brackets."""
        by_header = {f.service.header: f for f in self.files}
        found, pending = set(), [h.strip("<>") for h in idl_file.service.includes]
        while pending:
            header = pending.pop()
            if header not in found:
                found.add(header)
                other = by_header.get(header)
                pending += [h.strip("<>") for h in other.service.includes] if other else []
        return found

    def header_uses(self, idl_file):
        """(name, definition, pos) of each definition the public header names."""
        uses = []
        for item in idl_file.items:
            if isinstance(item, (Function, Callback)) and not item.is_public:
                continue
            if isinstance(item, Typedef):
                uses += self.type_uses(item.ctype)
            elif isinstance(item, Alias) and item.is_type:
                uses.append((item.target, item.definition, item.target_pos))
            elif isinstance(item, Struct):
                uses += self.decl_uses(item.fields)
            elif isinstance(item, (Function, Callback)):
                uses += self.type_uses(item.return_type) + self.decl_uses(item.params)
        return uses

    def type_uses(self, ctype):
        definition = ctype.definition
        if definition is None or (isinstance(definition, Struct) and definition.external):
            return []
        return [(ctype.name, definition, ctype.pos)]

    def decl_uses(self, decls):
        uses = []
        for decl in decls:
            uses += self.type_uses(decl.ctype)
            size = self.definitions.get(decl.array) if decl.array else None
            if isinstance(size, Define):
                uses.append((decl.array, size, decl.pos))
            for annotation in decl.annotations.values():     # the stubs check @len's defines
                uses += [(name, d, annotation.pos) for name, d in annotation.defines.items()]
        return uses

    # ---- per file ---------------------------------------------------------

    def check_file(self, idl_file):
        service = idl_file.service
        self.check_handle_statement(idl_file)
        if service.handle is not None:
            handle = self.lookup(service.handle, idl_file, service.handle_pos)
            if not isinstance(handle, Typedef):
                raise IdlError(service.handle_pos, f"handle type '{service.handle}' is not a typedef")
        for item in idl_file.items:
            checker = {
                Typedef: self.check_typedef, Struct: self.check_struct, Enum: self.check_enum,
                Callback: self.check_callback, Function: self.check_function,
                Alias: self.check_alias,
            }.get(type(item))
            if checker is not None:
                checker(item, idl_file)
        self.check_unique_ids(idl_file.event_callbacks, lambda c: c.event_id,
                              lambda c: c.event_pos, "event")
        self.check_unique_ids(idl_file.remote_functions, lambda f: f.request_id,
                              lambda f: f.implementation.pos, "request")
        self.check_wire_mapping(idl_file)
        for function in idl_file.functions:
            self.check_outcomes(function, idl_file)
        self.check_header_includes(idl_file)

    def check_handle_statement(self, idl_file):
        """Events, requests and runtime calls travel on a connection, which the
        handle type names; a service of manual functions only needs none."""
        service = idl_file.service
        needing = [c for c in idl_file.event_callbacks] + \
            [f for f in idl_file.functions
             if f.implementation is not None and (f.is_remote or f.runtime_kind is not None)]
        if service.handle is None and needing:
            first = min(needing, key=lambda item: (item.pos.line, item.pos.col))
            raise IdlError(service.pos, f"{service.name} has no 'handle' statement, which "
                           f"{first.name} (line {first.pos.line}) needs: name the typedef of "
                           f"its connections, such as 'handle {service.name}_handle_t;'")

    def check_unique_ids(self, items, get_id, get_pos, what):
        seen = {}
        for item in items:
            number = get_id(item)
            if number > MAX_ID:
                raise IdlError(get_pos(item), f"{what} id {number} is larger than {MAX_ID}")
            if number in seen:
                raise IdlError(get_pos(item), f"{what} id {number} is already used by "
                               f"{seen[number].name}")
            seen[number] = item

    def resolve(self, ctype, scope):
        if ctype.is_struct_tag:
            ctype.definition = self.visible_external_struct(ctype.name, scope) or \
                self.lookup(ctype.name, scope, ctype.pos, self.struct_tags, "struct")
        elif ctype.name not in SCALAR_TYPES:
            ctype.definition = self.lookup(ctype.name, scope, ctype.pos)
            if isinstance(ctype.definition, (Function, Define)) or \
                    isinstance(ctype.definition, Enumerator):
                raise IdlError(ctype.pos, f"'{ctype.name}' is not a type")
            if isinstance(ctype.definition, Alias):
                raise IdlError(ctype.pos, f"'{ctype.name}' is an alias; write "
                               f"'{ctype.definition.target}'")

    def check_typedef(self, typedef, scope):
        self.resolve(typedef.ctype, scope)

    def check_alias(self, alias, scope):
        """An alias names a type, an enumerator or a constant; not a function,
        whose second name would need a second symbol, and not another alias."""
        definition = self.lookup(alias.target, scope, alias.target_pos, what="name")
        if isinstance(definition, Function):
            raise IdlError(alias.target_pos, f"alias {alias.name} names function "
                           f"'{alias.target}'; only types and constants can have aliases")
        if isinstance(definition, Alias):
            raise IdlError(alias.target_pos, f"alias {alias.name} names alias '{alias.target}'; "
                           f"name '{definition.target}' instead")
        if isinstance(definition, Define) and definition.params is not None:
            raise IdlError(alias.target_pos, f"alias {alias.name} names macro "
                           f"'{alias.target}', which takes parameters")
        alias.definition = definition

    def check_enum(self, enum, scope):
        pass    # two enumerators may share a value, as CMAP_MAP_DEFAULT and CMAP_MAP_ICMAP do

    def check_struct(self, struct, scope):
        self.check_decls(struct.fields, scope, f"struct {struct.name}", "field")
        for field in struct.fields:
            if field.array or field.array_is_code:
                self.check_array_size(field, scope)

    def check_array_size(self, decl, scope):
        if decl.array_is_code and not decl.array.strip():
            raise IdlError(decl.pos, f"array size '' of '{decl.name}' is empty C code")
        if not _NUMBER.match(decl.array) and not decl.array_is_code:
            self.integer_define(decl.array, scope, decl.pos, "array size")

    def integer_define(self, name, scope, pos, what):
        """The visible define `name` whose value is a plain integer."""
        definition = self.definitions.get(name)
        if not isinstance(definition, Define) or not definition.is_integer \
                or definition.params is not None \
                or id(definition.file) not in self.visible[id(scope)]:
            raise IdlError(pos, f"{what} '{name}' is neither a number nor an integer define")
        return definition

    def check_decls(self, decls, scope, owner, what):
        names = {}
        for decl in decls:
            if decl.name in names:
                raise IdlError(decl.pos, f"duplicate {what} '{decl.name}' in {owner}")
            names[decl.name] = decl
            self.resolve(decl.ctype, scope)
        for decl in decls:
            self.check_annotations(decl, names, owner, scope)

    def check_annotations(self, decl, names, owner, scope):
        for annotation in decl.annotations.values():
            if annotation.name not in KNOWN_ANNOTATIONS:
                raise IdlError(annotation.pos, f"unknown annotation '@{annotation.name}'")
            fewest, most = ANNOTATION_ARITY[annotation.name]
            if not fewest <= len(annotation.args) <= most:
                arity = str(most) if fewest == most else f"{fewest} or {most}"
                raise IdlError(annotation.pos, f"@{annotation.name} takes {arity} "
                               f"argument{'s' if most != 1 else ''}, not {len(annotation.args)}")
            getattr(self, f"check_{annotation.name}")(decl, annotation, names, owner, scope)

    def check_out(self, decl, annotation, names, owner, scope):
        if decl.ctype.pointers == 0 or decl.array is not None:
            raise IdlError(annotation.pos, f"@out on '{decl.name}', which is not a pointer")
        if decl.ctype.const and decl.ctype.pointers == 1:
            raise IdlError(annotation.pos, f"@out on '{decl.name}', which points to const")

    def check_optional(self, decl, annotation, names, owner, scope):
        if decl.ctype.pointers == 0 and decl.array is None:
            raise IdlError(annotation.pos, f"@optional on '{decl.name}', which is not a pointer")

    def check_bytes(self, decl, annotation, names, owner, scope):
        """A char array field whose every byte counts, as evs's group keys."""
        if not owner.startswith("struct ") or decl.ctype.pointers or decl.array in (None, "") \
                or wire.scalar_name(decl.ctype) != "char" or decl.has("count"):
            raise IdlError(annotation.pos, f"@bytes on '{decl.name}', which is not a char array "
                           f"field of fixed size without @count")

    def check_count(self, decl, annotation, names, owner, scope):
        counted = annotation.args[0]
        if counted not in names:
            raise IdlError(annotation.pos, f"@count({counted}) names no parameter of {owner}")
        count = names[counted]
        if decl.has("out"):
            self.check_out_count(decl, annotation, count)
            return
        if count.ctype.pointers or count.array is not None or \
                wire.scalar_name(count.ctype) not in _INTEGER_SCALARS:
            raise IdlError(annotation.pos, f"@count({counted}): '{counted}' is not an integer")
        if owner.startswith("struct "):
            if decl.ctype.pointers or decl.array in (None, ""):
                raise IdlError(annotation.pos, f"@count on field '{decl.name}', which is not "
                               f"an array of fixed size")
        elif decl.ctype.pointers == 0 and decl.array != "":
            raise IdlError(annotation.pos, f"@count on '{decl.name}', which is neither a "
                           f"pointer nor an array with []")

    def check_out_count(self, decl, annotation, count):
        """The count of an @out array is an @out pointer to an integer."""
        if not count.has("out") or count.ctype.pointers != 1 or count.array is not None or \
                wire.scalar_name(count.ctype) not in _INTEGER_SCALARS:
            raise IdlError(annotation.pos, f"@count({count.name}) of @out array '{decl.name}': "
                           f"'{count.name}' must be an @out pointer to an integer")

    def check_len(self, decl, annotation, names, owner, scope):
        if not wire.is_string_type(decl):
            raise IdlError(annotation.pos, f"@len on '{decl.name}', which is not a string")
        for arg in annotation.args[:2]:
            if not _NUMBER.match(arg):
                annotation.defines[arg] = self.integer_define(arg, scope, annotation.pos,
                                                              "@len bound")
        low, high = decl.length_bounds
        if low > high:
            raise IdlError(annotation.pos, f"@len({low}, {high}): the minimum is above the maximum")
        if len(annotation.args) > 2:
            status = self.lookup(STATUS_TYPE, scope, annotation.pos)
            if decl.length_error not in {e.name for e in status.enumerators}:
                raise IdlError(annotation.pos, f"@len({low}, {high}, {decl.length_error}): "
                               f"'{decl.length_error}' is not a {STATUS_TYPE} value")

    # ---- callbacks and functions -----------------------------------------

    def check_callback(self, callback, scope):
        service = scope.service
        self.check_decls(callback.params, scope, callback.name, "parameter")
        self.resolve(callback.return_type, scope)
        if not callback.name.endswith(CALLBACK_SUFFIXES) or \
                not callback.name.startswith(service.name + "_"):
            raise IdlError(callback.pos, f"callback type '{callback.name}' must be named "
                           f"{service.name}_NAME_fn_t or {service.name}_NAME_callback_t")
        self.check_callback_kind(callback)
        # A manual callback's parameters never travel: its handle may be of
        # another type, as evs's hdb_handle_t.
        if callback.is_event and wire.handle_param(callback.params, service) is None:
            raise IdlError(callback.pos, f"callback {callback.name} has no "
                           f"'{service.handle}' parameter")
        for param in callback.params:
            if param.has("out") or param.has("optional") or param.has("len"):
                name = next(n for n in ("out", "optional", "len") if param.has(n))
                raise IdlError(param.annotations[name].pos,
                               f"@{name} has no meaning on a callback parameter")

    def check_callback_kind(self, callback):
        """An event callback has an event id; a `manual` one is called by
        hand-written code and has none; an internal one must be an event."""
        if callback.is_event and callback.manual_pos is not None:
            raise IdlError(callback.manual_pos, f"callback {callback.name} has an event id "
                           f"and 'manual'; it is one or the other")
        if not callback.is_event and callback.manual_pos is None:
            raise IdlError(callback.pos, f"callback {callback.name} has no event id "
                           f"(or 'manual', when hand-written code calls it)")
        if callback.internal and not callback.is_event:
            raise IdlError(callback.pos, f"internal callback {callback.name} has no event id; "
                           f"an internal callback receives an event")

    def check_function(self, function, scope):
        service = scope.service
        self.check_decls(function.params, scope, function.name, "parameter")
        self.resolve(function.return_type, scope)
        if not service.is_common and not function.name.startswith(service.name + "_"):
            raise IdlError(function.pos, f"function '{function.name}' must start with "
                           f"'{service.name}_'")
        if function.implementation is None:
            raise IdlError(function.pos, f"function {function.name} has no implementation "
                           f"statement ({', '.join(IMPLEMENTATION_KINDS)})")
        if service.library is None:
            raise IdlError(function.pos, f"function {function.name} needs a library, and "
                           f"{service.name} has no 'library' statement")
        documented = set()
        for error in function.errors:
            self.check_error_doc(error, scope)
            if error.code in documented:
                raise IdlError(error.pos, f"{error.code} is documented twice for {function.name}")
            documented.add(error.code)
        getattr(self, f"check_{function.kind}_function")(function, scope)
        self.check_flags(function)
        self.check_unversioned(function)
        if function.kind in (REQUEST, ONEWAY, LOCAL):
            self.check_stub_names(function)

    def check_flags(self, function):
        seen = set()
        for name, pos in function.flags:
            if name not in REQUEST_FLAGS:
                raise IdlError(pos, f"unknown request flag '{name}' "
                               f"(one of {', '.join(sorted(REQUEST_FLAGS))})")
            if not function.is_remote:
                raise IdlError(pos, f"flag '{name}' needs a request or oneway function, "
                               f"and {function.name} is {function.kind}")
            if name == "nowait" and function.kind != ONEWAY:
                raise IdlError(pos, f"flag 'nowait' needs a oneway function, "
                               f"and {function.name} is {function.kind}")
            if name in seen:
                raise IdlError(pos, f"flag '{name}' is given twice for {function.name}")
            seen.add(name)

    def check_unversioned(self, function):
        pos = function.unversioned_pos
        if pos is None:
            return
        if not function.is_public:
            raise IdlError(pos, f"internal function {function.name} is not exported, "
                           f"so it cannot be 'unversioned'")
        if function.service.library.node is None:
            raise IdlError(pos, f"{function.name} is 'unversioned', and library "
                           f"{function.service.library.name} has no version node")

    def check_stub_names(self, function):
        for param in function.params:
            if param.name in RESERVED_STUB_NAMES or param.name.startswith(RESERVED_STUB_PREFIXES):
                raise IdlError(param.pos, f"parameter name '{param.name}' is reserved in "
                               f"generated stubs")

    def check_outcomes(self, function, scope):
        """The statuses the generated code and the runtime give are cs_error_t
        values, and `error` statements do not restate them: they document what
        only the IDL knows."""
        found = rules.outcomes(function)
        if found:
            status = self.lookup(STATUS_TYPE, scope, function.pos)
            values = {e.name for e in status.enumerators}
            for outcome in found:
                if outcome.status not in values:
                    raise IdlError(function.pos, f"{function.name} can return "
                                   f"{outcome.status}, which {STATUS_TYPE} does not declare")
        if self.documentation_rules:
            self.check_errors_not_restated(function, found)

    def check_errors_not_restated(self, function, found):
        for error in function.errors:
            for outcome in found:
                cause = next((c for c in outcome.causes if outcome.status == error.code
                              and _restates(error.text, c)), None)
                if cause is not None:
                    raise IdlError(error.pos, f"the manual of {function.name} already gives "
                                   f"{error.code} when {_clause(cause)}; document only the "
                                   f"other causes")

    def check_error_doc(self, error, scope):
        status = self.lookup(STATUS_TYPE, scope, error.pos)
        if error.code not in {e.name for e in status.enumerators}:
            raise IdlError(error.pos, f"'{error.code}' is not a {STATUS_TYPE} value")

    def require_status_return(self, function):
        if function.return_type.name != STATUS_TYPE or function.return_type.pointers:
            raise IdlError(function.return_type.pos, f"{function.name} must return {STATUS_TYPE}")

    def require_service(self, function):
        if function.service.is_common:
            raise IdlError(function.implementation.pos, f"'{function.kind}' functions need a "
                           f"service block, not a common block")

    def check_request_function(self, function, scope):
        self.require_service(function)
        self.require_status_return(function)
        if wire.handle_param(function.params, function.service) is None:
            raise IdlError(function.pos, f"{function.name} has no '{function.service.handle}' "
                           f"parameter to send the request on")

    def check_oneway_function(self, function, scope):
        self.check_request_function(function, scope)
        for param in function.params:
            if param.has("out"):
                raise IdlError(param.annotations["out"].pos,
                               f"@out on '{param.name}' of a oneway function, which has no reply")

    def check_local_function(self, function, scope):
        self.require_service(function)
        self.require_status_return(function)
        self.check_runtime_kind(function)

    def check_runtime_kind(self, function):
        """The shape of a function that is, or is written around, a runtime call."""
        kind = function.runtime_kind
        if kind not in LOCAL_KINDS:
            raise IdlError(function.implementation.pos, f"unknown local kind '{kind}' "
                           f"(one of {', '.join(LOCAL_KINDS)})")
        if kind == "initialize":
            self.check_initialize_shape(function)
        elif not function.params or \
                wire.handle_param(function.params[:1], function.service) is None:
            raise IdlError(function.pos, f"the first parameter of {function.name} must be "
                           f"a '{function.service.handle}'")

    def check_initialize_shape(self, function):
        first = function.params[0] if function.params else None
        handle = function.service.handle
        if first is None or first.ctype.name != handle or first.ctype.pointers != 1:
            raise IdlError(function.pos, f"the first parameter of {function.name} must be "
                           f"a '{handle} *'")
        tables = [p for p in function.params[1:] if callbacks_struct(p) is not None]
        if len(tables) > 1:
            raise IdlError(tables[1].pos, f"{function.name} has more than one callbacks struct")

    def check_manual_function(self, function, scope):
        if function.runtime_kind is not None:
            self.require_service(function)
            self.require_status_return(function)
            self.check_runtime_kind(function)

    def check_strerror_function(self, function, scope):
        enum = self.lookup(function.implementation.arg, scope, function.implementation.pos)
        if not isinstance(enum, Enum):
            raise IdlError(function.implementation.pos,
                           f"strerror needs an enum, and '{enum.name}' is not one")
        params = function.params
        if len(params) != 1 or params[0].ctype.definition is not enum or params[0].ctype.pointers:
            raise IdlError(function.pos, f"{function.name} must take one {enum.name} parameter")
        seen = {}
        for enumerator in enum.enumerators:
            if enumerator.number in seen:
                raise IdlError(enumerator.pos, f"{enumerator.name} has the value of "
                               f"{seen[enumerator.number].name}, and {function.name} needs "
                               f"one name per value")
            seen[enumerator.number] = enumerator
        ret = function.return_type
        if ret.text() != "const char *":
            raise IdlError(ret.pos, f"{function.name} must return const char *")

    # ---- wire -------------------------------------------------------------

    def check_wire_mapping(self, idl_file):
        """Map every request, reply and event, so that unsupported types fail here,
        with a position, rather than in an emitter."""
        field_lists = []
        for function in idl_file.remote_functions:
            requests = wire.request_fields(function)
            for field in requests:
                if field.repeated and field.kind == wire.MESSAGE and \
                        wire.counted_fields(field.struct):
                    raise IdlError(field.decl.pos, f"array '{field.name}' of {field.struct.name} "
                                   f"cannot be sent: the stub checks the counts of a struct "
                                   f"sent by value or pointer only")
            field_lists.append(requests)
            field_lists.append(wire.reply_fields(function))
        for callback in idl_file.event_callbacks:
            fields = wire.event_fields(callback)
            for field in fields:
                if field.gathered:
                    raise IdlError(field.decl.pos, f"iovec parameter '{field.name}' of "
                                   f"{callback.name} can be sent but not received")
            field_lists.append(fields)
        wire.wire_structs(field_lists)
        for struct in _request_structs(idl_file):
            for field in wire.struct_fields(struct):
                if field.kind == wire.STRING and field.decl.array is not None:
                    raise IdlError(field.decl.pos, f"char array field '{field.name}' of "
                                   f"{struct.name} can be received but not sent")
                if field.kind == wire.MESSAGE:
                    raise IdlError(field.decl.pos, f"struct field '{field.name}' of "
                                   f"{struct.name} can be received but not sent")


def _request_structs(idl_file):
    lists = [wire.request_fields(f) for f in idl_file.remote_functions]
    return wire.wire_structs(lists)


def _restates(text, cause):
    """True when `text` contains the clause `cause`, or is part of it, in any case."""
    return _contains(text, _clause(cause)) or _contains(cause, _clause(text))


def _contains(text, clause):
    pattern = rf"(?<![\w-]){re.escape(clause.lower())}(?![\w-])"
    return re.search(pattern, text.lower()) is not None


def _clause(cause):
    """`The connection was lost.` -> `the connection was lost`."""
    cause = cause.rstrip(".")
    return cause[0].lower() + cause[1:] if cause[:2].istitle() else cause


def _block(service):
    return "common" if service.is_common else "service"


def _file_start(idl_file):
    return Pos(idl_file.path, 1, 1)


def validate(files, documentation_rules=True):
    Validator(files, documentation_rules).run()


def check_service_ids(files):
    """Every service the daemon serves has a number of its own: its place
    in conclaved's list of services and its id in cmap's keys."""
    by_id = {}
    for idl_file in files:
        service = idl_file.service
        if service.is_common:
            if service.id is not None:
                raise IdlError(service.id_pos, f"common block {service.name} has no server: no 'id'")
            continue
        if service.id is None:
            if idl_file.has_server:
                raise IdlError(service.pos, f"{service.name} has requests but no 'id' statement "
                               f"(its service number)")
            continue
        if service.id in by_id:
            raise IdlError(service.id_pos, f"service number {service.id} is already "
                           f"{by_id[service.id].name}'s ({by_id[service.id].pos})")
        by_id[service.id] = service
