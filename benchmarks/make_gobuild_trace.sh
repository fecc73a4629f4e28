#!/bin/sh
# Capture the big-trace benchmark log (issue 12): strace -f -tt -T (no -e filter) of
# `go build -a std` with an empty GOCACHE, so the go command, every compile and asm process and
# their threads do all the work from scratch. With go1.19 on 2 cores: about 0.95 million lines
# (~85 MB, under a minute); naming `std cmd` after OUT builds the toolchain too: about 1.7 million
# lines (~150 MB, a minute and a half). The count varies with the Go version (newer ones have more
# packages), the core count and the scheduling of the run.
#
#   sh benchmarks/make_gobuild_trace.sh bench-data/gobuild-std.trace
#   sh benchmarks/make_gobuild_trace.sh bench-data/gobuild-stdcmd.trace std cmd
#
# The build is hermetic: GOCACHE, GOPATH, GOMODCACHE and the working directory are fresh temporary
# folders (removed at the end), GOFLAGS is unset, GOENV=off (no user go env file), GOTOOLCHAIN=local,
# GOPROXY=off and GOSUMDB=off (nothing is fetched), and the whole run is put in a network
# namespace of its own (unshare -n) when that is allowed. The trace is large and machine-specific,
# so it is not committed (bench-data/ is gitignored); make it once.
set -eu
out=${1:-bench-data/gobuild-std.trace}
[ $# -gt 0 ] && shift
pkgs=${*:-std}
command -v go >/dev/null || { echo "go not found (apt-get install -y golang-go)" >&2; exit 2; }
command -v strace >/dev/null || { echo "strace not found (apt-get install -y strace)" >&2; exit 2; }
mkdir -p "$(dirname "$out")"
case $out in /*) ;; *) out=$PWD/$out ;; esac
work=$(mktemp -d)
# the module cache is written read-only by go; make it writable so rm can remove it
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
mkdir "$work/cache" "$work/gopath" "$work/modcache" "$work/src"
nonet=
if unshare -n true 2>/dev/null; then nonet="unshare -n"; fi
cd "$work/src"
env -u GOFLAGS \
  GOCACHE="$work/cache" GOPATH="$work/gopath" GOMODCACHE="$work/modcache" \
  GOENV=off GOTOOLCHAIN=local GOPROXY=off GOSUMDB=off \
  $nonet strace -f -tt -T -o "$out" go build -a $pkgs
wc -l "$out"
