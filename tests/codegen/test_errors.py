"""Bad IDL gives one `file:line:col: error: message`, at the right place."""

import os
import shutil
import textwrap
import unittest

from codegen.diagnostics import IdlError
from codegen.program import load

from .support import FEATURES_IDL, TempDir

SERVICE_HEAD = """\
import "common.idl";
service bad {
    header "corosync/bad.h" guard BAD_H; include <corosync/corotypes.h>;
    library libbad soname 1 version "1.0.0" node BAD_1.0;
    handle bad_handle_t;
}
typedef uint64_t bad_handle_t;
"""
# Line 8 is the first line of every snippet below.

CASES = [
    ("unknown type",
     "function cs_error_t bad_f(bad_handle_t handle, widget_t w) { request 0; }",
     "8:48: error: unknown type 'widget_t'"),
    ("system-header struct on the wire",
     "struct sockaddr;\nfunction cs_error_t bad_f(bad_handle_t handle, const struct sockaddr *v @count(n), size_t n) {\n"
     "    request 0;\n}",
     "9:71: error: parameter 'v' has type 'const struct sockaddr', which a system header defines "
     "and cannot be carried on the wire"),
    ("iovec received in an event",
     "struct iovec;\ncallback void bad_cb_fn_t(bad_handle_t handle, size_t n,\n"
     "        const struct iovec *v @count(n)) {\n    event 0;\n}",
     "10:29: error: iovec parameter 'v' of bad_cb_fn_t can be sent but not received"),
    ("iovec without a count",
     "struct iovec;\nfunction cs_error_t bad_f(bad_handle_t handle, const struct iovec *v) {\n"
     "    request 0;\n}",
     "9:68: error: parameter 'v' has type 'const struct iovec', which a system header defines "
     "and cannot be carried on the wire"),
    ("array of strings returned without a count",
     "function cs_error_t bad_f(bad_handle_t handle, char ***names @out) { request 0; }",
     "8:56: error: @out parameter 'names' of type 'char ***' cannot be returned in a reply"),
    ("unknown struct tag",
     "function cs_error_t bad_f(bad_handle_t handle, struct nowhere *n @out) { request 0; }",
     "8:48: error: unknown struct 'nowhere'"),
    ("duplicate definition",
     "define BAD_X 1;\ndefine BAD_X 2;",
     "9:8: error: duplicate definition of 'BAD_X' (first defined at {dir}/bad.idl:8:8)"),
    ("alias of an unknown name",
     "alias bad_dispatch_t = bad_flags_t;",
     "8:24: error: unknown name 'bad_flags_t'"),
    ("alias with a name already defined",
     "define BAD_OK 1;\nalias BAD_OK = CS_OK;",
     "9:7: error: duplicate definition of 'BAD_OK' (first defined at {dir}/bad.idl:8:8)"),
    ("alias of a function",
     "function cs_error_t bad_f(bad_handle_t handle) { manual; }\nalias bad_g = bad_f;",
     "9:15: error: alias bad_g names function 'bad_f'; only types and constants can have aliases"),
    ("alias of an alias",
     "alias BAD_OK = CS_OK;\nalias BAD_FINE = BAD_OK;",
     "9:18: error: alias BAD_FINE names alias 'BAD_OK'; name 'CS_OK' instead"),
    ("alias used as a type",
     "alias bad_error_t = cs_error_t;\nfunction bad_error_t bad_f(bad_handle_t handle) { manual; }",
     "9:10: error: 'bad_error_t' is an alias; write 'cs_error_t'"),
    ("alias without a target",
     "alias BAD_OK;",
     "8:13: error: expected '=', found ';'"),
    ("unversioned internal function",
     "internal function cs_error_t bad_f(bad_handle_t handle) {\n    manual;\n    unversioned;\n}",
     "10:5: error: internal function bad_f is not exported, so it cannot be 'unversioned'"),
    ("tagged enum defined twice",
     "enum bad_kinds { BAD_A = 0; }\nenum bad_kinds { BAD_B = 1; }",
     "9:6: error: duplicate enum of 'bad_kinds' (first defined at {dir}/bad.idl:8:6)"),
    ("tagged enum reusing an enumerator",
     "enum bad_kinds { BAD_A = 0; }\nenum bad_others { BAD_A = 1; }",
     "9:19: error: duplicate definition of 'BAD_A' (first defined at {dir}/bad.idl:8:18)"),
    ("struct of a system header declared twice in one file",
     "struct iovec;\nstruct iovec;",
     "9:8: error: duplicate struct of 'iovec' (first defined at {dir}/bad.idl:8:8)"),
    ("duplicate parameter",
     "function cs_error_t bad_f(bad_handle_t handle, int a, int a) { request 0; }",
     "8:59: error: duplicate parameter 'a' in bad_f"),
    ("@count names a missing parameter",
     "function cs_error_t bad_f(bad_handle_t handle, const uint32_t *ids @count(n)) { request 0; }",
     "8:68: error: @count(n) names no parameter of bad_f"),
    ("@count of a non-integer",
     "function cs_error_t bad_f(bad_handle_t handle, const char *n, const uint32_t *ids @count(n)) {\n"
     "    request 0;\n}",
     "8:83: error: @count(n): 'n' is not an integer"),
    ("@out on a non-pointer",
     "function cs_error_t bad_f(bad_handle_t handle, int x @out) { request 0; }",
     "8:54: error: @out on 'x', which is not a pointer"),
    ("@optional on a non-pointer",
     "function cs_error_t bad_f(bad_handle_t handle, int x @optional) { request 0; }",
     "8:54: error: @optional on 'x', which is not a pointer"),
    ("@len on a non-string",
     "function cs_error_t bad_f(bad_handle_t handle, int *x @len(1, 2)) { request 0; }",
     "8:55: error: @len on 'x', which is not a string"),
    ("@len bounds reversed",
     "function cs_error_t bad_f(bad_handle_t handle, const char *s @len(9, 2)) { request 0; }",
     "8:62: error: @len(9, 2): the minimum is above the maximum"),
    ("unknown annotation",
     "function cs_error_t bad_f(bad_handle_t handle, int *x @inout) { request 0; }",
     "8:55: error: unknown annotation '@inout'"),
    ("callback without event id",
     "callback void bad_tick_fn_t(bad_handle_t handle) {\n    doc \"Ticks.\";\n}",
     "8:15: error: callback bad_tick_fn_t has no event id (or 'manual', when hand-written "
     "code calls it)"),
    ("callback with an event id and manual",
     "callback void bad_tick_fn_t(bad_handle_t handle) {\n    event 0;\n    manual;\n}",
     "10:5: error: callback bad_tick_fn_t has an event id and 'manual'; it is one or the other"),
    ("callback saying manual twice",
     "callback void bad_tick_fn_t(bad_handle_t handle) {\n    manual;\n    manual;\n}",
     "10:5: error: bad_tick_fn_t says 'manual' twice"),
    ("internal callback without an event",
     "internal callback void bad_tick_fn_t(bad_handle_t handle) { manual; }",
     "8:24: error: internal callback bad_tick_fn_t has no event id; an internal callback "
     "receives an event"),
    ("manual callback parameter carried nowhere is not checked, an event's is",
     "callback void bad_tick_fn_t(bad_handle_t handle, void *data) { event 0; }",
     "8:56: error: parameter 'data' has type 'void *', which cannot be carried on the wire"),
    ("function without implementation",
     "function cs_error_t bad_f(bad_handle_t handle) {\n    doc \"Does nothing.\";\n}",
     "8:21: error: function bad_f has no implementation statement "
     "(request, oneway, local, manual, strerror)"),
    ("two implementation statements",
     "function cs_error_t bad_f(bad_handle_t handle) {\n    request 0;\n    manual;\n}",
     "10:5: error: bad_f has a second implementation statement (the first is at "
     "{dir}/bad.idl:9:5)"),
    ("duplicate request id",
     "function cs_error_t bad_f(bad_handle_t handle) { request 3; }\n"
     "function cs_error_t bad_g(bad_handle_t handle) { request 3; }",
     "9:50: error: request id 3 is already used by bad_f"),
    ("duplicate event id",
     "callback void bad_a_fn_t(bad_handle_t handle) { event 1; }\n"
     "callback void bad_b_fn_t(bad_handle_t handle) { event 1; }",
     "9:49: error: event id 1 is already used by bad_a_fn_t"),
    ("request id too large",
     "function cs_error_t bad_f(bad_handle_t handle) { request 70000; }",
     "8:50: error: request id 70000 is larger than 65535"),
    ("unknown local kind",
     "function cs_error_t bad_f(bad_handle_t handle) { local teleport; }",
     "8:50: error: unknown local kind 'teleport' (one of initialize, finalize, fd_get, "
     "dispatch, context_get, context_set)"),
    ("error code that is not a cs_error_t",
     "function cs_error_t bad_f(bad_handle_t handle) {\n    request 0;\n"
     "    error CS_ERR_OOPS \"Never.\";\n}",
     "10:11: error: 'CS_ERR_OOPS' is not a cs_error_t value"),
    ("request without a handle",
     "function cs_error_t bad_f(int x) { request 0; }",
     "8:21: error: bad_f has no 'bad_handle_t' parameter to send the request on"),
    ("request returning something else",
     "function int bad_f(bad_handle_t handle) { request 0; }",
     "8:10: error: bad_f must return cs_error_t"),
    ("function outside the service prefix",
     "function cs_error_t other_f(bad_handle_t handle) { manual; }",
     "8:21: error: function 'other_f' must start with 'bad_'"),
    ("callback badly named",
     "callback void bad_tick(bad_handle_t handle) { event 0; }",
     "8:15: error: callback type 'bad_tick' must be named bad_NAME_fn_t or bad_NAME_callback_t"),
    ("callback of another service",
     "callback void other_tick_callback_t(bad_handle_t handle) { event 0; }",
     "8:15: error: callback type 'other_tick_callback_t' must be named bad_NAME_fn_t or bad_NAME_callback_t"),
    ("unknown request flag",
     "function cs_error_t bad_f(bad_handle_t handle) { request 0; flag urgent; }",
     "8:66: error: unknown request flag 'urgent' (one of nowait, quorate_only)"),
    ("nowait on a request with a reply",
     "function cs_error_t bad_f(bad_handle_t handle) { request 0; flag nowait; }",
     "8:66: error: flag 'nowait' needs a oneway function, and bad_f is request"),
    ("request flag on a local function",
     "function cs_error_t bad_f(bad_handle_t handle) { local finalize; flag quorate_only; }",
     "8:71: error: flag 'quorate_only' needs a request or oneway function, and bad_f is local"),
    ("request flag given twice",
     "function cs_error_t bad_f(bad_handle_t handle) { request 0; flag quorate_only; flag quorate_only; }",
     "8:85: error: flag 'quorate_only' is given twice for bad_f"),
    ("@out on a oneway function",
     "function cs_error_t bad_f(bad_handle_t handle, int *x @out) { oneway 0; }",
     "8:55: error: @out on 'x' of a oneway function, which has no reply"),
    ("type without a wire mapping",
     "function cs_error_t bad_f(bad_handle_t handle, long x) { request 0; }",
     "8:53: error: parameter 'x' has type 'long', which has no wire mapping"),
    ("array without @count",
     "struct bad_s { uint32_t v[4]; }\n"
     "function cs_error_t bad_f(bad_handle_t handle, struct bad_s *s @out) { request 0; }",
     "8:25: error: field 'v' is an array without @count; only char and uint8_t arrays can "
     "be carried without one"),
    ("char array sent in a request",
     "struct bad_s { char name[8]; }\n"
     "function cs_error_t bad_f(bad_handle_t handle, struct bad_s s) { request 0; }",
     "8:21: error: char array field 'name' of bad_s can be received but not sent"),
    ("@count on a struct field that is not a fixed array",
     "struct bad_s { uint32_t n; uint8_t *data @count(n); }\n"
     "function cs_error_t bad_f(bad_handle_t handle, struct bad_s s) { request 0; }",
     "8:42: error: @count on field 'data', which is not an array of fixed size"),
    ("counted struct field that is not bytes",
     "struct bad_s { uint32_t n; uint32_t ids[4] @count(n); }\n"
     "function cs_error_t bad_f(bad_handle_t handle, struct bad_s s) { request 0; }",
     "8:44: error: counted field 'ids' of bad_s is not a byte array; only bytes can be "
     "counted inside a struct carried on the wire"),
    ("another annotation on a struct field on the wire",
     "struct bad_s { uint32_t n; const char *name @len(1, 4); }\n"
     "function cs_error_t bad_f(bad_handle_t handle, struct bad_s *s @out) { request 0; }",
     "8:45: error: field 'name' of a struct carried on the wire cannot have @len"),
    ("an array of structs with a counted field sent",
     "struct bad_s { uint32_t n; char v[4] @count(n); }\n"
     "function cs_error_t bad_f(bad_handle_t handle, const struct bad_s *s @count(k), size_t k) {\n"
     "    request 0;\n}",
     "9:68: error: array 's' of bad_s cannot be sent: the stub checks the counts of a struct "
     "sent by value or pointer only"),
    ("@bytes on a field that is not a char array",
     "struct bad_s { uint32_t n @bytes; }\n"
     "function cs_error_t bad_f(bad_handle_t handle, struct bad_s s) { request 0; }",
     "8:27: error: @bytes on 'n', which is not a char array field of fixed size without @count"),
    ("@bytes on a parameter",
     "function cs_error_t bad_f(bad_handle_t handle, const char *name @bytes) { request 0; }",
     "8:65: error: @bytes on 'name', which is not a char array field of fixed size without @count"),
    ("nested struct sent in a request",
     "struct bad_in { int32_t x; }\nstruct bad_s { struct bad_in inner; }\n"
     "function cs_error_t bad_f(bad_handle_t handle, const struct bad_s *s) { request 0; }",
     "9:30: error: struct field 'inner' of bad_s can be received but not sent"),
    ("@out array counted by an input",
     "function cs_error_t bad_f(bad_handle_t handle, uint32_t n, uint32_t **ids @out @count(n)) {\n"
     "    request 0;\n}",
     "8:80: error: @count(n) of @out array 'ids': 'n' must be an @out pointer to an integer"),
    ("@out array that is not a pointer to a pointer",
     "function cs_error_t bad_f(bad_handle_t handle, size_t *n @out, uint32_t *ids @out @count(n)) {\n"
     "    request 0;\n}",
     "8:83: error: @out array 'ids' must be a pointer to a pointer (T **), which receives a "
     "malloc'd array"),
    ("@out pointer to a pointer that is neither a string nor counted",
     "function cs_error_t bad_f(bad_handle_t handle, uint32_t **ids @out) { request 0; }",
     "8:59: error: @out parameter 'ids' of type 'uint32_t **' cannot be returned in a reply"),
    ("input array counted by an @out",
     "function cs_error_t bad_f(bad_handle_t handle, size_t *n @out, const uint8_t *b @count(n)) {\n"
     "    request 0;\n}",
     "8:81: error: @count(n): 'n' is not an integer"),
    ("@len with one argument",
     "function cs_error_t bad_f(bad_handle_t handle, const char *s @len(9)) { request 0; }",
     "8:62: error: @len takes 2 or 3 arguments, not 1"),
    ("@len naming an unknown status",
     "function cs_error_t bad_f(bad_handle_t handle, const char *s @len(0, 9, CS_ERR_OOPS)) {\n"
     "    request 0;\n}",
     "8:62: error: @len(0, 9, CS_ERR_OOPS): 'CS_ERR_OOPS' is not a cs_error_t value"),
    ("@len with a status for a bound",
     "function cs_error_t bad_f(bad_handle_t handle, const char *s @len(0, CS_ERR_TOO_BIG)) {\n"
     "    request 0;\n}",
     "8:62: error: @len bound 'CS_ERR_TOO_BIG' is neither a number nor an integer define"),
    ("@len with a define that is C code",
     "define BAD_MAX `sizeof(int)`;\n"
     "function cs_error_t bad_f(bad_handle_t handle, const char *s @len(0, BAD_MAX)) {\n"
     "    request 0;\n}",
     "9:62: error: @len bound 'BAD_MAX' is neither a number nor an integer define"),
    ("@len with a define above its minimum",
     "define BAD_MAX 4;\n"
     "function cs_error_t bad_f(bad_handle_t handle, const char *s @len(9, BAD_MAX)) {\n"
     "    request 0;\n}",
     "9:62: error: @len(9, 4): the minimum is above the maximum"),
    ("strerror of an enum with a shared value",
     "typedef enum bad_e { BAD_A = 1; BAD_B = 1; }\n"
     "function const char *bad_strerror(bad_e e) { strerror bad_e; }",
     "8:33: error: BAD_B has the value of BAD_A, and bad_strerror needs one name per value"),
    ("array size that is C code but empty",
     "struct bad_s { char name[``]; }",
     "8:21: error: array size '' of 'name' is empty C code"),
    ("array size that is not a define",
     "struct bad_s { char name[BAD_NOPE]; }",
     "8:21: error: array size 'BAD_NOPE' is neither a number nor an integer define"),
    ("syntax: missing semicolon",
     "define BAD_X 1\ndefine BAD_Y 2;",
     "9:1: error: expected ';', found 'define'"),
    ("syntax: unterminated string",
     "define BAD_X 1 \"no end;",
     "8:16: error: unterminated string"),
    ("syntax: unknown statement",
     "widget bad_w;",
     "8:1: error: expected a definition, found 'widget'"),
    ("error documented twice",
     "function cs_error_t bad_f(bad_handle_t handle) {\n    request 0;\n"
     "    error CS_ERR_TRY_AGAIN \"Busy.\";\n    error CS_ERR_TRY_AGAIN \"Again.\";\n}",
     "11:11: error: CS_ERR_TRY_AGAIN is documented twice for bad_f"),
    ("parameter name used by the generated stub",
     "function cs_error_t bad_f(bad_handle_t handle, int *call_status @out) { request 0; }",
     "8:53: error: parameter name 'call_status' is reserved in generated stubs"),
    ("error restating a check the generator documents",
     "function cs_error_t bad_f(bad_handle_t handle, const char *name) {\n    request 0;\n"
     "    error CS_ERR_INVALID_PARAM \"name is NULL, or the name is taken.\";\n}",
     "10:11: error: the manual of bad_f already gives CS_ERR_INVALID_PARAM when name is NULL; "
     "document only the other causes"),
    ("error restating what the runtime returns",
     "function cs_error_t bad_f(bad_handle_t *handle) {\n    local initialize;\n"
     "    error CS_ERR_LIBRARY \"The daemon is not running.\";\n}",
     "10:11: error: the manual of bad_f already gives CS_ERR_LIBRARY when the daemon is not "
     "running or the connection failed; document only the other causes"),
    ("manual function naming an unknown runtime call",
     "function cs_error_t bad_f(bad_handle_t handle) { manual teleport; }",
     "8:50: error: unknown local kind 'teleport' (one of initialize, finalize, fd_get, "
     "dispatch, context_get, context_set)"),
    ("manual initialize without a handle pointer",
     "function cs_error_t bad_f(bad_handle_t handle) { manual initialize; }",
     "8:21: error: the first parameter of bad_f must be a 'bad_handle_t *'"),
    ("strerror of a non-enum",
     "function const char *bad_strerror(int e) { strerror bad_handle_t; }",
     "8:44: error: strerror needs an enum, and 'bad_handle_t' is not one"),
]


def write_files(directory, files):
    for name, text in files.items():
        with open(os.path.join(directory, name), "w") as stream:
            stream.write(text)


class BadIdlTest(unittest.TestCase):
    def load_error(self, directory, files):
        """The error of loading `files` ({name: text}) written into directory."""
        write_files(directory, files)
        with self.assertRaises(IdlError) as caught:
            load(directory)
        return str(caught.exception)

    def error_for(self, directory, snippet):
        shutil.copy(os.path.join(FEATURES_IDL, "common.idl"), directory)
        return self.load_error(directory, {"bad.idl": SERVICE_HEAD + textwrap.dedent(snippet) + "\n"})

    def test_each_error_is_reported_at_its_position(self):
        for name, snippet, expected in CASES:
            with self.subTest(name), TempDir() as directory:
                message = self.error_for(directory, snippet)
                self.assertEqual(message, f"{directory}/bad.idl:" + expected.format(dir=directory))

    def test_a_status_the_runtime_returns_must_be_declared(self):
        with open(os.path.join(FEATURES_IDL, "common.idl")) as stream:
            common = stream.read().replace('CS_ERR_ACCESS = 11 "Permission denied.";', "")
        bad = SERVICE_HEAD + "function cs_error_t bad_initialize(bad_handle_t *h) { local initialize; }\n"
        with TempDir() as directory:
            message = self.load_error(directory, {"common.idl": common, "bad.idl": bad})
            self.assertEqual(message, f"{directory}/bad.idl:8:21: error: bad_initialize can "
                                      f"return CS_ERR_ACCESS, which cs_error_t does not declare")

    def test_a_service_without_a_handle_statement_is_reported(self):
        head = SERVICE_HEAD.replace("    handle bad_handle_t;\n", "")
        tick = "callback void bad_tick_fn_t(bad_handle_t handle) { event 0; }\n"
        with TempDir() as directory:
            shutil.copy(os.path.join(FEATURES_IDL, "common.idl"), directory)
            message = self.load_error(directory, {"bad.idl": head + tick})
            self.assertEqual(message, f"{directory}/bad.idl:2:9: error: bad has no 'handle' "
                                      f"statement, which bad_tick_fn_t (line 7) needs: name the "
                                      f"typedef of its connections, such as "
                                      f"'handle bad_handle_t;'")

    def test_a_service_of_manual_functions_needs_no_handle(self):
        head = SERVICE_HEAD.replace("    handle bad_handle_t;\n", "")
        with TempDir() as directory:
            shutil.copy(os.path.join(FEATURES_IDL, "common.idl"), directory)
            write_files(directory, {"bad.idl": head + "function cs_error_t bad_f(int x) { manual; }\n"})
            load(directory)

    def test_a_header_must_include_the_headers_of_what_it_uses(self):
        cases = [
            ("function cs_error_t bad_f(bad_handle_t handle) { manual; }", "8:10",
             "cs_error_t", "corosync/corotypes.h"),
            ("typedef struct bad_s { char name[EXTRA_NAME_MAX]; }", "8:29",
             "EXTRA_NAME_MAX", "corosync/extra.h"),
            ("alias bad_kind_t = extra_handle_t;", "8:20", "extra_handle_t", "corosync/extra.h"),
        ]
        head = SERVICE_HEAD.replace(" include <corosync/corotypes.h>;", "").replace(
            'import "common.idl";', 'import "common.idl"; import "extra.idl";')
        extra = 'common extra { header "corosync/extra.h" guard EXTRA_H; }\n' \
                'typedef uint64_t extra_handle_t;\ndefine EXTRA_NAME_MAX 8;\n'
        for snippet, where, name, header in cases:
            with self.subTest(name=name), TempDir() as directory:
                shutil.copy(os.path.join(FEATURES_IDL, "common.idl"), directory)
                message = self.load_error(directory, {"extra.idl": extra,
                                                      "bad.idl": head + snippet + "\n"})
                self.assertEqual(message, f"{directory}/bad.idl:{where}: error: {name} is "
                                          f"declared in {header}, which corosync/bad.h does "
                                          f"not include: add 'include <{header}>;' to the "
                                          f"service block")

    def test_a_header_included_through_another_is_enough(self):
        head = SERVICE_HEAD.replace("include <corosync/corotypes.h>;", "include <corosync/mid.h>;")
        mid = 'import "common.idl";\ncommon mid {\n    header "corosync/mid.h" guard MID_H;\n' \
              '    include <corosync/corotypes.h>;\n}\n'
        with TempDir() as directory:
            shutil.copy(os.path.join(FEATURES_IDL, "common.idl"), directory)
            write_files(directory, {"mid.idl": mid, "bad.idl": head + "define BAD_X 1;\n"})
            load(directory)

    def test_function_in_a_common_block_without_library_is_reported(self):
        bare = ('common bare {\n    header "corosync/bare.h" guard BARE_H;\n}\n'
                'function int bare_f(int x) { manual; }\n')
        with TempDir() as directory:
            message = self.load_error(directory, {"bare.idl": bare})
            self.assertEqual(message, f"{directory}/bare.idl:4:14: error: function bare_f needs a "
                                      f"library, and bare has no 'library' statement")

    def test_missing_import_is_reported(self):
        with TempDir() as directory:
            message = self.load_error(directory, {"lonely.idl": 'import "nowhere.idl";\n'})
            self.assertEqual(message, f"{directory}/lonely.idl:1:8: error: cannot import "
                                      f"'nowhere.idl': no such file in {directory}")


if __name__ == "__main__":
    unittest.main()
