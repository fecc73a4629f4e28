#!/bin/sh
# Rebuild the strace fixtures in tests/data/strace/ from the programs in tests/data/src/.
# Needs strace (6.1 was used), gcc, Debian's golang-go, python3, node and a JDK on PATH.
#
#   sh tests/data/make_traces.sh
#
# Each fixture is a real capture of a real run on the machine that ran this script; the
# flag set is in the file name. Sizes are kept small with -e filters where the program is big.
set -u
# Note: a re-capture changes addresses and line numbers that tests/test_corpus.py asserts; update
# those assertions together with the fixtures.
here=$(cd "$(dirname "$0")" && pwd)
out="$here/strace"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
mkdir -p "$out"
rm -f "$out"/*.trace "$out"/ff.*
cd "$bin"
gcc -O1 -pthread -o memdemo "$here/src/memdemo.c"
cp "$here/src/hello.go" hello.go
GOCACHE="$bin/gocache" go build -o hello hello.go
M=./memdemo
mem=trace=%memory,%process,prctl

strace -f -o "$out/c-f.trace" $M
strace -f -tt -T -y -o "$out/c-f-tt-T-y.trace" $M
strace -f -t -o "$out/c-f-t.trace" $M
strace -f -ttt -o "$out/c-f-ttt.trace" $M
strace -f --absolute-timestamps=format:unix,precision:ns --syscall-times=ns -T -o "$out/c-f-ttt-ns-T-ns.trace" $M
strace -f --absolute-timestamps=precision:ns -o "$out/c-f-tt-ns.trace" $M
strace -f -r -o "$out/c-f-r.trace" $M
strace -f -t -r -o "$out/c-f-t-r.trace" $M
strace -f -i -n -o "$out/c-f-i-n.trace" $M
strace -f -X raw -o "$out/c-f-Xraw.trace" $M
strace -f -X verbose -o "$out/c-f-Xverbose.trace" $M
strace -f -v -s 64 -o "$out/c-f-v.trace" $M
strace -f -yy -o "$out/c-f-yy.trace" $M
strace -f -k -e "$mem" -o "$out/c-f-k.trace" $M
strace -f -c -o "$out/c-f-c.trace" $M
strace -f -C -e "$mem" -o "$out/c-f-C.trace" $M
strace -o "$out/c-nof.trace" $M
# -ff: one file per task, pid in the file name (renamed to a stable prefix).
strace -ff -tt -o "$out/ff" $M
# stderr capture (no -o): [pid N] prefixes, unprefixed lines while one task is left, and the
# program's own output (--maps prints /proc/self/maps and status) mixed into the log.
strace -f -tt $M --maps > "$out/c-stderr-mixed.trace" 2>&1
# A crashing tracee: SIGSEGV, "+++ killed by SIGSEGV (core dumped) +++".
(ulimit -c 0; strace -f -tt -T -o "$out/c-crash.trace" $M --crash)
# A tracer killed with SIGKILL: the log ends inside a line (stdio buffer cut).
strace -f -tt -o "$out/killed-tracer.trace" sh -c 'while :; do cat /proc/self/stat > /dev/null; done' &
spid=$!
sleep 0.5
kill -9 $spid
sleep 0.2
pkill -f 'cat /proc/self/stat' 2>/dev/null
pkill -f 'while :; do cat' 2>/dev/null
# Runtimes, memory and process syscalls only (the recommended capture).
strace -f -ttt -T -y -e "$mem" -o "$out/go-http-ttt-T-y.trace" ./hello
strace -f -ttt -T -y -e "$mem" -o "$out/python-ttt-T-y.trace" python3 -c "import json, subprocess; x = [0] * 10**6; subprocess.run(['true'])"
strace -f -ttt -T -e "$mem" -o "$out/node-ttt-T.trace" node -e "const a = []; for (let i = 0; i < 50; i++) a.push(Buffer.alloc(1 << 20)); console.log(a.length)"
strace -f -ttt -e "$mem" -o "$out/java-ttt.trace" java -Xmx64m -Xss512k -XX:+UseSerialGC -version 2>/dev/null
ls -la "$out"

# Ground truth: programs that print their own /proc/self/smaps and status at exit, traced with
# the recommended capture and with plain -f; the smaps says what the kernel holds at the end.
gt="$here/groundtruth"
mkdir -p "$gt"
rm -f "$gt"/*
cd "$bin"
strace -f -ttt -T -y -e trace=%memory,%process,prctl,openat,shmget -o "$gt/c-recommended.trace" $M --maps > "$gt/c-recommended.smaps"
strace -f -o "$gt/c-full.trace" $M --maps > "$gt/c-full.smaps"
strace -f -ttt -T -y -e trace=%memory,%process,prctl,openat -o "$gt/go-recommended.trace" ./hello --maps > "$gt/go-recommended.smaps"
PY=$(python3 -c "import sys; print(sys.executable)")  # the interpreter itself, not a pyenv shim
strace -f -ttt -T -y -e trace=%memory,%process,prctl -o "$gt/python-recommended.trace" "$PY" "$here/src/pymaps.py" > "$gt/python-recommended.smaps"
strace -f -o "$gt/go-full.trace" ./hello --maps > "$gt/go-full.smaps"
strace -f -tt -T -o "$gt/python-full.trace" "$PY" "$here/src/pymaps.py" > "$gt/python-full.smaps"
ls -la "$gt"
