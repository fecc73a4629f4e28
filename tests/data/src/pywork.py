"""A Python script without sockets (tests/data/make_phases.sh): imports, a list of a million
ints, a dict and a JSON text, written to /dev/null. Its phases: the loader's, the interpreter's
set-up (runtime-init) and, from the open of this file, its own work (main)."""

import json

numbers = list(range(1_000_000))
table = {n: str(n) for n in numbers[:100_000]}
text = json.dumps(table)
with open("/dev/null", "w") as sink:
    sink.write(text)
