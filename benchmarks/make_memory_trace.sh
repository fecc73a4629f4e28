#!/bin/sh
# Capture the replay benchmark trace: a real Python program that maps and unmaps anonymous memory
# through the mmap module (plus madvise and mprotect via ctypes-free means: a resize with mremap),
# traced with the recommended capture. About one million memory events.
#
#   sh benchmarks/make_memory_trace.sh bench-data/memory.trace
set -eu
out=${1:-bench-data/memory.trace}
mkdir -p "$(dirname "$out")"
PY=$(python3 -c "import sys; print(sys.executable)")
strace -f -ttt -T -y -e trace=%memory,%process,prctl -o "$out" "$PY" -c "
import mmap
keep = []
for i in range(300000):
    m = mmap.mmap(-1, 65536 * (1 + i % 8))
    m[:1] = b'x'
    if i % 3 == 0:
        m.resize(65536 * (9 + i % 5))   # mremap
    if i % 100 == 0:
        keep.append(m)                   # some mappings stay: the address space grows
        if len(keep) > 50:
            keep.pop(0).close()
    else:
        m.close()
"
wc -l "$out"
