#!/bin/sh
# Capture the benchmark trace: strace -f -tt -T (no -e filter) of a real, busy, multi-process and
# multi-threaded workload on this machine (Python byte-compiling the standard library with two
# worker processes, Python thread pools, Node.js, git, find/xargs/wc). About 1.2 million lines.
#
#   sh benchmarks/make_busy_trace.sh bench-data/busy.trace
#
# The trace is large (~120 MB) and machine-specific, so it is not committed; make it once.
set -eu
out=${1:-bench-data/busy.trace}
mkdir -p "$(dirname "$out")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/work.sh" <<'WORK'
for round in 1 2 3 4 5 6 7 8; do
  python3 -m compileall -q -f -j 2 /usr/lib/python3.11 >/dev/null 2>&1 || true
  for i in 1 2 3 4; do
    python3 -c "import json, asyncio, email, http.client, xml.dom.minidom, sqlite3, decimal, unittest, concurrent.futures as f; list(f.ThreadPoolExecutor(4).map(sum, [[1]]*200))"
  done
  node -e "const a=[]; for(let i=0;i<200;i++){a.push(Buffer.alloc(1<<20))}; require('fs').readdirSync('/usr/lib')" || true
  find /usr/share/doc -name "*.gz" | head -3000 | xargs -n 100 ls -l > /dev/null
done
WORK
strace -f -tt -T -o "$out" sh "$work/work.sh"
wc -l "$out"
