"""One macro per target kind, so every target of ours gets the same warnings and standard.

Our own code compiles with -Wall -Wextra -Werror; generated and system code does not pass
through these macros.
"""

SUITE_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
    "-I/usr/include/postgresql",
]

def suite_cc_library(name, copts = [], visibility = None, **kwargs):
    """A C++ library of ours; private to its package unless `visibility` says otherwise."""
    native.cc_library(
        name = name,
        copts = SUITE_COPTS + copts,
        visibility = visibility,
        **kwargs
    )

def suite_cc_binary(name, copts = [], **kwargs):
    native.cc_binary(
        name = name,
        copts = SUITE_COPTS + copts,
        **kwargs
    )

def suite_cc_test(name, copts = [], deps = [], tags = [], **kwargs):
    """A GoogleTest binary. Tests that need PostgreSQL read it from the environment that
    tools/test passes in (see tests/harness)."""
    native.cc_test(
        name = name,
        copts = SUITE_COPTS + copts,
        deps = deps + ["//third_party:gtest_main"],
        tags = tags,
        **kwargs
    )
