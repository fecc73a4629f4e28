#!/bin/sh
# make_recorded.sh: regenerate samples/recorded/, real traces recorded with `tracemem record`
# (each FILE.trace with its FILE.trace.maps/ exec-time or attach-time smaps snapshots).
#
# Needs: strace 6.1 (Debian 12's), gcc (and the pthread headers of libc6-dev), golang-go
# (Debian's go 1.19), python3 (/usr/bin/python3, not a pyenv shim: the shim's bash and its
# PATH searches would be traced too), node, default-jdk (java and javac), and tracemem on PATH
# or in $TRACEMEM (e.g. TRACEMEM=.venv/bin/tracemem). ptrace must be permitted (root, or Yama
# ptrace_scope 0 / CAP_SYS_PTRACE) for the attach sample.
#
# Samples whose runtime is not installed are skipped with a note on stderr. Programs are built
# in a temporary directory; machine paths in the traces are those of that directory.
#
#   sh samples/make_recorded.sh            # all
#   sh samples/make_recorded.sh go c       # some: go c python node java multiproc attach
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$here/../tests/data/src
out=$here/recorded
TM=${TRACEMEM:-tracemem}
PY=${PYTHON3:-/usr/bin/python3}
tmp=$(mktemp -d)
attached=
cleanup() {
    if [ -n "$attached" ]; then kill "$attached" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$out"

have() { command -v "$1" >/dev/null 2>&1; }
skip() { echo "make_recorded.sh: skipping $1: $2" >&2; }

# rec NAME -- COMMAND...: record COMMAND into $out/NAME.trace (a fresh NAME.trace.maps/).
rec() {
    name=$1; shift; shift
    rm -rf "$out/$name.trace" "$out/$name.trace.maps"
    "$TM" record -o "$out/$name.trace" -- "$@" >/dev/null
}

want() {
    [ -z "$targets" ] && return 0
    case " $targets " in *" $1 "*) return 0;; esac
    return 1
}
targets="$*"

# 1. Go net/http server answering one request (the motivating case: PROT_NONE arena reservations).
if want go; then
    if have go; then
        mkdir "$tmp/gosrc" && cp "$src/hello.go" "$tmp/gosrc/"
        (cd "$tmp/gosrc" && go mod init hello >/dev/null 2>&1 && CGO_ENABLED=0 go build -o ../hello .)
        GOMAXPROCS=1 rec go-http -- "$tmp/hello"
    else skip go "go not installed (apt-get install golang-go)"; fi
fi

# 2. C: mmap/munmap/mprotect/mremap/madvise/brk/prctl, two threads, a fork.
if want c; then
    if have gcc; then
        gcc -O1 -pthread -o "$tmp/memdemo" "$src/memdemo.c"
        rec memdemo -- "$tmp/memdemo"
    else skip c "gcc not installed"; fi
fi

# 3. Python start-up (the interpreter itself).
if want python; then
    if [ -x "$PY" ]; then
        rec python-startup -- "$PY" -c 'x = [0] * 10**6; print(len(x))'
    else skip python "$PY not found"; fi
fi

# 4. Node start-up.
if want node; then
    if have node; then
        rec node-startup -- "$(command -v node)" -e 'const b = Buffer.alloc(8 << 20, 1); console.log(b.length)'
    else skip node "node not installed"; fi
fi

# 5. A JVM start: Debian's default JDK, a tiny class, the default ergonomics.
if want java; then
    if have java && have javac; then
        cat >"$tmp/Hello.java" <<'EOF'
public class Hello {
    public static void main(String[] args) {
        byte[][] keep = new byte[16][];
        for (int i = 0; i < keep.length; i++) keep[i] = new byte[1 << 20];
        System.out.println("hello " + keep.length);
    }
}
EOF
        javac -d "$tmp" "$tmp/Hello.java"
        # -XX:TieredStopAtLevel=1: C1 only (no C2 compiler threads), a shorter trace.
        rec jvm-startup -- "$(command -v java)" -XX:TieredStopAtLevel=1 -cp "$tmp" Hello
    else skip java "java/javac not installed (apt-get install default-jdk)"; fi
fi

# 6. Multi-process: a C program that forks twice, each child execs another program.
if want multiproc; then
    if have gcc; then
        cat >"$tmp/forkexec.c" <<'EOF'
/* forkexec: maps 1 MiB, forks two children that exec /bin/true and /bin/echo, waits for both. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 1, 1 << 20);
    const char *progs[2][3] = {{"/bin/true", NULL, NULL}, {"/bin/echo", "child", NULL}};
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            execv(progs[i][0], (char *const *)progs[i]);
            _exit(127);
        }
        waitpid(pid, NULL, 0);
    }
    munmap(p, 1 << 20);
    return 0;
}
EOF
        gcc -O1 -o "$tmp/forkexec" "$tmp/forkexec.c"
        rec multiproc -- "$tmp/forkexec"
    else skip multiproc "gcc not installed"; fi
fi

# 7. Attach: a program maps 16 MiB and waits; the recorder attaches for 1 s while it maps and
#    unmaps more; then it is stopped.
if want attach; then
    if have gcc; then
        cat >"$tmp/mapwait.c" <<'EOF'
/* mapwait: maps 16 MiB (touched) and a 64 MiB PROT_NONE reservation, then every 100 ms maps
 * 1 MiB more (unmapping every third one) and commits 1 MiB of the reservation, 40 times, then
 * waits to be killed. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void) {
    char *big = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(big, 1, 16 << 20);
    char *res = mmap(NULL, 64 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    write(1, "ready\n", 6);
    for (int i = 0; i < 40; i++) {
        usleep(100000);
        char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memset(p, 2, 1 << 20);
        if (i % 3 == 2) munmap(p, 1 << 20);
        mprotect(res + ((size_t)i << 20), 1 << 20, PROT_READ | PROT_WRITE);
    }
    for (;;) pause();
}
EOF
        gcc -O1 -o "$tmp/mapwait" "$tmp/mapwait.c"
        rm -rf "$out/attach.trace" "$out/attach.trace.maps"
        "$tmp/mapwait" >"$tmp/mapwait.out" &
        attached=$!
        i=0
        while ! grep -q ready "$tmp/mapwait.out" 2>/dev/null; do
            i=$((i + 1)); [ $i -lt 100 ] || { echo "mapwait did not start" >&2; exit 1; }
            sleep 0.05
        done
        "$TM" record -p "$attached" --duration 1 -o "$out/attach.trace"
        kill "$attached"; wait "$attached" 2>/dev/null || true
        attached=
    else skip attach "gcc not installed"; fi
fi

# The rows of samples/README.md's "Recorded with tracemem record" table (lines, size).
for f in "$out"/*.trace; do
    [ -f "$f" ] || continue
    printf '%s\t%s lines\t%s bytes\t%s snapshot(s)\n' "recorded/${f##*/}" "$(wc -l <"$f")" \
        "$(wc -c <"$f")" "$(ls "$f.maps" | wc -l)"
done
echo "kernel $(uname -r); $(strace -V | head -1)"
