"""Conclave's code generator: IDL files in, headers, stubs, tables, maps and man pages out."""
