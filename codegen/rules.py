"""What a generated function checks and what it can return, each rule once.

A `Check` is one argument check of a generated stub: the stub emitter writes
its C condition, the server emitter the daemon's copy of a length check, and
the man-page emitter its sentence. `outcomes()` lists every status a function
can return with its cause: its checks, then what the runtime returns, from
`RUNTIME_ERRORS`, the one description of the runtime's errors."""

from dataclasses import dataclass

from . import wire
from .model import DEFAULT_LENGTH_ERROR

NULL = "null"                   # a pointer that must not be NULL
COUNTED_NULL = "counted null"   # an array that must not be NULL while its count is not 0
LENGTH = "length"               # a string whose length must be within its @len bounds
STRINGS = "strings"             # an array of strings whose entries must not be NULL
GATHER = "gather"               # an iovec whose entries with a length must have a base
COUNTED = "counted"             # a struct whose counted array's count must fit its size


@dataclass(frozen=True)
class Check:
    """One argument check: the parameter, what is checked, and the status the
    stub returns when the check fails."""
    param: object
    kind: str
    status: str
    field: object = None    # COUNTED: the struct's counted array (a wire.WireField)

    def condition(self):
        """The C condition under which the stub returns `status`."""
        name = self.param.name
        if self.kind == NULL:
            return f"{name} == NULL"
        if self.kind == COUNTED_NULL:
            return f"{name} == NULL && {self.param.count_param} != 0"
        if self.kind == STRINGS:
            return f"!{self.helper}((const char *const *){name}, {self.param.count_param})"
        if self.kind == GATHER:
            return f"!{self.helper}({name}, {self.param.count_param})"
        if self.kind == COUNTED:
            test = f"{self.count_text()} > {self.field.decl.array}"
        else:
            test = self.length_test(name)
        return f"{name} != NULL && {test}" if self.param.has("optional") else test

    def server_condition(self):
        """A COUNTED check as the daemon makes it on the decoded request: the
        bytes field longer than the array it fills."""
        subject = f"request->{self.param.name}"
        return f"{subject} != NULL && {subject}->{self.field.name}.len > {self.field.decl.array}"

    def count_text(self):
        """The C expression of the count of a COUNTED check's array."""
        member = "->" if self.param.ctype.pointers else "."
        return f"{self.param.name}{member}{self.field.count_decl.name}"

    @property
    def helper(self):
        """The generated static function the condition calls, or None."""
        return {LENGTH: "string_length_ok", STRINGS: "strings_present",
                GATHER: "iovec_bases_present"}.get(self.kind)

    def length_test(self, subject):
        """The C test that `subject` is outside the @len bounds (true when it is);
        it calls the generated helper string_length_ok()."""
        low, high = self.param.length_bound_texts
        return f"!string_length_ok({subject}, {low}, {high})"

    @property
    def cause(self):
        """The failure in words, as the manual gives it."""
        name = self.param.name
        if self.kind == NULL:
            return f"{name} is NULL"
        if self.kind == COUNTED_NULL:
            return f"{name} is NULL while {self.param.count_param} is not 0"
        if self.kind == STRINGS:
            return f"an entry of {name} is NULL"
        if self.kind == GATHER:
            return f"an entry of {name} has a NULL base and a length"
        if self.kind == COUNTED:
            return f"{self.count_text()} is more than {self.field.decl.array}"
        low, high = (_bound(text, value) for text, value
                     in zip(self.param.length_bound_texts, self.param.length_bounds))
        if self.param.length_bounds[0] == 0:
            return f"{name} is longer than {high} bytes"
        return f"{name} is shorter than {low} or longer than {high} bytes"


@dataclass(frozen=True)
class Outcome:
    """A status a function can return, and its causes, each a clause that can
    stand alone: `name is NULL`, `The connection to the daemon was lost.`"""
    status: str
    causes: tuple

    @property
    def text(self):
        """The causes as one sentence."""
        if len(self.causes) == 1:
            return _sentence(self.causes[0])
        return _sentence(", ".join(self.causes[:-1]) + ", or " + self.causes[-1])


def argument_checks(function):
    """The checks a generated stub makes, in parameter order: NULL pointers
    (every pointer that is neither @optional nor an @out array's count), the
    entries of arrays of strings and of iovecs sent, then each string's @len
    bounds."""
    checks = []
    sent = {f.decl.name: f for f in wire.request_fields(function)} if function.is_remote else {}
    for param in function.params:
        if (param.ctype.pointers or param.array is not None) and not param.has("optional"):
            counted = param.count_param is not None and not param.has("out")
            checks.append(Check(param, COUNTED_NULL if counted else NULL, DEFAULT_LENGTH_ERROR))
        field = sent.get(param.name)
        if field is not None and field.gathered:
            checks.append(Check(param, GATHER, DEFAULT_LENGTH_ERROR))
        elif field is not None and field.kind == wire.STRING and field.repeated:
            checks.append(Check(param, STRINGS, DEFAULT_LENGTH_ERROR))
        elif field is not None and field.kind == wire.MESSAGE and not field.repeated:
            checks += [Check(param, COUNTED, DEFAULT_LENGTH_ERROR, counted)
                       for counted in wire.counted_fields(field.struct)]
        if param.length_bounds is not None:
            checks.append(Check(param, LENGTH, param.length_error))
    return checks


def checks_by_status(checks):
    """{status: [checks]}, CS_ERR_INVALID_PARAM first, then in order of first use."""
    grouped = {DEFAULT_LENGTH_ERROR: []}
    for check in checks:
        grouped.setdefault(check.status, []).append(check)
    return {status: group for status, group in grouped.items() if group}


# ---- what the runtime returns --------------------------------------------------

# The errors of the client runtime's calls (src/runtime/), by the runtime call a
# generated stub or a hand-written function makes: `request` and `post` for
# request stubs (`post` with flag nowait), and the `local` kinds. `{0}`, `{1}`
# stand for the function's first and second parameter.
RUNTIME_ERRORS = {
    "request": (
        ("CS_ERR_LIBRARY", "The connection to the daemon was lost."),
        ("CS_ERR_NO_MEMORY", "Memory for the request or its reply could not be allocated."),
        ("CS_ERR_TOO_BIG", "The request is larger than the daemon accepts."),
    ),
    "post": (
        ("CS_ERR_LIBRARY", "The connection to the daemon was lost."),
        ("CS_ERR_NO_MEMORY", "Memory for the request could not be allocated."),
        ("CS_ERR_TOO_BIG", "The request is larger than the daemon accepts."),
        ("CS_ERR_TRY_AGAIN", "The connection cannot take the request now; nothing was sent."),
    ),
    "initialize": (
        ("CS_ERR_INVALID_PARAM", "{0} is NULL."),
        ("CS_ERR_LIBRARY", "The daemon is not running or the connection failed."),
        ("CS_ERR_ACCESS", "The daemon's uid and gid allow-list refuses this process."),
        ("CS_ERR_NOT_SUPPORTED", "The daemon does not offer this service at a compatible "
                                 "version."),
        ("CS_ERR_TRY_AGAIN", "The daemon's connection limit, overall or for this user, is "
                             "reached; retry later."),
        ("CS_ERR_NO_RESOURCES", "The process has no file descriptor left, or the service "
                                "could not set up this connection's state in the daemon."),
        ("CS_ERR_NO_MEMORY", "Memory could not be allocated."),
    ),
    "finalize": (),
    "fd_get": (("CS_ERR_INVALID_PARAM", "{1} is NULL."),),
    "context_get": (("CS_ERR_INVALID_PARAM", "{1} is NULL."),),
    "context_set": (),
    "dispatch": (
        ("CS_ERR_INVALID_PARAM", "{1} is not one of the values listed above."),
        ("CS_ERR_BAD_HANDLE", "The handle was finalized while this call ran, for example "
                              "from inside a callback."),
        ("CS_ERR_LIBRARY", "The connection to the daemon was lost."),
        ("CS_ERR_TRY_AGAIN", "{1} is CS_DISPATCH_ONE_NONBLOCKING and no event is pending."),
        ("CS_ERR_NO_MEMORY", "An event could not be decoded for lack of memory."),
    ),
}
# Every runtime call that takes a handle looks it up first.
HANDLE_ERRORS = (
    ("CS_ERR_BAD_HANDLE", "{handle} is not a handle returned by an initialize function, or it "
                          "was finalized."),
)
QUORATE_ONLY_ERRORS = (
    ("CS_ERR_TRY_AGAIN", "This node's partition is not quorate; the daemon accepts this "
                         "request only while it is."),
)


def runtime_call(function):
    """The runtime call behind a function: `request`, `post`, a local kind
    (that of a `local` function, or the one a `manual` function names), or None."""
    if function.is_remote:
        return "post" if any(name == "nowait" for name, _ in function.flags) else "request"
    return function.runtime_kind


def outcomes(function):
    """Every status the generated code and the runtime give `function`, in the
    order found; the IDL's `error` statements come on top of these."""
    if function.service.is_common:
        return []
    found = []
    if function.is_remote:
        found += [Outcome(status, tuple(c.cause for c in group)) for status, group
                  in checks_by_status(argument_checks(function)).items()]
    handle = wire.handle_param(function.params, function.service)
    if handle is not None:
        found += _outcomes(HANDLE_ERRORS, function, handle=handle.name)
    found += _outcomes(RUNTIME_ERRORS.get(runtime_call(function), ()), function)
    if any(name == "quorate_only" for name, _ in function.flags):
        found += _outcomes(QUORATE_ONLY_ERRORS, function)
    return found


def _outcomes(table, function, **names):
    params = [p.name for p in function.params]
    return [Outcome(status, (text.format(*params, **names),)) for status, text in table]


def _bound(text, value):
    """A bound as the manual gives it: `255`, or `CMAP_KEYNAME_MAXLEN (255)`."""
    return text if text == str(value) else f"{text} ({value})"


def _sentence(text):
    return text if text.endswith(".") else text + "."
