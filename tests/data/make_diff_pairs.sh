#!/bin/sh
# Capture the trace pairs of tests/data/diff/ for comparing two runs (tracemem diff BEFORE AFTER);
# tests/data/diff/README.md lists each file, its command line and the known difference of each
# pair, with the figures tracemem gives for them. Needs strace (6.1 was used), gcc and Debian's
# golang-go (1.19 was used) on PATH.
#
#   sh tests/data/make_diff_pairs.sh
#
# go-same-1.trace / go-same-2.trace: src/diffserver.go (listens on 127.0.0.1:0, GETs itself
#   once, then allocates and touches 8 MiB in main), traced twice the same way.
# go-same-memory.trace: the same run with a filtered capture (-e trace=memory,process: no
#   openat, no socket calls, so no "main" phase).
# go-big.trace: the same server allocating 64 MiB in main instead of 8 (-mib 64).
# c-base.trace / c-thread.trace / c-bigmap.trace: src/diffdemo.c with no argument, with
#   `thread` (one more pthread: its stack and a glibc arena) and with `bigmap` (its anonymous
#   mmap is 48 MiB instead of 16).
# The Go runs get GOMAXPROCS=1 (through strace's environment): with two Ps, identical runs
# differed by a 256 KiB anonymous mmap about half the time; with one their byte totals, roles
# and phase deltas matched in 36 of 36 runs (only the number of Go threads, 3 or 4, varies).
# Every program is traced directly (no shell in the trace). Re-capturing changes addresses,
# pids, times and line numbers: check README.md's figures with `tracemem summary` /
# `tracemem phases` (the tests assert them).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/diff"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
mkdir -p "$out"
rm -f "$out"/*.trace
cd "$bin"
gcc -O1 -Wall -pthread -o diffdemo "$here/src/diffdemo.c"
cp "$here/src/diffserver.go" diffserver.go
GOCACHE="$bin/gocache" GOPATH="$bin/gopath" GO111MODULE=off CGO_ENABLED=0 go build -o diffserver diffserver.go
rec=trace=%memory,%process,prctl,openat,%network
unset DIFFSERVER_MIB || true

GOMAXPROCS=1 strace -f -ttt -T -y -e "$rec" -o "$out/go-same-1.trace" ./diffserver > /dev/null
GOMAXPROCS=1 strace -f -ttt -T -y -e "$rec" -o "$out/go-same-2.trace" ./diffserver > /dev/null
GOMAXPROCS=1 strace -f -ttt -T -e trace=memory,process -o "$out/go-same-memory.trace" ./diffserver > /dev/null
GOMAXPROCS=1 strace -f -ttt -T -y -e "$rec" -o "$out/go-big.trace" ./diffserver -mib 64 > /dev/null

strace -f -ttt -T -y -e "$rec" -o "$out/c-base.trace" ./diffdemo > /dev/null
strace -f -ttt -T -y -e "$rec" -o "$out/c-thread.trace" ./diffdemo thread > /dev/null
strace -f -ttt -T -y -e "$rec" -o "$out/c-bigmap.trace" ./diffdemo bigmap > /dev/null
ls -la "$out"
