"""What changed between two versions of one IDL file, and whether programs and
libraries built against the old one still work with the new one.

A change is breaking when it breaks the ABI or the API of the public header
(a removed or re-typed function, a changed parameter list, struct layout,
enumerator, define value or callback type, a changed symbol version), the
behaviour a caller relies on (a NULL or a length the stubs now refuse), or
the wire between old libraries and a new daemon (a removed or renumbered
request or event, a message field that changed its number or type). Anything
else found is compatible: new functions, events, enumerators and errors, and
documentation."""

from dataclasses import dataclass

from . import naming, rules, wire
from .model import (
    LOCAL, MANUAL, REQUEST, Alias, Callback, Define, Enum, Function, Inline, STATUS_TYPE, Struct, Typedef,
)

BREAKING = "breaking"
COMPATIBLE = "compatible"

KIND_NAMES = {Function: "function", Callback: "callback type", Struct: "struct",
              Typedef: "typedef", Enum: "enum", Define: "define", Alias: "alias"}


@dataclass(frozen=True)
class Finding:
    pos: object
    kind: str       # BREAKING or COMPATIBLE
    what: str

    def __str__(self):
        return f"{self.pos.file}:{self.pos.line}: {self.kind}: {self.what}"


def compare(old, new):
    """The findings between two validated IdlFiles, in file and line order."""
    comparison = Comparison(old, new)
    comparison.service_block()
    comparison.definitions()
    comparison.inline_code()
    if not new.service.is_common:
        comparison.requests()
        comparison.events()
        comparison.wire_structs()
    return sorted(comparison.findings, key=lambda f: (f.pos.file, f.pos.line, f.what))


class Comparison:
    def __init__(self, old, new):
        self.old = old
        self.new = new
        self.findings = []

    def breaking(self, pos, what):
        self.findings.append(Finding(pos, BREAKING, what))

    def compatible(self, pos, what):
        self.findings.append(Finding(pos, COMPATIBLE, what))

    def judge(self, breaks, pos, what):
        (self.breaking if breaks else self.compatible)(pos, what)

    # ---- the service block -------------------------------------------------

    def service_block(self):
        old, new = self.old.service, self.new.service
        pos = new.pos
        if old.name != new.name:
            self.breaking(pos, f"service renamed from {old.name} to {new.name}")
        self.version(old, new)
        for what, before, after in (("header", old.header, new.header),
                                    ("handle type", old.handle, new.handle)):
            if before != after:
                self.breaking(pos, f"{what} changed from {before} to {after}")
        self.library(old.library, new.library, pos)
        if old.includes != new.includes:
            self.compatible(pos, "the header's includes changed")
        if (old.doc, old.example) != (new.doc, new.example):
            self.compatible(pos, f"documentation of {new.name} changed")

    def version(self, old, new):
        (old_major, old_minor), (new_major, new_minor) = old.version, new.version
        text = f"version changed from {old_major}.{old_minor} to {new_major}.{new_minor}"
        if old_major != new_major:
            self.breaking(new.pos, f"{text}: the daemon refuses clients of another major version")
        elif new_minor < old_minor:
            self.breaking(new.pos, f"{text}: the daemon refuses clients of a higher minor version")
        elif new_minor > old_minor:
            self.compatible(new.pos, text)

    def library(self, old, new, pos):
        if old is None or new is None:
            if old is not new:
                self.breaking(pos, "the library was added or removed")
            return
        for what in ("name", "soname", "node"):
            before, after = getattr(old, what), getattr(new, what)
            if before != after:
                self.breaking(new.pos, f"library {what} changed from {before} to {after}")
        if old.version != new.version:
            self.compatible(new.pos, f"library version changed from {old.version} to {new.version}")

    # ---- definitions -------------------------------------------------------

    def definitions(self):
        old, new = named_definitions(self.old), named_definitions(self.new)
        for name, before in old.items():
            after = new.get(name)
            if after is None:
                self.removed(before, name)
            elif not _is_public(before) and not _is_public(after):
                continue    # internal: only its request or event matters, compared on the wire
            elif type(after) is not type(before):
                self.breaking(after.pos, f"{name} changed from a {KIND_NAMES[type(before)]} "
                              f"to a {KIND_NAMES[type(after)]}")
            else:
                getattr(self, f"compare_{type(after).__name__.lower()}")(before, after)
        for name, after in new.items():
            if name not in old and _is_public(after):
                self.compatible(after.pos, f"new {KIND_NAMES[type(after)]} {name}")

    def removed(self, before, name):
        if _is_public(before):
            self.breaking(before.pos, f"{KIND_NAMES[type(before)]} {name} removed")

    def compare_typedef(self, old, new):
        if old.ctype.text() != new.ctype.text():
            self.breaking(new.pos, f"typedef {new.name} changed from {old.ctype.text()} to "
                          f"{new.ctype.text()}")
        self.documentation(old, new, f"typedef {new.name}")

    def compare_alias(self, old, new):
        if old.target != new.target:
            self.breaking(new.pos, f"alias {new.name} now stands for {new.target}, "
                          f"not {old.target}")
        self.documentation(old, new, f"alias {new.name}")

    def compare_define(self, old, new):
        name = new.name
        if (old.params, old.value) != (new.params, new.value):
            users = sorted(set(define_users(self.old, name)) | set(define_users(self.new, name)))
            layout = f", which changes {', '.join(users)}" if users else ""
            self.breaking(new.pos, f"{name} changed from {old.value} to {new.value}{layout}")
        self.documentation(old, new, name)

    def compare_enum(self, old, new):
        title = f"enum {new.name}"
        if old.is_typedef != new.is_typedef:
            self.breaking(new.pos, f"{title} changed between a typedef and a tagged enum")
        before = {e.name: e for e in old.enumerators}
        after = {e.name: e for e in new.enumerators}
        for name, enumerator in before.items():
            if name not in after:
                self.breaking(enumerator.pos, f"enumerator {name} of {title} removed")
            elif after[name].number != enumerator.number:
                self.breaking(after[name].pos, f"{name} changed from {enumerator.value} to "
                              f"{after[name].value}")
            elif after[name].doc != enumerator.doc:
                self.compatible(after[name].pos, f"documentation of {name} changed")
        for name, enumerator in after.items():
            if name not in before:
                what = "new error" if new.name == STATUS_TYPE else f"new enumerator of {title}:"
                self.compatible(enumerator.pos, f"{what} {name} = {enumerator.value}")
        self.documentation(old, new, title)

    def compare_struct(self, old, new):
        title = new.type_text()
        before = [(_decl_type(f), f.name) for f in old.fields]
        after = [(_decl_type(f), f.name) for f in new.fields]
        same_types = [t for t, _ in before] == [t for t, _ in after]
        if before == after:
            pass
        elif not same_types or sorted(before) == sorted(after):
            self.breaking(new.pos, f"the layout of {title} changed: "
                          f"{_list_change(before, after)}")
        else:
            for (_, name_before), (_, name_after), decl in zip(before, after, new.fields):
                if name_before != name_after:
                    self.breaking(decl.pos, f"field {name_before} of {title} renamed to "
                                  f"{name_after}")
        self.documentation(old, new, title)

    def compare_callback(self, old, new):
        title = f"callback type {new.name}"
        if _is_public(old) and not _is_public(new):
            self.breaking(new.pos, f"{title} left the public header")
        if _signature(old) != _signature(new):
            self.breaking(new.pos, f"{title} changed from {_signature(old)} to {_signature(new)}")
        if old.is_event != new.is_event:
            self.breaking(new.pos, f"{title} is {'now' if new.is_event else 'no longer'} "
                          f"an event")
        self.documentation(old, new, title)

    def compare_function(self, old, new):
        if _is_public(old) != _is_public(new):
            self.judge(not _is_public(new), new.pos, f"function {new.name} is "
                       f"{'now' if _is_public(new) else 'no longer'} exported")
            return
        if _signature(old) != _signature(new):
            self.breaking(new.pos, f"function {new.name} changed from {_signature(old)} to "
                          f"{_signature(new)}")
        else:
            self.parameters(old, new)
        if (old.unversioned_pos is None) != (new.unversioned_pos is None):
            self.breaking(new.pos, f"function {new.name} moves to another symbol version")
        self.implementation(old, new)
        self.flags(old, new)
        self.errors(old, new)
        self.documentation(old, new, f"function {new.name}")

    def parameters(self, old, new):
        """Parameters of the same types: their names and annotations."""
        for before, after in zip(old.params, new.params):
            where = f"parameter {after.name} of {new.name}"
            if before.name != after.name:
                self.compatible(after.pos, f"parameter {before.name} of {new.name} renamed "
                                f"to {after.name}")
            if before.has("optional") != after.has("optional"):
                self.judge(before.has("optional"), after.pos, f"{where} may "
                           f"{'now' if after.has('optional') else 'no longer'} be NULL")
            if (before.has("out"), before.count_param) != (after.has("out"), after.count_param):
                self.judge(old.kind != MANUAL, after.pos, self.annotation_change(old, where))
            self.length_bounds(before, after, where)

    @staticmethod
    def annotation_change(old, where):
        """A manual function's code, not its annotations, made its contract:
        annotations a generated stub now follows describe that contract."""
        if old.kind == MANUAL:
            return f"{where} changed its @out or @count, which describe what {old.name}'s " \
                   f"hand-written code did"
        return f"{where} changed its @out or @count"

    def length_bounds(self, before, after, where):
        old_bounds, new_bounds = before.length_bounds, after.length_bounds
        if old_bounds == new_bounds and before.length_error == after.length_error:
            return
        if new_bounds is None:
            self.compatible(after.pos, f"{where} has no length bounds any more")
        elif old_bounds is None or before.length_error != after.length_error:
            self.breaking(after.pos, f"{where} now refuses lengths outside @len"
                          f"{new_bounds} with {after.length_error}")
        else:
            narrower = new_bounds[0] > old_bounds[0] or new_bounds[1] < old_bounds[1]
            self.judge(narrower, after.pos, f"length bounds of {where} changed from "
                       f"{old_bounds} to {new_bounds}")

    def implementation(self, old, new):
        """A local function that makes another runtime call breaks its callers;
        another implementation of the same function does not (a request's
        change shows on the wire)."""
        before, after = _implementation(old), _implementation(new)
        if old.kind == new.kind == LOCAL and before != after:
            self.breaking(new.pos, f"function {new.name} is now {after}, not {before}")
        elif before != after and not (old.is_remote and new.is_remote):
            self.compatible(new.pos, f"function {new.name} is now {after}, not {before}")

    def flags(self, old, new):
        before, after = {n for n, _ in old.flags}, {n for n, _ in new.flags}
        for flag in sorted(after - before):
            what = {"quorate_only": "the daemon now refuses it while inquorate",
                    "nowait": "it may now return CS_ERR_TRY_AGAIN when the connection is full"}
            self.breaking(new.pos, f"function {new.name} gains flag {flag}: {what[flag]}")
        for flag in sorted(before - after):
            self.compatible(new.pos, f"function {new.name} loses flag {flag}")

    def errors(self, old, new):
        """The errors its manual page lists, from the generator and the IDL."""
        before, after = documented_errors(old), documented_errors(new)
        for code in sorted(set(after) - set(before)):
            self.compatible(new.pos, f"{new.name} documents a new error {code}")
        for code in sorted(set(before) - set(after)):
            self.compatible(new.pos, f"{new.name} no longer documents {code}")
        for code in sorted(set(before) & set(after)):
            if before[code] != after[code]:
                self.compatible(new.pos, f"documentation of {code} of {new.name} changed")

    def documentation(self, old, new, title):
        if (old.doc, getattr(old, "example", "")) != (new.doc, getattr(new, "example", "")):
            self.compatible(new.pos, f"documentation of {title} changed")

    def inline_code(self):
        before = [i.code for i in self.old.of_type(Inline)]
        after = self.new.of_type(Inline)
        if before != [i.code for i in after]:
            pos = after[0].pos if after else self.new.service.pos
            self.compatible(pos, "inline code changed (programs keep the copy they were "
                            "built with)")

    # ---- the wire ----------------------------------------------------------

    def requests(self):
        self.numbered("request", self.old.remote_functions, self.new.remote_functions,
                      lambda f: f.request_id, lambda f: f.implementation.pos,
                      "older libraries still send it", self.request)

    def events(self):
        self.numbered("event", self.old.event_callbacks, self.new.event_callbacks,
                      lambda c: c.event_id, lambda c: c.event_pos,
                      "older libraries wait for it in vain", self.event)

    def numbered(self, what, old_items, new_items, number, pos, removed_why, compare_pair):
        """Requests or events, by name: removed, kept (compare_pair), renamed (a
        new name at the id of one gone, compared as the same), or new at a free
        id. Names never travel: the id and the fields do."""
        before = {item.name: item for item in old_items}
        after = {item.name: item for item in new_items}
        old_ids = {number(item): item for item in old_items}
        renamed = {}
        for name, item in after.items():
            previous = old_ids.get(number(item))
            if name not in before and previous is not None and previous.name not in after:
                renamed[previous.name] = item
        for name, item in before.items():
            if name in after:
                compare_pair(item, after[name])
            elif name in renamed:
                new = renamed[name]
                self.compatible(pos(new), f"{what} {name} (id {number(item)}) renamed {new.name}")
                compare_pair(item, new)
            else:
                self.breaking(pos(item), f"{what} {name} (id {number(item)}) removed: "
                              f"{removed_why}")
        for name, item in after.items():
            if name not in before and item not in renamed.values():
                self.compatible(pos(item), f"new {what} {name} at id {number(item)}")

    def request(self, old, new):
        pos = new.implementation.pos
        if old.request_id != new.request_id:
            self.breaking(pos, f"request id of {new.name} changed from {old.request_id} to "
                          f"{new.request_id}")
        if old.kind != new.kind:
            self.breaking(pos, f"{new.name} changed from {old.kind} to {new.kind}: the "
                          f"daemon's reply and the library's wait no longer match")
        self.message(naming.request_message(new), wire.request_fields(old),
                     wire.request_fields(new), pos)
        if old.kind == new.kind == REQUEST:
            self.message(naming.reply_message(new), wire.reply_fields(old),
                         wire.reply_fields(new), pos)

    def event(self, old, new):
        if old.event_id != new.event_id:
            self.breaking(new.event_pos, f"event id of {new.name} changed from "
                          f"{old.event_id} to {new.event_id}")
        self.message(naming.event_message(new), wire.event_fields(old),
                     wire.event_fields(new), new.event_pos)

    def wire_structs(self):
        """The messages of structs carried on the wire, each compared once."""
        before = {naming.message_of_struct(s): s for s in carried_structs(self.old)}
        for struct in carried_structs(self.new):
            message = naming.message_of_struct(struct)
            if message in before:
                self.message(message, wire.struct_fields(before[message]),
                             wire.struct_fields(struct), struct.pos)

    def message(self, title, old_fields, new_fields, pos):
        """Fields by number: a removed or re-typed field breaks the wire; a new one
        (an older peer leaves it at its default) does not."""
        before = {f.number: f for f in old_fields}
        after = {f.number: f for f in new_fields}
        for number, field in before.items():
            if number not in after:
                self.breaking(pos, f"field {number} ({field.name}) of {title} removed")
            elif _wire_type(after[number]) != _wire_type(field):
                self.breaking(pos, f"field {number} of {title} changed from "
                              f"{_wire_type(field)} {field.name} to "
                              f"{_wire_type(after[number])} {after[number].name}")
        for number, field in after.items():
            if number not in before:
                self.compatible(pos, f"{title} gains field {number} ({field.name})")


# ---- helpers -------------------------------------------------------------------

def named_definitions(idl_file):
    """{name: definition} of the definitions of a file that have names."""
    found = {}
    for item in idl_file.items:
        if isinstance(item, (Struct, Enum)):
            if not getattr(item, "external", False):
                found[item.type_text()] = item
        elif isinstance(item, tuple(KIND_NAMES)):
            found[item.name] = item
    return found


def documented_errors(function):
    """{status: [causes]} as the function's manual page lists them."""
    errors = {}
    causes = [(o.status, o.text) for o in rules.outcomes(function)]
    for status, text in causes + [(e.code, e.text) for e in function.errors]:
        if text not in errors.setdefault(status, []):
            errors[status].append(text)
    return errors


def _implementation(function):
    """`request 3`, `local dispatch`, `manual initialize`, `manual`."""
    arg = function.implementation.arg
    return f"{function.kind} {arg}" if arg is not None else function.kind


def carried_structs(idl_file):
    """The structs the requests, replies and events of a file carry."""
    lists = [wire.event_fields(c) for c in idl_file.event_callbacks]
    for function in idl_file.remote_functions:
        lists += [wire.request_fields(function), wire.reply_fields(function)]
    return wire.wire_structs(lists)


def define_users(idl_file, name):
    """What define `name` shapes: struct layouts, and parameters (array sizes, @len)."""
    users = []
    for item in idl_file.items:
        if isinstance(item, Struct) and any(f.array == name for f in item.fields):
            users.append(f"the layout of {item.type_text()}")
        elif isinstance(item, (Function, Callback)) and any(
                p.array == name or name in (p.length_bound_texts or ()) for p in item.params):
            users.append(f"the parameters of {item.name}")
    return users


def _is_public(definition):
    return getattr(definition, "is_public", True)


def _decl_type(decl):
    return decl.ctype.declare("", decl.array).strip()


def _signature(function):
    params = ", ".join(_decl_type(p) for p in function.params) or "void"
    return f"{function.return_type.text().strip()} ({params})"


def _wire_type(field):
    return ("repeated " if field.repeated else "") + field.proto_type


def _list_change(before, after):
    """The first difference between two lists of (type, name) fields, in words."""
    names_before, names_after = [n for _, n in before], [n for _, n in after]
    for name in names_before:
        if name not in names_after:
            return f"field {name} removed"
    for name in names_after:
        if name not in names_before:
            return f"field {name} added"
    for (type_before, name), (type_after, _) in zip(sorted(before, key=lambda x: x[1]),
                                                     sorted(after, key=lambda x: x[1])):
        if type_before != type_after:
            return f"field {name} changed from {type_before} to {type_after}"
    return "fields reordered"
