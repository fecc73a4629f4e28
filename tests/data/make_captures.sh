#!/bin/sh
# Capture the ground truth for every capture form a user makes (tests/test_captures.py):
# tests/data/captures/FORM.trace (or FORM.ff.PID for -ff), FORM.maps and FORM.smaps, where the
# maps files are what the traced program read from /proc/self at its mark (see
# tests/data/src/capture.c and capture.go; the JVM writes them just before it exits).
# Needs strace (6.1 was used), gcc, Debian's golang-go and a JDK on PATH.
#
#   sh tests/data/make_captures.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/captures"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
mkdir -p "$out"
rm -f "$out"/*
cd "$bin"
gcc -O1 -Wall -pthread -o c "$here/src/capture.c"
cp "$here/src/capture.go" capture.go
GOCACHE="$bin/gocache" GOPATH="$bin/gopath" CGO_ENABLED=1 go build -o go capture.go
cp "$here/src/Capture.java" . && javac Capture.java

for prog in c go; do
    P="./$prog"
    f="$out/$prog"
    strace -f -e trace=%memory -o "$f-f-memory.trace" $P "$f-f-memory.maps" "$f-f-memory.smaps"
    strace -f -e trace=memory -o "$f-f-memory-nopct.trace" $P "$f-f-memory-nopct.maps" "$f-f-memory-nopct.smaps"
    strace -f -z -o "$f-f-z.trace" $P "$f-f-z.maps" "$f-f-z.smaps"
    strace -f -X raw -e trace=%memory,%process -o "$f-f-Xraw.trace" $P "$f-f-Xraw.maps" "$f-f-Xraw.smaps"
    strace -f -k -e trace=%memory,%process -o "$f-f-k.trace" $P "$f-f-k.maps" "$f-f-k.smaps"
    strace -f -r -e trace=%memory,%process -o "$f-f-r.trace" $P "$f-f-r.maps" "$f-f-r.smaps"
    strace -ff -tt -e trace=%memory,%process -o "$f-ff.ff" $P "$f-ff.maps" "$f-ff.smaps"
    # the terminal capture: strace's stderr (no -o)
    strace -f -tt -e trace=%memory,%process $P "$f-stderr.maps" "$f-stderr.smaps" 2> "$f-stderr.trace"
    # attach to a running process: it maps 3 MiB, prints its pid and waits for SIGUSR1
    $P "$f-attach.maps" "$f-attach.smaps" --wait > pid.txt &
    child=$!
    while [ ! -s pid.txt ]; do sleep 0.05; done
    strace -f -tt -p "$child" -o "$f-attach.trace" &
    tracer=$!
    sleep 1
    kill -USR1 "$child"
    wait "$child" || true
    wait "$tracer" || true
    rm -f pid.txt
done
# VMA flags that split mappings: mlock, mlock2, munlock, mseal (strace 6.1: syscall_0x1ce)
gcc -O1 -Wall -o vmaflags "$here/src/vmaflags.c"
strace -f -e trace=%memory -o "$out/vmaflags.trace" ./vmaflags "$out/vmaflags.maps" "$out/vmaflags.smaps"
# the JVM without -Xmx and without -y (no paths for its file mappings)
strace -f -e trace=memory,process -o "$out/java-f-memory-process.trace" \
    java -XX:+UseSerialGC -cp . Capture "$out/java-f-memory-process.maps" "$out/java-f-memory-process.smaps" > /dev/null
ls -la "$out"
du -sh "$out"
