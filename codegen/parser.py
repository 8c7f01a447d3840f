"""Recursive-descent parser: tokens of one IDL file to an `IdlFile`.

The grammar is documented in conclave-idl(5). The parser checks syntax only;
names, types and ids are checked by `validate`."""

from . import lexer
from .diagnostics import IdlError
from .lexer import CODE, EOF, IDENT, NUMBER, PUNCT, STRING, SYSTEM_HEADER
from .model import (
    Alias, Annotation, Callback, CType, Decl, Define, Enum, Enumerator, ErrorDoc, Function,
    IdlFile, Implementation, Inline, Library, Service, Struct, Typedef,
)

# The word that may follow the last word of a type name: `unsigned long long`.
_MULTIWORD_TYPES = {
    "unsigned": ("char", "short", "int", "long"),
    "signed": ("char",),
    "long": ("long",),
}


class Parser:
    def __init__(self, tokens, idl_file):
        self.tokens = tokens
        self.index = 0
        self.file = idl_file

    # ---- token helpers ----------------------------------------------------

    @property
    def token(self):
        return self.tokens[self.index]

    def advance(self):
        token = self.token
        if token.kind != EOF:
            self.index += 1
        return token

    def at(self, text):
        return self.token.kind in (IDENT, PUNCT) and self.token.text == text

    def accept(self, text):
        if self.at(text):
            return self.advance()
        return None

    def expect(self, text):
        if not self.at(text):
            self.fail(f"expected '{text}'")
        return self.advance()

    def expect_kind(self, kind, what=None):
        if self.token.kind != kind:
            self.fail(f"expected {what or kind}")
        return self.advance()

    def expect_name(self, what="a name"):
        return self.expect_kind(IDENT, what)

    def fail(self, message):
        raise IdlError(self.token.pos, f"{message}, found {self.token.describe()}")

    # ---- file level -------------------------------------------------------

    def parse_file(self):
        while self.token.kind != EOF:
            self.parse_top_level()
        return self.file

    def parse_top_level(self):
        token = self.token
        if token.kind != IDENT:
            self.fail("expected a definition")
        handlers = {
            "import": self.parse_import,
            "service": self.parse_service,
            "common": self.parse_service,
            "typedef": self.parse_typedef,
            "struct": self.parse_tagged_struct,
            "enum": self.parse_tagged_enum,
            "define": self.parse_define,
            "callback": self.parse_callback,
            "function": self.parse_function,
            "internal": self.parse_internal,
            "inline": self.parse_inline,
            "alias": self.parse_alias,
        }
        handler = handlers.get(token.text)
        if handler is None:
            self.fail("expected a definition")
        handler()

    def parse_import(self):
        self.advance()
        name = self.expect_kind(STRING, "a file name string")
        self.expect(";")
        self.file.imports.append((name.text, name.pos))

    def parse_doc(self):
        """`doc "text";` (after the keyword has been seen)."""
        self.expect("doc")
        text = self.expect_kind(STRING, "a doc string").text
        self.expect(";")
        return text

    def parse_example(self):
        """`example "C code";`: a program for the EXAMPLES section of a page."""
        self.expect("example")
        text = self.expect_kind(STRING, "a string of C code").text
        self.expect(";")
        return text

    # ---- service block ----------------------------------------------------

    def parse_service(self):
        keyword = self.advance()
        if self.file.service is not None:
            raise IdlError(keyword.pos, f"a second {keyword.text} block in one file "
                           f"(the first is at {self.file.service.pos})")
        name = self.expect_name("a service name")
        service = Service(name.text, keyword.text == "common", name.pos)
        self.expect("{")
        while not self.accept("}"):
            self.parse_service_statement(service)
        self.file.service = service

    def parse_service_statement(self, service):
        token = self.token
        if self.at("doc"):
            service.doc = self.parse_doc()
            return
        if self.at("example"):
            service.example = self.parse_example()
            return
        self.advance()
        if token.text == "version":
            service.version = self.parse_version()
        elif token.text == "id":
            number = self.expect_kind(NUMBER, "a service number")
            if not number.text.isdigit() or int(number.text) > 65535:
                raise IdlError(number.pos, f"service number '{number.text}' is not 0 to 65535")
            service.id, service.id_pos = int(number.text), token.pos
        elif token.text == "header":
            service.header = self.expect_kind(STRING, "a header path string").text
            self.expect("guard")
            service.guard = self.expect_name("a guard macro name").text
        elif token.text == "include":
            service.includes.append(self.expect_kind(SYSTEM_HEADER, "<header>").text)
        elif token.text == "library":
            service.library = self.parse_library()
        elif token.text == "handle":
            service.handle = self.expect_name("a handle type name").text
            service.handle_pos = token.pos
        elif token.text == "dispatch":
            service.dispatch = self.expect_name("a dispatch flags type name").text
        else:
            raise IdlError(token.pos, f"unknown service statement '{token.text}'")
        self.expect(";")

    def parse_version(self):
        token = self.expect_kind(NUMBER, "a version such as 1.0")
        major, dot, minor = token.text.partition(".")
        if not dot or not major.isdigit() or not minor.isdigit():
            raise IdlError(token.pos, f"version '{token.text}' is not MAJOR.MINOR")
        return int(major), int(minor)

    def parse_library(self):
        name = self.expect_name("a library name")
        self.expect("soname")
        soname = self.expect_kind(NUMBER, "a soname number").text
        self.expect("version")
        version = self.expect_kind(STRING, "a version string").text
        node = None
        if self.accept("node"):
            node = self.expect_name("a version node name").text
        return Library(name.text, soname, version, name.pos, node)

    # ---- types and declarations ------------------------------------------

    def parse_ctype(self):
        start = self.token
        const = bool(self.accept("const"))
        is_tag = bool(self.accept("struct"))
        name = self.expect_name("a type name")
        text = name.text
        while self.token.kind == IDENT and not text.endswith("long long") \
                and self.token.text in _MULTIWORD_TYPES.get(text.split()[-1], ()):
            text += " " + self.advance().text
        ctype = CType(text, start.pos, const=const, is_struct_tag=is_tag)
        while self.accept("*"):
            ctype.pointers += 1
        return ctype

    def parse_array_suffix(self):
        """The size text, '' for `[]`, None without brackets; and whether
        the size is backquoted C code."""
        if not self.accept("["):
            return None, False
        size, is_code = "", False
        if not self.at("]"):
            is_code = self.token.kind == CODE
            size = self.advance().text
        self.expect("]")
        return size, is_code

    def parse_annotations(self):
        annotations = {}
        while self.at("@"):
            at = self.advance()
            name = self.expect_name("an annotation name")
            args = []
            if self.accept("("):
                args = self.parse_annotation_args()
            if name.text in annotations:
                raise IdlError(at.pos, f"@{name.text} given twice")
            annotations[name.text] = Annotation(name.text, args, at.pos)
        return annotations

    def parse_annotation_args(self):
        args = []
        while True:
            if self.token.kind not in (IDENT, NUMBER):
                self.fail("expected a name or a number")
            args.append(self.advance().text)
            if self.accept(")"):
                return args
            self.expect(",")

    def parse_decl(self):
        ctype = self.parse_ctype()
        name = self.expect_name("a parameter name")
        array, array_is_code = self.parse_array_suffix()
        annotations = self.parse_annotations()
        return Decl(ctype, name.text, name.pos, array, annotations, array_is_code)

    def parse_params(self):
        self.expect("(")
        params = []
        if self.at("void") and self.tokens[self.index + 1].text == ")":
            self.advance()
        while not self.accept(")"):
            if params:
                self.expect(",")
            params.append(self.parse_decl())
        return params

    # ---- definitions ------------------------------------------------------

    def parse_typedef(self):
        self.advance()
        if self.at("struct") and self.tokens[self.index + 2].text == "{":
            self.advance()
            self.parse_struct_body(is_typedef=True)
            return
        if self.accept("enum"):
            self.parse_enum()
            return
        ctype = self.parse_ctype()
        name = self.expect_name("a type name")
        doc = self.parse_optional_string()
        self.expect(";")
        self.file.items.append(Typedef(name.text, ctype, name.pos, doc))

    def parse_optional_string(self):
        if self.token.kind == STRING:
            return self.advance().text
        return ""

    def parse_tagged_struct(self):
        self.advance()
        self.parse_struct_body(is_typedef=False)

    def parse_struct_body(self, is_typedef):
        name = self.expect_name("a struct name")
        struct = Struct(name.text, [], name.pos, is_typedef)
        if not is_typedef and self.accept(";"):
            struct.external = True
            self.file.items.append(struct)
            return
        self.expect("{")
        while not self.accept("}"):
            if self.at("doc"):
                struct.doc = self.parse_doc()
                continue
            decl = self.parse_decl()
            self.expect(";")
            struct.fields.append(decl)
        self.file.items.append(struct)

    def parse_tagged_enum(self):
        self.advance()
        self.parse_enum(is_typedef=False)

    def parse_enum(self, is_typedef=True):
        name = self.expect_name("an enum name")
        enum = Enum(name.text, [], name.pos, is_typedef=is_typedef)
        self.expect("{")
        while not self.accept("}"):
            if self.at("doc"):
                enum.doc = self.parse_doc()
                continue
            enumerator = self.expect_name("an enumerator")
            self.expect("=")
            value = self.expect_kind(NUMBER, "an integer value")
            doc = self.parse_optional_string()
            self.expect(";")
            enum.enumerators.append(Enumerator(enumerator.text, value.text, enumerator.pos, doc))
        self.file.items.append(enum)

    def parse_define(self):
        self.advance()
        name = self.expect_name("a macro name")
        params = None
        if self.accept("("):
            params = []
            while not self.accept(")"):
                if params:
                    self.expect(",")
                params.append(self.expect_name("a macro parameter").text)
        if self.token.kind == NUMBER:
            value, is_integer = self.advance().text, True
        elif self.token.kind == CODE:
            value, is_integer = self.advance().text, False
        else:
            self.fail("expected a number or `C code`")
        doc = self.parse_optional_string()
        self.expect(";")
        self.file.items.append(Define(name.text, value, name.pos, params, doc, is_integer))

    def parse_alias(self):
        """`alias NEW = OLD "doc";`."""
        self.advance()
        name = self.expect_name("an alias name")
        self.expect("=")
        target = self.expect_name("the name it stands for")
        doc = self.parse_optional_string()
        self.expect(";")
        self.file.items.append(Alias(name.text, target.text, name.pos, target.pos, doc))

    def parse_internal(self):
        """`internal function ...` or `internal callback ...`."""
        self.advance()
        if self.at("callback"):
            self.parse_callback(internal=True)
        else:
            self.parse_function(internal=True)

    def parse_callback(self, internal=False):
        self.expect("callback")
        return_type = self.parse_ctype()
        name = self.expect_name("a callback type name")
        callback = Callback(name.text, return_type, self.parse_params(), name.pos,
                            internal=internal)
        self.expect("{")
        while not self.accept("}"):
            token = self.token
            if self.at("doc"):
                callback.doc = self.parse_doc()
            elif self.accept("event"):
                if callback.event_id is not None:
                    raise IdlError(token.pos, f"{callback.name} has a second event id")
                callback.event_id = int(self.expect_kind(NUMBER, "an event id").text, 0)
                callback.event_pos = token.pos
                self.expect(";")
            elif self.accept("manual"):
                if callback.manual_pos is not None:
                    raise IdlError(token.pos, f"{callback.name} says 'manual' twice")
                callback.manual_pos = token.pos
                self.expect(";")
            else:
                raise IdlError(token.pos, f"unknown callback statement '{token.text}'")
        self.file.items.append(callback)

    def parse_function(self, internal=False):
        self.expect("function")
        return_type = self.parse_ctype()
        name = self.expect_name("a function name")
        function = Function(name.text, return_type, self.parse_params(), name.pos, internal)
        self.expect("{")
        while not self.accept("}"):
            self.parse_function_statement(function)
        self.file.items.append(function)

    def parse_function_statement(self, function):
        token = self.token
        if self.at("doc"):
            function.doc = self.parse_doc()
            return
        if self.at("example"):
            function.example = self.parse_example()
            return
        if self.accept("error"):
            code = self.expect_name("an error code")
            text = self.expect_kind(STRING, "an error description string")
            self.expect(";")
            function.errors.append(ErrorDoc(code.text, text.text, code.pos))
            return
        if self.accept("unversioned"):
            if function.unversioned_pos is not None:
                raise IdlError(token.pos, f"{function.name} says 'unversioned' twice")
            self.expect(";")
            function.unversioned_pos = token.pos
            return
        if self.accept("flag"):
            name = self.expect_name("a request flag")
            self.expect(";")
            function.flags.append((name.text, name.pos))
            return
        kind = token.text
        if token.kind != IDENT or kind not in ("request", "oneway", "local", "manual", "strerror"):
            raise IdlError(token.pos, f"unknown function statement '{token.text}'")
        if function.implementation is not None:
            raise IdlError(token.pos, f"{function.name} has a second implementation statement "
                           f"(the first is at {function.implementation.pos})")
        self.advance()
        arg = None
        if kind in ("request", "oneway"):
            arg = self.expect_kind(NUMBER, "a request id").text
        elif kind in ("local", "strerror"):
            arg = self.expect_name("a name").text
        elif kind == "manual" and self.token.kind == IDENT:
            arg = self.advance().text
        self.expect(";")
        function.implementation = Implementation(kind, token.pos, arg)

    def parse_inline(self):
        token = self.advance()
        code = self.expect_kind(STRING, "a string of C code")
        self.expect(";")
        self.file.items.append(Inline(code.text, token.pos))


def parse(text, path, display_path):
    idl_file = IdlFile(path, display_path)
    return Parser(lexer.tokenize(text, path), idl_file).parse_file()
