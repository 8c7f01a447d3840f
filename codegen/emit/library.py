"""The library files: the linker version script, the pkg-config template and
the CMake settings (name, soname, version) the build reads."""

from . import ctext


def emit(program, idl_file):
    service = idl_file.service
    library = service.library
    if library is None:
        return {}
    directory = f"generated/{service.output_dir}"
    return {
        f"{directory}/{library.name}.map": linker_map(idl_file),
        f"{directory}/{library.name}.pc.in": pkg_config(idl_file),
        f"{directory}/{service.output_dir}.cmake": cmake_settings(idl_file),
    }


def versioned_functions(idl_file):
    return sorted(f.name for f in idl_file.public_functions if f.unversioned_pos is None)


def unversioned_functions(idl_file):
    return sorted(f.name for f in idl_file.public_functions if f.unversioned_pos is not None)


def linker_map(idl_file):
    """corosync's version node for a service; an anonymous node for the common
    library, which corosync does not version.

    Functions corosync exports without a version (evs_context_get) stay out
    of the node and are exported in the base version, which takes leaving
    out `local: *`: the build's hidden visibility keeps every other symbol in."""
    library = idl_file.service.library
    symbols = "".join(f"\t\t{name};\n" for name in versioned_functions(idl_file))
    node = f"{library.node} " if library.node else ""
    local = "" if unversioned_functions(idl_file) else "\tlocal:\n\t\t*;\n"
    return (f"# {ctext.notice_text(idl_file)}\n"
            f"{node}{{\n\tglobal:\n{symbols}{local}}};\n")


def pkg_config(idl_file):
    library = idl_file.service.library
    return (f"# {ctext.notice_text(idl_file)}\n"
            f"# CMake's configure_file(@ONLY) fills in the paths and the version.\n"
            f"prefix=@CMAKE_INSTALL_PREFIX@\n"
            f"exec_prefix=${{prefix}}\n"
            f"libdir=@CMAKE_INSTALL_FULL_LIBDIR@\n"
            f"includedir=@CMAKE_INSTALL_FULL_INCLUDEDIR@\n"
            f"\n"
            f"Name: {library.link_name}\n"
            f"Version: @CONCLAVE_API_VERSION@\n"
            f"Description: {library.link_name} client library (Conclave, corosync-compatible)\n"
            f"Libs: -L${{libdir}} -l{library.link_name}\n"
            f"Cflags: -I${{includedir}}\n")


def cmake_settings(idl_file):
    """The library's name, soname and version for cmake/ConclaveLibrary.cmake."""
    service = idl_file.service
    library = service.library
    key = service.output_dir
    return (f"# {ctext.notice_text(idl_file)}\n"
            f"set(CONCLAVE_LIBRARY_{key} {library.link_name})\n"
            f"set(CONCLAVE_SOVERSION_{key} {library.soname})\n"
            f"set(CONCLAVE_VERSION_{key} {library.version})\n")
