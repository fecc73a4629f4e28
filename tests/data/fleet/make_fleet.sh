#!/bin/sh
# Rebuild the fleet corpus in tests/data/fleet/traces/ (tests/test_fleet.py, SOURCES.md): real
# strace captures of three small programs on 4 "hosts" x 5 "versions", hosts and versions in the
# path (traces/host-X/vVERSION/NAME), 6 traces a folder (120), 5 of them deliberate outliers (an
# extra 64 MiB mapped and touched), and one broken file.
# Needs strace (6.1 was used), gcc, Debian's golang-go and /usr/bin/python3.
#
#   sh tests/data/fleet/make_fleet.sh
#
# The "hosts" are folders, not machines: every run is on the machine running this script.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/traces"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
rm -rf "$out"
mkdir -p "$out"
cd "$bin"
gcc -O1 -pthread -o fleetwork "$here/src/fleetwork.c"
cp "$here/src/fleetgo.go" fleetgo.go
GOCACHE="$bin/gocache" GO111MODULE=off go build -o fleetgo fleetgo.go
cp "$here/src/fleetpy.py" fleetpy.py
PY=/usr/bin/python3
export PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1

# The deliberate outliers: FLEET_EXTRA=64 (MiB) for these HOST/VERSION/NAME (SOURCES.md lists them).
OUTLIERS="host-b/v1.9/c-tt.trace host-c/v2.0/c-mem.trace host-d/v1.11/c-ff host-c/v1.2/go.trace host-a/v2.0/py.trace"

extra() {  # extra HOST/VERSION/NAME: the FLEET_EXTRA value of that run (empty: none)
    for o in $OUTLIERS; do
        if [ "$o" = "$1" ]; then echo 64; return; fi
    done
    echo ""
}

run() {  # run HOST/VERSION/NAME STRACE-ARGS... -- COMMAND...: one capture, FLEET_EXTRA as listed
    key=$1
    shift
    e=$(extra "$key")
    if [ -n "$e" ]; then
        FLEET_EXTRA=$e strace "$@" > /dev/null
    else
        env -u FLEET_EXTRA strace "$@" > /dev/null
    fi
}

for host in host-a host-b host-c host-d; do
    for v in 1.2 1.9 1.10 1.11 2.0; do
        # the version's working set: 4, 6, 8, 10, 12 MiB (a trend over the versions)
        case $v in 1.2) base=4 ;; 1.9) base=6 ;; 1.10) base=8 ;; 1.11) base=10 ;; 2.0) base=12 ;; esac
        d="$out/$host/v$v"
        k="$host/v$v"
        mkdir -p "$d"
        run "$k/c-tt.trace" -f -tt -T -o "$d/c-tt.trace" ./fleetwork $base
        run "$k/c-y.trace" -f -ttt -T -y -o "$d/c-y.trace" ./fleetwork $base
        run "$k/c-mem.trace" -f -ttt -e trace=%memory,%process -o "$d/c-mem.trace" ./fleetwork $base
        # -ff: one file a task (c-ff.PID: the program and its forked helper), one trace for batch
        run "$k/c-ff" -ff -tt -o "$d/c-ff" ./fleetwork $base
        run "$k/go.trace" -f -ttt -T -y -e trace=%memory,%process,%network -o "$d/go.trace" ./fleetgo $base
        # hosts c and d capture Python without %network: no socket call, so no "main" phase there
        case $host in
            host-a|host-b) pyset=%memory,%process,%network ;;
            *) pyset=%memory,%process ;;
        esac
        run "$k/py.trace" -f -ttt -T -e trace=$pyset -o "$d/py.trace" $PY fleetpy.py $base
    done
done
# A capture that is not a trace (a core file written over it): batch records it as failed.
head -c 2048 ./fleetwork > "$out/host-d/v1.10/broken.trace"
du -sh "$out"
find "$out" -type f | wc -l
