"""generated/include/conclave/cv-status.h: whether a number is a value of the
status enum (cs_error_t), generated from that enum for the runtime, which
hands a caller no other status, and its enumerator's name, for traces."""

from ..model import STATUS_TYPE, Enum
from . import ctext

STATUS_HEADER = "generated/include/conclave/cv-status.h"


def emit(program, idl_file):
    enum = next((e for e in idl_file.of_type(Enum) if e.name == STATUS_TYPE), None)
    if enum is None:
        return {}
    guard = "CONCLAVE_CV_STATUS_H"
    return {STATUS_HEADER: (
        ctext.c_notice(idl_file)
        + f"#ifndef {guard}\n#define {guard}\n\n"
        + f"#include <stdbool.h>\n#include <stdint.h>\n\n#include <{idl_file.service.header}>\n\n"
        + f"/* True when status is a {STATUS_TYPE} value. */\n"
        + "static inline bool cv_status_valid(int64_t status)\n{\n"
        + f"\treturn {_membership(enum)};\n}}\n"
        + _name_function(enum)
        + f"\n#endif /* {guard} */\n")}


def _name_function(enum):
    """The enumerator's name for a value, for traces; NULL for another number."""
    cases = "".join(f"\tcase {e.name}:\n\t\treturn \"{e.name}\";\n" for e in enum.enumerators)
    return (f"\n/* \"CS_OK\" for CS_OK, ...; NULL when status is no {STATUS_TYPE} value. */\n"
            "static inline const char *cv_status_name(int64_t status)\n{\n"
            f"\tswitch (status) {{\n{cases}\tdefault:\n\t\treturn NULL;\n\t}}\n}}\n")


def _membership(enum):
    """`a || b || ...` over the runs of consecutive values, each a range or a value."""
    tests = []
    for first, last in _runs(enum):
        if first is last:
            tests.append(f"status == {first.name}")
        else:
            tests.append(f"(status >= {first.name} && status <= {last.name})")
    return ctext.wrap_condition(tests, "\t", "return ")


def _runs(enum):
    """(first, last) enumerators of each run of consecutive values, in value order;
    of enumerators sharing a value, the first declared stands for it."""
    by_value = {}
    for enumerator in enum.enumerators:
        by_value.setdefault(enumerator.number, enumerator)
    runs = []
    for value in sorted(by_value):
        if runs and value == runs[-1][1].number + 1:
            runs[-1][1] = by_value[value]
        else:
            runs.append([by_value[value], by_value[value]])
    return [tuple(run) for run in runs]
