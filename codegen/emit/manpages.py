"""Man pages in mdoc: one per public function, and one overview per IDL file.

Cross references are written as plain `name(3)` text rather than `.Xr`:
`mandoc -Tlint -W all` reports every `.Xr` to a page that is not installed,
and these pages are linted before they are installed."""

import re

from .. import rules
from ..model import Callback, Define, Enum, STATUS_TYPE, STRERROR, Struct, Typedef
from . import ctext

# Fixed, so that the output does not depend on when it was generated.
MANUAL_DATE = "November 21, 2026"

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"(])")
_CALLED_FUNCTION = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\(\)")
_PAGE_REFERENCE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\(([1-9])\)")
_FUNCTION_WORD = re.compile(r"^([(\[]?)([A-Za-z_][A-Za-z0-9_]*)\(\)(\S*)$")
_CLOSING_DELIMITERS = ".,:;)]?!"
TEXT_WIDTH = 78
_IDENTIFIER = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")

LIFECYCLE_KINDS = ("initialize", "finalize", "fd_get", "dispatch")
PAIRED_SUFFIXES = (("start", "stop"), ("get", "set"), ("register", "unregister"))


def emit(program, idl_file):
    pages = {}
    for function in idl_file.public_functions:
        pages[f"man/man3/{function.name}.3"] = FunctionPage(program, idl_file, function).render()
    name = overview_name(idl_file)
    pages[f"man/man3/{name}.3"] = OverviewPage(program, idl_file).render()
    return pages


def overview_name(idl_file):
    return f"{idl_file.service.name}_overview"


# ---- mdoc text helpers -------------------------------------------------------

def escape_text(line):
    line = line.replace("\\", "\\e")
    if line.startswith((".", "'")):
        line = "\\&" + line
    return line


def quote_arg(text):
    text = text.replace("\\", "\\e").replace('"', '\\(dq')
    return f'"{text}"' if (" " in text or not text) else text


def paragraphs(doc):
    """Lines for `doc`: each sentence starts a line, `.Pp` between paragraphs."""
    out = []
    for paragraph in doc.split("\n\n"):
        text = " ".join(paragraph.split())
        if not text:
            continue
        if out:
            out.append(".Pp")
        for sentence in _SENTENCE_END.split(text):
            out.extend(flow(sentence))
    return out


def flow(sentence):
    """One sentence as text lines of at most TEXT_WIDTH bytes, with every
    `function()` turned into an `.Fn` macro line."""
    lines, current = [], []

    def flush():
        if current:
            lines.append(escape_text(" ".join(current)))
            current.clear()

    for word in sentence.split(" "):
        match = _FUNCTION_WORD.match(word)
        if match:
            flush()
            lines.append(fn_macro(*match.groups()))
            continue
        if current and len(" ".join(current + [word])) > TEXT_WIDTH:
            flush()
        current.append(word)
    flush()
    return lines


def fn_macro(prefix, name, suffix):
    """`.Fn name` with the punctuation around it as mdoc delimiters."""
    line = f".Fn {name}"
    if prefix:
        line = f".Pf {quote_arg(prefix)} Fn {name}"
    if suffix and all(ch in _CLOSING_DELIMITERS for ch in suffix):
        line += "".join(f" {ch}" for ch in suffix)
    elif suffix:
        line += f" Ns {quote_arg(suffix)}"
    return line


def literal(text):
    lines = [escape_text(line) if line else "" for line in text.rstrip("\n").split("\n")]
    return [".Bd -literal -offset indent"] + lines + [".Ed"]


def summary(doc):
    """A one-line `.Nd` from the first sentence of `doc`."""
    first = re.split(r"(?<=\.)\s", " ".join(doc.split()))[0] if doc.strip() else ""
    first = re.split(r"[:;] ", first)[0].rstrip(".,;: ")
    if first[:1].isupper() and first[1:2].islower():
        first = first[0].lower() + first[1:]
    return first or "no description"


def header_lines(name, section, idl_file):
    return [
        f".\\\" {ctext.notice_text(idl_file)}",
        f".Dd {MANUAL_DATE}",
        f".Dt {name.upper()} {section}",
        ".Os",
    ]


def library_lines(idl_file):
    library = idl_file.service.library
    if library is None:
        return []
    what = "common" if idl_file.service.is_common else f"{idl_file.service.name} client"
    return [".Sh LIBRARY", f"Conclave {what} library", f".Pq Fl l{library.link_name}"]


def see_also_lines(references, own_name):
    names = sorted({ref for ref in references if ref[0] != own_name})
    if not names:
        return []
    items = [f"{name}({section})" for name, section in names]
    return [".Sh SEE ALSO"] + [item + ("," if i < len(items) - 1 else "")
                               for i, item in enumerate(items)]


def referenced_pages(text, program):
    """Pages the text names: `function()` of a public function, or `name(N)`."""
    refs = set()
    for name in _CALLED_FUNCTION.findall(text):
        function = program.find_function(name)
        if function is not None and function.is_public:
            refs.add((name, "3"))
    for name, section in _PAGE_REFERENCE.findall(text):
        refs.add((name, section))
    return refs


def fn_line(function):
    args = [quote_arg(p.declare()) for p in function.params] or ["void"]
    return [f".Ft {quote_arg(function.return_type.text().rstrip())}",
            f".Fn {function.name} " + " ".join(args)]


# ---- the types a page shows --------------------------------------------------

def types_used(program, function):
    """Structs, callback types and enums that the function's parameters use, or
    that its doc text names, with everything those use in turn; in header order."""
    found = []

    def visit(definition):
        if definition is None or definition in found:
            return
        if isinstance(definition, Struct) and definition.external:
            return
        if isinstance(definition, (Struct, Callback, Enum)):
            found.append(definition)
        decls = getattr(definition, "fields", None) or getattr(definition, "params", None) or []
        for decl in decls:
            visit(_named_type(decl.ctype))

    for param in function.params:
        visit(_named_type(param.ctype))
    by_name = _definitions_by_name(program)
    for word in _IDENTIFIER.findall(function.doc):
        if isinstance(by_name.get(word), (Struct, Callback)):
            visit(by_name[word])
    order = _declaration_order(program)
    return sorted(found, key=lambda d: order[id(d)])


def _named_type(ctype):
    """The definition behind a type, looking through pointers and typedefs."""
    definition = ctype.definition
    while definition is not None and hasattr(definition, "ctype"):
        definition = definition.ctype.definition
    return definition


def _definitions_by_name(program):
    table = {}
    for idl_file in program.files:
        for item in idl_file.items:
            if isinstance(item, (Struct, Callback, Enum)):
                table[item.name] = item
    return table


def _declaration_order(program):
    order = {}
    for idl_file in program.files:
        for item in idl_file.items:
            order[id(item)] = len(order)
    return order


def type_title(definition):
    if isinstance(definition, Struct):
        return f".It Vt {quote_arg(definition.type_text())}"
    return f".It Vt {definition.name}"


def enum_value_list(enum, idl_file=None):
    """The enumerators with their docs, and the aliases idl_file declares for them."""
    lines = [".Bl -tag -width Ds"]
    for enumerator in enum.enumerators:
        lines.append(f".It Dv {enumerator.name}")
        lines += paragraphs(enumerator.doc) or [f"Value {enumerator.value}."]
        lines += also_spelled(idl_file, enumerator.name)
    return lines + [".El"]


def also_spelled(idl_file, name, subject="Also"):
    """A sentence naming the aliases idl_file declares for `name`, or nothing."""
    aliases = idl_file.aliases_of(name) if idl_file is not None else []
    if not aliases:
        return []
    return flow(f"{subject} spelled {_join_names(aliases)}.")


def _join_names(names):
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


# ---- errors ------------------------------------------------------------------

class ErrorList:
    """Every error a function can return: the IDL's, and the ones the generated
    code and the runtime add. Texts for one code are joined."""

    def __init__(self, status_enum):
        self.status_enum = status_enum
        self.texts = {}

    def add(self, code, text):
        self.texts.setdefault(code, [])
        if text not in self.texts[code]:
            self.texts[code].append(text)

    def lines(self, idl_file=None):
        values = {e.name: e.number for e in self.status_enum.enumerators}
        out = [".Bl -tag -width Er"]
        for code in sorted(self.texts, key=lambda c: values[c]):
            out.append(f".It Er {code}")
            for text in self.texts[code]:
                out += paragraphs(text)
            out += also_spelled(idl_file, code)
        return out + [".El"]

    def __bool__(self):
        return bool(self.texts)


# ---- examples ------------------------------------------------------------------

DISPATCH_LOOP_INTRO = "Running the callbacks of a connection as its events arrive, with poll(2):"


def example_lines(example):
    """An EXAMPLES section from (intro sentence, code): the sentence, then the code."""
    intro, code = example
    if not code:
        return []
    return [".Sh EXAMPLES"] + (flow(intro) if intro else []) + literal(code)


def function_example(function, idl_file):
    """(intro, code) of a function page's example: the IDL's, or for a dispatch
    function the generated poll loop."""
    if function.example or function.runtime_kind != "dispatch":
        return "", function.example
    return DISPATCH_LOOP_INTRO, dispatch_loop(idl_file)


def overview_example(idl_file):
    """(intro, code) of an overview's example: the IDL's, or the generated poll loop."""
    if idl_file.service.example:
        return "", idl_file.service.example
    return DISPATCH_LOOP_INTRO, dispatch_loop(idl_file)


def dispatch_loop(idl_file):
    """C code that runs a connection's callbacks from a poll() loop over the fd
    of the service's fd_get function; "" for a service without fd_get and dispatch."""
    fd_get, dispatch = (_runtime_function(idl_file, kind) for kind in ("fd_get", "dispatch"))
    if fd_get is None or dispatch is None:
        return ""
    return (f"#include <errno.h>\n#include <poll.h>\n#include <{idl_file.service.header}>\n\n"
            "/* Runs the callbacks of handle as its events arrive, until an error. */\n"
            f"static cs_error_t run_callbacks({idl_file.service.handle} handle)\n"
            "{\n"
            "\tstruct pollfd pfd = { .events = POLLIN };\n"
            f"\tcs_error_t err = {fd_get.name}(handle, &pfd.fd);\n\n"
            "\twhile (err == CS_OK) {\n"
            "\t\tif (poll(&pfd, 1, -1) < 0 && errno != EINTR)\n"
            "\t\t\treturn CS_ERR_LIBRARY;\n"
            f"\t\terr = {dispatch.name}(handle, {_dispatch_all(dispatch)});\n"
            "\t}\n"
            "\treturn err;\n"
            "}\n")


def _runtime_function(idl_file, kind):
    return next((f for f in idl_file.public_functions if f.runtime_kind == kind), None)


def _dispatch_all(dispatch):
    """The dispatch mode that runs every pending callback (CS_DISPATCH_ALL)."""
    modes = _named_type(dispatch.params[1].ctype).enumerators
    return next((m.name for m in modes if m.name.endswith("DISPATCH_ALL")), modes[0].name)


# ---- pages ---------------------------------------------------------------------

class FunctionPage:
    def __init__(self, program, idl_file, function):
        self.program = program
        self.idl_file = idl_file
        self.function = function

    def render(self):
        function = self.function
        lines = header_lines(function.name, 3, self.idl_file)
        lines += [".Sh NAME", f".Nm {function.name}", f".Nd {summary(function.doc)}"]
        lines += library_lines(self.idl_file)
        lines += [".Sh SYNOPSIS", f".In {self.idl_file.service.header}"] + fn_line(function)
        lines += self.description()
        errors = self.errors()
        lines += [".Sh RETURN VALUES"] + self.return_value(errors)
        lines += example_lines(function_example(function, self.idl_file))
        if errors:
            lines += [".Sh ERRORS"] + errors.lines(self.idl_file)
        lines += see_also_lines(self.see_also(errors), function.name)
        return "\n".join(lines) + "\n"

    def description(self):
        lines = [".Sh DESCRIPTION"] + (paragraphs(self.function.doc) or ["Not documented."])
        note = ctext.ownership_note(self.function)
        if note:
            lines += [".Pp"] + paragraphs(note)
        for param in self.function.params:
            enum = _named_type(param.ctype)
            if isinstance(enum, Enum) and enum.name != STATUS_TYPE and param.ctype.pointers == 0:
                lines += [".Pp", f"The values of {param.name}:"]
                lines += enum_value_list(enum, self.idl_file)
            lines += self.type_aliases(param.ctype.name, f"The type of {param.name}")
        shown = [t for t in types_used(self.program, self.function)
                 if not isinstance(t, Enum)]
        if shown:
            text = "\n".join(ctext.definition_text(t, docs=False) for t in shown)
            lines += [".Pp", "The types it uses:"] + literal(text)
            lines += [".Bl -tag -width Ds"]
            for definition in shown:
                lines.append(type_title(definition))
                lines += paragraphs(definition.doc) or ["Not documented."]
            lines.append(".El")
        return lines

    def type_aliases(self, type_name, what):
        aliases = self.idl_file.aliases_of(type_name)
        if not aliases:
            return []
        return [".Pp"] + flow(f"{what}, {type_name}, is also spelled {_join_names(aliases)}, "
                              f"as in older programs; both spellings are the same type.")

    def errors(self):
        status = self.program.status_enum(self.idl_file)
        errors = ErrorList(status)
        if self.function.return_type.name != STATUS_TYPE or self.function.kind == STRERROR:
            return errors
        for outcome in rules.outcomes(self.function):
            errors.add(outcome.status, outcome.text)
        for error in self.function.errors:
            errors.add(error.code, error.text)
        return errors

    def return_value(self, errors):
        function = self.function
        if function.kind == STRERROR:
            return flow(f"{function.name} returns a pointer to a static string, which the "
                        f"caller must not modify or free.")
        if errors:
            return [f"{function.name} returns", ".Dv CS_OK", "on success, or one of the "
                    "errors listed below."] + \
                self.type_aliases(function.return_type.name, "The return type") + \
                also_spelled(self.idl_file, "CS_OK", "CS_OK is also")
        return [f"{function.name} returns the value described above."]

    def see_also(self, errors):
        function = self.function
        refs = {(overview_name(self.idl_file), "3")}
        refs |= referenced_pages(function.doc, self.program)
        refs |= referenced_pages(function_example(function, self.idl_file)[0], self.program)
        refs |= {(f.name, "3") for f in related_functions(self.idl_file, function)}
        if errors:
            refs.add(("cs_strerror", "3"))
        return refs


def related_functions(idl_file, function):
    """The service's family of a function: its life-cycle calls (initialize,
    fd_get, dispatch, finalize), the functions of its name group (cmap_get,
    cmap_get_int8, ...), and the counterpart of a start/stop, get/set or
    register/unregister pair. In a common block, every other function."""
    functions = idl_file.public_functions
    if function.service.is_common:
        return [f for f in functions if f is not function]
    related = [f for f in functions if _is_lifecycle(f) or _name_group(f) == _name_group(function)]
    for first, second in PAIRED_SUFFIXES:
        for mine, theirs in ((first, second), (second, first)):
            if function.name.endswith(mine):
                partner = function.name[:-len(mine)] + theirs
                related += [f for f in functions if f.name == partner]
    return [f for f in related if f is not function]


def _name_group(function):
    """The first word of a function's short name: `get` for cmap_get_int8."""
    return function.short_name.split("_")[0]


def _is_lifecycle(function):
    return function.runtime_kind in LIFECYCLE_KINDS


class OverviewPage:
    def __init__(self, program, idl_file):
        self.program = program
        self.idl_file = idl_file
        self.service = idl_file.service

    def render(self):
        name = overview_name(self.idl_file)
        service = self.service
        what = f"the {service.name} client library"
        if service.is_common:
            what = "shared types and error codes" if service.library else \
                f"the definitions of {service.header}"
        lines = header_lines(name, 3, self.idl_file)
        lines += [".Sh NAME", f".Nm {name}", f".Nd overview of {what}"]
        lines += library_lines(self.idl_file)
        lines += [".Sh SYNOPSIS", f".In {service.header}"]
        lines += [".Sh DESCRIPTION"] + (paragraphs(service.doc) or ["Not documented."])
        lines += self.functions_section()
        lines += self.types_section()
        lines += self.callbacks_section()
        lines += self.enums_section()
        lines += self.constants_section()
        lines += self.aliases_section()
        lines += example_lines(overview_example(self.idl_file))
        refs = {(f.name, "3") for f in self.idl_file.public_functions}
        refs |= referenced_pages(service.doc, self.program)
        refs |= referenced_pages(overview_example(self.idl_file)[0], self.program)
        refs |= {(overview_name(f), "3") for f in self.idl_file.imported}
        lines += see_also_lines(refs, name)
        return "\n".join(lines) + "\n"

    def functions_section(self):
        functions = self.idl_file.public_functions
        if not functions:
            return []
        lines = [".Ss Functions", ".Bl -tag -width Ds"]
        for function in functions:
            lines += [f".It Fn {function.name}"] + flow(summary(function.doc) + ".")
        return lines + [".El"]

    def types_section(self):
        types = [item for item in self.idl_file.items if isinstance(item, (Typedef, Struct))
                 and not getattr(item, "external", False)]
        if not types:
            return []
        text = "\n".join(ctext.definition_text(t, docs=False) for t in types)
        lines = [".Ss Types"] + literal(text) + [".Bl -tag -width Ds"]
        for definition in types:
            lines.append(type_title(definition))
            lines += paragraphs(definition.doc) or ["Not documented."]
        return lines + [".El"]

    def callbacks_section(self):
        callbacks = self.idl_file.public_callbacks
        if not callbacks:
            return []
        text = "\n".join(ctext.callback_typedef(c) for c in callbacks)
        lines = [".Ss Callbacks"] + flow("Callbacks run only inside the dispatch function, "
                                         "on the thread that calls it.") + literal(text)
        lines.append(".Bl -tag -width Ds")
        for callback in callbacks:
            lines += [f".It Vt {callback.name}"] + paragraphs(callback.doc)
        return lines + [".El"]

    def enums_section(self):
        lines = []
        for enum in self.idl_file.of_type(Enum):
            lines += [".Ss " + enum.type_text()] + paragraphs(enum.doc) + enum_value_list(enum, self.idl_file)
        return lines

    def aliases_section(self):
        aliases = self.idl_file.aliases
        if not aliases:
            return []
        text = "".join(ctext.alias_line(alias) for alias in aliases)
        lines = [".Ss Other names"] + flow("Older spellings, for programs written against "
                                           "them; each is the same as the name it stands for.")
        lines += literal(text) + [".Bl -tag -width Ds"]
        for alias in aliases:
            lines.append(f".It {'Vt' if alias.is_type else 'Dv'} {alias.name}")
            lines += flow(f"Another name for {alias.target}.") + paragraphs(alias.doc)
        return lines + [".El"]

    def constants_section(self):
        defines = [d for d in self.idl_file.of_type(Define) if d.params is None]
        if not defines:
            return []
        lines = [".Ss Constants", ".Bl -tag -width Ds"]
        for define in defines:
            lines.append(f".It Dv {define.name}")
            lines += paragraphs(define.doc) + flow(f"Defined as {define.value}.")
        return lines + [".El"]
