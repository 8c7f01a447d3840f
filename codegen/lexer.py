"""Splits IDL text into tokens, each with the position where it starts."""

import re
import textwrap
from dataclasses import dataclass

from .diagnostics import IdlError, Pos

IDENT = "identifier"
NUMBER = "number"
STRING = "string"
CODE = "C code"
SYSTEM_HEADER = "<header>"
PUNCT = "punctuation"
EOF = "end of file"

PUNCTUATION = "{}()[];,*=@"

_PATTERNS = [
    (None, re.compile(r"[ \t\r\n]+|#[^\n]*")),
    (STRING, re.compile(r'"""')),
    (STRING, re.compile(r'"')),
    (CODE, re.compile(r"`")),
    (SYSTEM_HEADER, re.compile(r"<[A-Za-z0-9_./+-]+>")),
    (NUMBER, re.compile(r"-?(?:0[xX][0-9A-Fa-f]+|[0-9]+(?:\.[0-9]+)?)[uUlL]*")),
    # Dotted names are symbol version nodes such as COROSYNC_QUORUM_1.0.
    (IDENT, re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")),
]

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: Pos

    def describe(self):
        if self.kind == EOF:
            return "end of file"
        if self.kind == STRING:
            return "a string"
        if self.kind == CODE:
            return "C code"
        return f"'{self.text}'"


class Lexer:
    def __init__(self, text, filename):
        self.text = text
        self.filename = filename
        self.offset = 0

    def pos_at(self, offset):
        line = self.text.count("\n", 0, offset) + 1
        line_start = self.text.rfind("\n", 0, offset) + 1
        return Pos(self.filename, line, offset - line_start + 1)

    def tokens(self):
        result = []
        while self.offset < len(self.text):
            token = self._next_token()
            if token is not None:
                result.append(token)
        result.append(Token(EOF, "", self.pos_at(len(self.text))))
        return result

    def _next_token(self):
        start = self.offset
        if self.text[start] in PUNCTUATION:
            self.offset += 1
            return Token(PUNCT, self.text[start], self.pos_at(start))
        for kind, pattern in _PATTERNS:
            match = pattern.match(self.text, start)
            if not match:
                continue
            self.offset = match.end()
            if kind is None:
                return None
            if kind == STRING and match.group() == '"""':
                return Token(STRING, self._triple_quoted(start), self.pos_at(start))
            if kind == STRING:
                return Token(STRING, self._quoted(start), self.pos_at(start))
            if kind == CODE:
                return Token(CODE, self._backquoted(start), self.pos_at(start))
            return Token(kind, match.group(), self.pos_at(start))
        raise IdlError(self.pos_at(start), f"unexpected character '{self.text[start]}'")

    def _quoted(self, start):
        chars = []
        i = start + 1
        while i < len(self.text) and self.text[i] not in '"\n':
            if self.text[i] == "\\":
                escaped = self.text[i + 1:i + 2]
                if escaped not in _ESCAPES:
                    raise IdlError(self.pos_at(i), f"unknown escape '\\{escaped}' in string")
                chars.append(_ESCAPES[escaped])
                i += 2
                continue
            chars.append(self.text[i])
            i += 1
        if i >= len(self.text) or self.text[i] != '"':
            raise IdlError(self.pos_at(start), "unterminated string")
        self.offset = i + 1
        return "".join(chars)

    def _triple_quoted(self, start):
        end = self.text.find('"""', start + 3)
        if end < 0:
            raise IdlError(self.pos_at(start), "unterminated string")
        self.offset = end + 3
        return normalize_block_text(self.text[start + 3:end])

    def _backquoted(self, start):
        end = self.text.find("`", start + 1)
        if end < 0 or "\n" in self.text[start + 1:end]:
            raise IdlError(self.pos_at(start), "unterminated C code (missing `)")
        self.offset = end + 1
        return self.text[start + 1:end]


def normalize_block_text(raw):
    """A triple-quoted block without its common indentation and outer blank lines."""
    lines = textwrap.dedent(raw).split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(line.rstrip() for line in lines)


def tokenize(text, filename):
    return Lexer(text, filename).tokens()
