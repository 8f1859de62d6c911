"""How //third_party links Debian's libraries: see the comment on :optimized in BUILD."""

def static_when_optimized(libraries):
    """linkopts for `libraries` (names without lib/-l): static archives under -c opt, else shared."""
    return select({
        # A group: the archives are listed in no dependency order (Abseil's are many).
        "//third_party:optimized": ["-Wl,-Bstatic", "-Wl,--start-group"] +
                                   ["-l" + lib for lib in libraries] +
                                   ["-Wl,--end-group", "-Wl,-Bdynamic"],
        "//conditions:default": ["-l" + lib for lib in libraries],
    })
