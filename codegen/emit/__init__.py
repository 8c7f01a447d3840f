"""One emitter per generated artifact; each takes the program (and a file) and
returns {relative output path: text}."""
