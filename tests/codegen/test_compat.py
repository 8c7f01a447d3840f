"""python3 -m codegen --compat OLD NEW: each kind of change, classified."""

import io
import os
import shutil
import unittest
from contextlib import redirect_stderr, redirect_stdout

from codegen.__main__ import main

from .support import IDL_DIR, TempDir

BASE = """\
import "common.idl";

service shop {
    version 1.2;
    header "corosync/shop.h" guard SHOP_H;
    include <corosync/corotypes.h>;
    library libshop soname 1 version "1.0.0" node SHOP_1.0;
    handle shop_handle_t;
    doc "A shop.";
}

typedef uint64_t shop_handle_t "A connection.";

define SHOP_NAME_MAX 16 "Capacity of a name.";
define SHOP_LIMIT 7 "A number no layout uses.";

typedef enum shop_kind_t {
    SHOP_KIND_FRUIT = 1;
    SHOP_KIND_TOOL = 2;
}

typedef struct shop_item_t {
    uint32_t id;
    uint32_t price;
    char name[SHOP_NAME_MAX];
}

callback void shop_changed_fn_t(shop_handle_t handle, uint32_t id, shop_kind_t kind) {
    event 0;
    doc "An item changed.";
}

callback void shop_closed_fn_t(shop_handle_t handle) {
    event 1;
    doc "The shop closed.";
}

typedef struct shop_callbacks_t {
    shop_changed_fn_t changed_fn;
    shop_closed_fn_t closed_fn;
}

function cs_error_t shop_initialize(shop_handle_t *handle, shop_callbacks_t *callbacks @optional) {
    local initialize;
    doc "Connects.";
}

function cs_error_t shop_dispatch(shop_handle_t handle, cs_dispatch_flags_t flags) {
    local dispatch;
    doc "Runs callbacks.";
}

function cs_error_t shop_get(shop_handle_t handle, uint32_t id, shop_item_t *item @out) {
    request 1;
    doc "Fetches an item.";
    error CS_ERR_NOT_EXIST "No item id.";
}

function cs_error_t shop_put(shop_handle_t handle, const char *name @len(1, 15),
        const char *note @optional, uint32_t price) {
    request 2;
    doc "Adds an item.";
}

function cs_error_t shop_ping(shop_handle_t handle, uint32_t token) {
    oneway 3;
    doc "Pings.";
}

function uint32_t shop_version(shop_handle_t handle) {
    manual;
    doc "The version of the shop.";
}

function cs_error_t shop_names(shop_handle_t handle, char ***names, unsigned int *n) {
    manual;
    doc "The names of the items.";
}
"""

NEW_FUNCTION = """
function cs_error_t shop_count(shop_handle_t handle, uint32_t *count @out) {
    request 4;
    doc "Counts the items.";
}
"""

# (change, [(old text, new text)], expected findings, each (kind, what)).
CASES = [
    ("a removed function",
     [("function cs_error_t shop_ping(shop_handle_t handle, uint32_t token) {\n    oneway 3;\n"
       "    doc \"Pings.\";\n}\n", "")],
     [("breaking", "function shop_ping removed"),
      ("breaking", "request shop_ping (id 3) removed: older libraries still send it")]),
    ("a re-typed parameter",
     [("uint32_t id, shop_item_t *item @out", "uint64_t id, shop_item_t *item @out")],
     [("breaking", "function shop_get changed from cs_error_t (shop_handle_t, uint32_t, "
                   "shop_item_t *) to cs_error_t (shop_handle_t, uint64_t, shop_item_t *)"),
      ("breaking", "field 1 of ShopGetRequest changed from uint32 id to uint64 id")]),
    ("a parameter added",
     [("shop_ping(shop_handle_t handle, uint32_t token)",
       "shop_ping(shop_handle_t handle, uint32_t token, uint32_t flags)")],
     [("breaking", "function shop_ping changed from cs_error_t (shop_handle_t, uint32_t) to "
                   "cs_error_t (shop_handle_t, uint32_t, uint32_t)"),
      ("compatible", "ShopPingRequest gains field 2 (flags)")]),
    ("a re-typed return",
     [("function uint32_t shop_version(", "function uint64_t shop_version(")],
     [("breaking", "function shop_version changed from uint32_t (shop_handle_t) to "
                   "uint64_t (shop_handle_t)")]),
    ("a renamed parameter",
     [("uint32_t token) {", "uint32_t cookie) {")],
     [("compatible", "parameter token of shop_ping renamed to cookie")]),
    ("a new function at a new request id",
     [("", NEW_FUNCTION)],
     [("compatible", "new function shop_count"),
      ("compatible", "new request shop_count at id 4")]),
    ("a request renamed at its id, with its fields",
     [("shop_ping(shop_handle_t handle, uint32_t token)", "shop_poke(shop_handle_t handle, uint32_t token)")],
     [("breaking", "function shop_ping removed"),
      ("compatible", "new function shop_poke"),
      ("compatible", "request shop_ping (id 3) renamed shop_poke")]),
    ("a request renamed at its id, a field re-typed",
     [("shop_ping(shop_handle_t handle, uint32_t token)", "shop_poke(shop_handle_t handle, uint64_t token)")],
     [("breaking", "function shop_ping removed"),
      ("compatible", "new function shop_poke"),
      ("compatible", "request shop_ping (id 3) renamed shop_poke"),
      ("breaking", "field 1 of ShopPokeRequest changed from uint32 token to uint64 token")]),
    ("a changed request id",
     [("    oneway 3;", "    oneway 5;")],
     [("breaking", "request id of shop_ping changed from 3 to 5")]),
    ("a request turned oneway",
     [("    request 2;\n    doc \"Adds an item.\";", "    oneway 2;\n    doc \"Adds an item.\";")],
     [("breaking", "shop_put changed from request to oneway: the daemon's reply and the "
                   "library's wait no longer match")]),
    ("struct fields reordered",
     [("    uint32_t id;\n    uint32_t price;", "    uint32_t price;\n    uint32_t id;")],
     [("breaking", "the layout of shop_item_t changed: fields reordered")]),
    ("a struct field added",
     [("    uint32_t price;\n", "    uint32_t price;\n    uint32_t stock;\n")],
     [("breaking", "the layout of shop_item_t changed: field stock added"),
      ("breaking", "field 3 of ShopItemT changed from string name to uint32 stock"),
      ("compatible", "ShopItemT gains field 4 (name)")]),
    ("a struct field re-typed",
     [("    uint32_t price;\n", "    uint64_t price;\n")],
     [("breaking", "the layout of shop_item_t changed: field price changed from uint32_t "
                   "to uint64_t"),
      ("breaking", "field 2 of ShopItemT changed from uint32 price to uint64 price")]),
    ("a struct field renamed",
     [("    uint32_t price;\n", "    uint32_t cost;\n")],
     [("breaking", "field price of shop_item_t renamed to cost")]),
    ("a changed enumerator value",
     [("SHOP_KIND_TOOL = 2;", "SHOP_KIND_TOOL = 3;")],
     [("breaking", "SHOP_KIND_TOOL changed from 2 to 3")]),
    ("a new enumerator",
     [("SHOP_KIND_TOOL = 2;", "SHOP_KIND_TOOL = 2;\n    SHOP_KIND_BOOK = 3;")],
     [("compatible", "new enumerator of enum shop_kind_t: SHOP_KIND_BOOK = 3")]),
    ("a removed enumerator",
     [("    SHOP_KIND_TOOL = 2;\n", "")],
     [("breaking", "enumerator SHOP_KIND_TOOL of enum shop_kind_t removed")]),
    ("a changed callback",
     [("uint32_t id, shop_kind_t kind) {", "uint64_t id, shop_kind_t kind) {")],
     [("breaking", "callback type shop_changed_fn_t changed from void (shop_handle_t, "
                   "uint32_t, shop_kind_t) to void (shop_handle_t, uint64_t, shop_kind_t)"),
      ("breaking", "field 1 of ShopChangedEvent changed from uint32 id to uint64 id")]),
    ("a changed event id",
     [("    event 1;", "    event 2;")],
     [("breaking", "event id of shop_closed_fn_t changed from 1 to 2")]),
    ("a new event at a new id",
     [("typedef struct shop_callbacks_t {",
       "callback void shop_opened_fn_t(shop_handle_t handle) {\n    event 2;\n}\n\n"
       "typedef struct shop_callbacks_t {")],
     [("compatible", "new callback type shop_opened_fn_t"),
      ("compatible", "new event shop_opened_fn_t at id 2")]),
    ("a new event at the id of a removed one, with its fields",
     [("callback void shop_closed_fn_t(shop_handle_t handle) {",
       "callback void shop_gone_fn_t(shop_handle_t handle) {"),
      ("    shop_closed_fn_t closed_fn;", "    shop_gone_fn_t closed_fn;")],
     [("breaking", "callback type shop_closed_fn_t removed"),
      ("compatible", "event shop_closed_fn_t (id 1) renamed shop_gone_fn_t"),
      ("breaking", "the layout of shop_callbacks_t changed: field closed_fn changed from "
                   "shop_closed_fn_t to shop_gone_fn_t"),
      ("compatible", "new callback type shop_gone_fn_t")]),
    ("a define used in a layout",
     [("define SHOP_NAME_MAX 16", "define SHOP_NAME_MAX 32")],
     [("breaking", "SHOP_NAME_MAX changed from 16 to 32, which changes the layout of "
                   "shop_item_t")]),
    ("a reply field removed",
     [("uint32_t id, shop_item_t *item @out)", "uint32_t id)")],
     [("breaking", "field 1 (item) of ShopGetReply removed"),
      ("breaking", "function shop_get changed from cs_error_t (shop_handle_t, uint32_t, "
                   "shop_item_t *) to cs_error_t (shop_handle_t, uint32_t)"),
      ("compatible", "shop_get no longer documents CS_ERR_INVALID_PARAM")]),
    ("a manual function generated, its outputs described",
     [("char ***names, unsigned int *n) {\n    manual;",
       "char ***names @out @count(n), unsigned int *n @out) {\n    request 5;")],
     [("compatible", "function shop_names is now request 5, not manual"),
      ("compatible", "parameter names of shop_names changed its @out or @count, which "
                     "describe what shop_names's hand-written code did"),
      ("compatible", "parameter n of shop_names changed its @out or @count, which "
                     "describe what shop_names's hand-written code did"),
      ("compatible", "shop_names documents a new error CS_ERR_INVALID_PARAM"),
      ("compatible", "shop_names documents a new error CS_ERR_LIBRARY"),
      ("compatible", "shop_names documents a new error CS_ERR_NO_MEMORY"),
      ("compatible", "shop_names documents a new error CS_ERR_TOO_BIG"),
      ("compatible", "new request shop_names at id 5")]),
    ("a pointer that may no longer be NULL",
     [("const char *note @optional", "const char *note")],
     [("breaking", "parameter note of shop_put may no longer be NULL"),
      ("compatible", "documentation of CS_ERR_INVALID_PARAM of shop_put changed")]),
    ("a pointer that may now be NULL",
     [("shop_item_t *item @out)", "shop_item_t *item @out @optional)")],
     [("compatible", "parameter item of shop_get may now be NULL"),
      ("compatible", "shop_get no longer documents CS_ERR_INVALID_PARAM")]),
    ("narrower length bounds",
     [("@len(1, 15)", "@len(1, 7)")],
     [("breaking", "length bounds of parameter name of shop_put changed from (1, 15) to (1, 7)"),
      ("compatible", "documentation of CS_ERR_INVALID_PARAM of shop_put changed")]),
    ("wider length bounds",
     [("@len(1, 15)", "@len(0, 15)")],
     [("compatible", "length bounds of parameter name of shop_put changed from (1, 15) "
                     "to (0, 15)"),
      ("compatible", "documentation of CS_ERR_INVALID_PARAM of shop_put changed")]),
    ("a function made internal",
     [("function cs_error_t shop_ping(", "internal function cs_error_t shop_ping(")],
     [("breaking", "function shop_ping is no longer exported")]),
    ("a flag the daemon enforces",
     [("    oneway 3;", "    oneway 3;\n    flag quorate_only;")],
     [("breaking", "function shop_ping gains flag quorate_only: the daemon now refuses it "
                   "while inquorate"),
      ("compatible", "shop_ping documents a new error CS_ERR_TRY_AGAIN")]),
    ("a new major version",
     [("version 1.2;", "version 2.0;")],
     [("breaking", "version changed from 1.2 to 2.0: the daemon refuses clients of another "
                   "major version")]),
    ("a new minor version",
     [("version 1.2;", "version 1.3;")],
     [("compatible", "version changed from 1.2 to 1.3")]),
    ("a new soname",
     [("soname 1", "soname 2")],
     [("breaking", "library soname changed from 1 to 2")]),
    ("a new error documented",
     [("    doc \"Pings.\";", "    doc \"Pings.\";\n    error CS_ERR_BUSY \"The shop is busy.\";")],
     [("compatible", "shop_ping documents a new error CS_ERR_BUSY")]),
    ("documentation",
     [("doc \"Fetches an item.\";", "doc \"Fetches one item.\";"),
      ("\"No item id.\"", "\"There is no item id.\"")],
     [("compatible", "documentation of CS_ERR_NOT_EXIST of shop_get changed"),
      ("compatible", "documentation of function shop_get changed")]),
    ("a define no layout uses",
     [("define SHOP_LIMIT 7", "define SHOP_LIMIT 8")],
     [("breaking", "SHOP_LIMIT changed from 7 to 8")]),
]


def apply(text, edits):
    for old, new in edits:
        if old == "":
            text += new
            continue
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


class CompatTest(unittest.TestCase):
    def setUp(self):
        self.tempdir = TempDir()
        self.dir = self.tempdir.__enter__()
        shutil.copy(os.path.join(IDL_DIR, "common.idl"), self.dir)
        self.old = self.write("old.idl", BASE)

    def tearDown(self):
        self.tempdir.__exit__(None, None, None)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as stream:
            stream.write(text)
        return path

    def compat(self, old, new):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            status = main(["--idl-dir", self.dir, "--compat", old, new])
        return status, out.getvalue(), err.getvalue()

    def findings(self, new_text):
        status, out, err = self.compat(self.old, self.write("new.idl", new_text))
        lines = [line.split(": ", 1)[1] for line in out.splitlines()]
        return status, [tuple(line.split(": ", 1)) for line in lines], err

    def test_each_change_is_classified(self):
        self.assertGreaterEqual(len(CASES), 15)
        for name, edits, expected in CASES:
            with self.subTest(change=name):
                status, found, err = self.findings(apply(BASE, edits))
                self.assertEqual(err, "")
                self.assertEqual(sorted(found), sorted(expected))
                breaking = any(kind == "breaking" for kind, _ in expected)
                self.assertEqual(status, 1 if breaking else 0)

    def test_the_same_file_has_no_findings(self):
        self.assertEqual(self.findings(BASE), (0, [], ""))

    def test_each_line_names_the_file_and_line(self):
        new = self.write("new.idl", apply(BASE, [("    oneway 3;", "    oneway 5;")]))
        status, out, _ = self.compat(self.old, new)
        line = BASE.split("\n").index("    oneway 3;") + 1
        self.assertEqual(out, f"{new}:{line}: breaking: request id of shop_ping changed "
                              f"from 3 to 5\n")
        status, out, _ = self.compat(self.old, self.write("new.idl", apply(BASE, CASES[0][1])))
        line = BASE.split("\n").index("function cs_error_t shop_ping(shop_handle_t handle, "
                                      "uint32_t token) {") + 1
        self.assertIn(f"{self.old}:{line}: breaking: function shop_ping removed\n", out)

    def test_a_new_error_value_in_common_is_compatible(self):
        with open(os.path.join(IDL_DIR, "common.idl")) as stream:
            common = stream.read()
        old = self.write("common-old.idl", common)
        new = self.write("common-new.idl", common.replace(
            '    CS_ERR_SECURITY = 100', '    CS_ERR_STALE = 31 "Stale.";\n    CS_ERR_SECURITY = 100'))
        status, out, _ = self.compat(old, new)
        self.assertEqual(status, 0)
        self.assertRegex(out, r"^[^:]+:\d+: compatible: new error CS_ERR_STALE = 31\n$")

    def test_an_idl_error_exits_2_with_its_position(self):
        broken = apply(BASE, [("function cs_error_t shop_ping(", "function int shop_ping(")])
        status, out, err = self.compat(self.old, self.write("new.idl", broken))
        self.assertEqual((status, out), (2, ""))
        self.assertIn("new.idl:", err)
        self.assertIn("error: shop_ping must return cs_error_t", err)

    def test_an_old_file_need_not_follow_todays_documentation_rules(self):
        restated = apply(BASE, [("    doc \"Connects.\";",
                                 "    doc \"Connects.\";\n    error CS_ERR_NO_MEMORY "
                                 "\"Memory could not be allocated.\";")])
        status, found, err = self.findings(restated)
        self.assertEqual((status, found, err), (0, [], ""))

    def test_imports_are_found_in_the_idl_dir(self):
        elsewhere = os.path.join(self.dir, "elsewhere")
        os.mkdir(elsewhere)
        old = os.path.join(elsewhere, "old.idl")
        shutil.copy(self.old, old)
        self.assertEqual(self.compat(old, self.old), (0, "", ""))


if __name__ == "__main__":
    unittest.main()
