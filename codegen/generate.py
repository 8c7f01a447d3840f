"""Runs every emitter over a loaded program and collects {path: text}."""

import os

from .emit import catalog, header, client, library, manpages, proto, server, servicepage, services, status, strerror

# Directories under --out whose every file the generator owns.
OWNED_DIRS = ("generated", "man/man3", "man/man7")
# The server API's header, beside the IDL directory, from which conclave-service(7) is made.
SERVICE_HEADER = "include/conclave/service.h"

PER_FILE_EMITTERS = (header.emit, library.emit, strerror.emit, status.emit, manpages.emit)
PER_SERVICE_EMITTERS = (proto.emit, client.emit, server.emit, catalog.emit)
# Emitters of one file for the whole program.
PROGRAM_EMITTERS = (services.emit, catalog.emit_list)


def service_header_beside(idl_dir):
    """(display path, text) of the server API's header beside idl_dir, or None."""
    path = os.path.join(os.path.dirname(os.path.abspath(idl_dir)), SERVICE_HEADER)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as stream:
        return SERVICE_HEADER, stream.read()


def generate(program, service_header=None):
    """{path: text}; service_header: (display path, text) of the server API's
    header, for its page, or None. For another project's IDL (program.own is
    not every file) only that project's services: no common files, no list of
    Conclave's services."""
    outputs = {}
    whole = program.own is program.files
    for idl_file in program.own:
        emitters = PER_FILE_EMITTERS
        if not idl_file.service.is_common:
            emitters += PER_SERVICE_EMITTERS
        for emit in emitters:
            _collect(outputs, emit(program, idl_file))
    for emit in PROGRAM_EMITTERS if whole else ():
        _collect(outputs, emit(program))
    if service_header:
        _collect(outputs, servicepage.emit(*service_header))
    return dict(sorted(outputs.items()))


def _collect(outputs, emitted):
    for path, text in emitted.items():
        if path in outputs:
            raise ValueError(f"two emitters write {path}")
        outputs[path] = text
