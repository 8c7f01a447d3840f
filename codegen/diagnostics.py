"""Source positions and the one error type the generator reports."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Pos:
    file: str
    line: int
    col: int

    def __str__(self):
        return f"{self.file}:{self.line}:{self.col}"


class IdlError(Exception):
    """An error in the IDL, reported as `file:line:col: error: message`."""

    def __init__(self, pos, message):
        super().__init__(message)
        self.pos = pos
        self.message = message

    def __str__(self):
        return f"{self.pos}: error: {self.message}"
