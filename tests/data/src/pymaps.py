"""Python ground-truth program: anonymous and file mmaps through the mmap module, a big list
(obmalloc arenas, malloc, mremap), then its own /proc/self/smaps and status on stdout. It ends
with os._exit right after, so the trace ends in the state the kernel reported (interpreter
teardown would unmap most of it)."""

import mmap
import os
import sys
import tempfile

anon = mmap.mmap(-1, 8 << 20)
anon[: 1 << 20] = b"x" * (1 << 20)
f = tempfile.TemporaryFile()
f.truncate(4 << 20)
shared = mmap.mmap(f.fileno(), 4 << 20)
shared[:10] = b"0123456789"
data = [bytes(100) for _ in range(200_000)]
del anon
with open("/proc/self/smaps") as s:
    smaps = s.read()
with open("/proc/self/status") as s:
    status = s.read()
sys.stdout.write(smaps + status)
sys.stdout.flush()
os._exit(0)
