"""Pad a strace -f -tt log with rows that the address-space commands drop (issue 13: summary's
peak memory must not grow with the number of events it drops).

    python benchmarks/pad_dropped.py bench-data/gobuild-std.trace bench-data/gobuild-padded.trace --times 2

After every timestamped line, ``--times`` complete ``read`` calls of a task that does nothing
else (pid 4000000 and up, one per copy), stamped like that line: the kept events, the address
spaces and their replay are those of the input, and the file holds (1 + times) as many lines.
"""

from __future__ import annotations

import argparse
import re

STAMP = re.compile(rb"^\d+ +(\d\d:\d\d:\d\d\.\d{6}) ")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source")
    ap.add_argument("output")
    ap.add_argument("--times", type=int, default=1, help="padding lines after each line (default 1)")
    args = ap.parse_args()
    with open(args.source, "rb") as src, open(args.output, "wb") as out:
        for line in src:
            out.write(line)
            m = STAMP.match(line)
            if m:
                stamp = m.group(1)
                for k in range(args.times):
                    out.write(b"%d %s read(3, \"x\", 1) = 1\n" % (4000000 + k, stamp))


if __name__ == "__main__":
    main()
