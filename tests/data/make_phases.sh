#!/bin/sh
# Capture the traces of tests/data/phases/ (tests/test_phases.py): programs outside the
# Go/JVM/Node server pattern, whose phases must come from their exec, loader and script opens
# rather than sockets. Needs strace (6.1 was used), gcc, python3, node and a JDK on PATH.
#
#   sh tests/data/make_phases.sh
#
# sh-c-full.trace / sh-c-recommended.trace: `sh -c './cwork one; exec ./cwork two'`: dash forks
#   a child that execs cwork, then execs cwork in its own pid (a second execve in one process);
#   traced with every syscall, and with the README's recommended capture.
# pywork-full.trace / pywork-recommended.trace: the Python interpreter itself (not a pyenv shim)
#   running src/pywork.py, a script without sockets; every syscall, and the recommended capture.
# node-script.trace: Debian's node running src/nodework.js; java-class.trace: the JDK running
#   src/PhaseWork.java's class by name (-cp . PhaseWork); the recommended capture, both.
# Re-capturing changes line numbers; tests/test_phases.py reads them from the traces.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/phases"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
mkdir -p "$out"
rm -f "$out"/*.trace
cd "$bin"
gcc -O1 -Wall -o cwork "$here/src/cwork.c"
rec=trace=%memory,%process,prctl,openat,%network
strace -f -tt -T -y -o "$out/sh-c-full.trace" sh -c './cwork one; exec ./cwork two' > /dev/null
strace -f -ttt -T -y -e "$rec" -o "$out/sh-c-recommended.trace" sh -c './cwork one; exec ./cwork two' > /dev/null
PY=$(python3 -c "import sys; print(sys.executable)")  # the interpreter itself, not a pyenv shim
cp "$here/src/pywork.py" pywork.py
strace -f -tt -T -y -o "$out/pywork-full.trace" "$PY" pywork.py
strace -f -ttt -T -y -e "$rec" -o "$out/pywork-recommended.trace" "$PY" pywork.py
cp "$here/src/nodework.js" nodework.js
strace -f -ttt -T -y -e "$rec" -o "$out/node-script.trace" node nodework.js > /dev/null
cp "$here/src/PhaseWork.java" . && javac PhaseWork.java
strace -f -ttt -T -y -e "$rec" -o "$out/java-class.trace" java -Xmx128m -XX:+UseSerialGC -cp . PhaseWork > /dev/null
ls -la "$out"
