"""Runs every emitter over a loaded program and collects {path: text}."""

from .emit import catalog, header, client, library, manpages, proto, server, services, status, strerror

# Directories under --out whose every file the generator owns.
OWNED_DIRS = ("generated", "man/man3")

PER_FILE_EMITTERS = (header.emit, library.emit, strerror.emit, status.emit, manpages.emit)
PER_SERVICE_EMITTERS = (proto.emit, client.emit, server.emit, catalog.emit)
# Emitters of one file for the whole program.
PROGRAM_EMITTERS = (services.emit, catalog.emit_list)


def generate(program):
    outputs = {}
    for idl_file in program.files:
        emitters = PER_FILE_EMITTERS
        if not idl_file.service.is_common:
            emitters += PER_SERVICE_EMITTERS
        for emit in emitters:
            _collect(outputs, emit(program, idl_file))
    for emit in PROGRAM_EMITTERS:
        _collect(outputs, emit(program))
    return dict(sorted(outputs.items()))


def _collect(outputs, emitted):
    for path, text in emitted.items():
        if path in outputs:
            raise ValueError(f"two emitters write {path}")
        outputs[path] = text
