"""Man pages (placeholder until the mdoc emitter lands)."""


def emit(program, idl_file):
    return {}
