#!/bin/sh
# Cut tests/data/strace/go-build-cut.trace out of a real `go build -a std` trace (made by
# benchmarks/make_gobuild_trace.sh: strace -f -tt -T, no filter): the lines around the first
# `???( <unfinished ...>` (a call strace could not name, in a thread killed at exit), the first
# `restart_syscall(<... resuming interrupted nanosleep ...> <unfinished ...>` and the first
# `???() = ?`, 120 lines before and after each, in file order. These are the line forms that
# once sent whole blocks of Go traces to the slow path (issue 13); together with the
# `<... nanosleep resumed> <unfinished ...>) = ?` lines in the same windows.
#
#   sh tests/data/make_gocut.sh bench-data/gobuild-std.trace
set -eu
src=${1:-bench-data/gobuild-std.trace}
out=$(dirname "$0")/strace/go-build-cut.trace
first() { grep -n -m1 -F "$1" "$src" | cut -d: -f1; }
a=$(first '???( <unfinished ...>')
b=$(first 'restart_syscall(<... resuming interrupted nanosleep ...> <unfinished ...>')
c=$(first '???()')
awk -v a="$a" -v b="$b" -v c="$c" 'function near(x) { return NR >= x - 120 && NR <= x + 120 }
    near(a) || near(b) || near(c)' "$src" > "$out"
wc -l "$out"
