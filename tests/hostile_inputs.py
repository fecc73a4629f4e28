"""Hostile inputs for the battery in tests/test_hostile.py: every one is bytes (file contents, file
names) built here deterministically (fixed seeds, no clock, no network), so a failing case names
the same input on every machine.

Nothing here is executed: the ELF case copies the first 64 KiB of /bin/true as data.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
CAPTURES = ROOT / "tests" / "data" / "captures"

#: The real logs whose lines are mutated (sorted: the same order everywhere).
REAL_TRACES = sorted(SAMPLES.glob("*.trace")) + sorted(CAPTURES.glob("*.trace"))
PLAIN = SAMPLES / "go-http.trace"  # a real -f -ttt -T -y log of 16 KiB, the base of many cases


# --- what a case is -------------------------------------------------------------------------


@dataclass
class Hostile:
    """One hostile input: files to create (name -> bytes; a bytes name for a name that is not
    UTF-8) and what the battery may expect beyond its general rules.

    ``args`` are the inputs as given on the command line (default: every file, in order); a
    name is relative to the case's folder unless absolute. ``commands`` picks the commands run on
    it (names of test_hostile.COMMANDS). ``expect_rc``: the exit code every command must end with;
    ``message``: a text stderr must then hold. ``same_as``: a case whose stats (lines, events,
    errors) this one must equal (the same log, differently encoded). ``baseline``: a file given as
    --baseline-maps to the replaying commands.
    """

    name: str
    files: dict[str | bytes, bytes]
    args: tuple[str | bytes, ...] | None = None
    commands: str = "all"
    expect_rc: int | None = None
    message: str | None = None
    same_as: str | None = None
    baseline: str | None = None
    mutated: list[tuple[int, bytes, bytes]] = field(default_factory=list)  # (line no, before, after)
    kept: tuple[int, str] | None = None  # (line, column): parse must keep the value there, or report it
    must_speak: bool = False  # logs that cannot be one run: a replay refuses them (2) or says so on stderr


# --- a small clean log, with places for hostile text ----------------------------------------

TS = 1700000000.0


def _ts(i: int) -> bytes:
    return b"%.6f" % (TS + i / 10_000)


def mini(*, exe: bytes = b"/usr/bin/demo", lib: bytes = b"/usr/lib/libdemo.so.1",
         extra: tuple[bytes, ...] = (), output: tuple[bytes, ...] = (), pid: bytes = b"4242") -> bytes:
    """A clean strace -f -ttt -T -y log of one process (exec, a library mapped through -y
    decorations, anonymous memory, brk, a thread, exit), with ``extra`` calls (no pid, no time:
    both added) after the library is mapped and ``output`` lines (program output, kept raw) in
    the middle."""
    calls: list[bytes] = [
        b'execve("%s", ["demo", "--flag"], 0x7ffc12345678 /* 3 vars */) = 0 <0.000200>' % exe,
        b"brk(NULL) = 0x555555560000 <0.000010>",
        b"mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1000000000 <0.000010>",
        b'openat(AT_FDCWD, "%s", O_RDONLY|O_CLOEXEC) = 3<%s> <0.000010>' % (lib, lib),
        b"mmap(NULL, 16384, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_DENYWRITE, 3<%s>, 0) = 0x7f1000010000 <0.000010>" % lib,
        b"close(3<%s>) = 0 <0.000010>" % lib,
        b"mprotect(0x7f1000012000, 4096, PROT_READ) = 0 <0.000010>",
        *extra,
        b"mmap(NULL, 8392704, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK, -1, 0) = 0x7f0fff7ff000 <0.000010>",
        b"mprotect(0x7f0fff800000, 8388608, PROT_READ|PROT_WRITE) = 0 <0.000010>",
        b"clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS"
        b"|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f0ffffff910, parent_tid=0x7f0ffffff910, "
        b"exit_signal=0, stack=0x7f0fff7ff000, stack_size=0x7fff00, tls=0x7f0ffffff640}"
        b" => {parent_tid=[4243]}, 88) = 4243 <0.000030>",
        b"brk(0x555555581000) = 0x555555581000 <0.000010>",
        b"munmap(0x7f1000000000, 8192) = 0 <0.000010>",
    ]
    lines = [b"%s %s %s" % (pid, _ts(i), call) for i, call in enumerate(calls)]
    half = len(lines) // 2
    lines[half:half] = list(output)
    n = len(calls)
    lines += [
        b"4243 %s mmap(NULL, 134217728, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0)"
        b" = 0x7f0ff0000000 <0.000010>" % _ts(n),
        b"4243 %s exit(0) = ?" % _ts(n + 1),
        b"4243 %s +++ exited with 0 +++" % _ts(n + 2),
        b"%s %s exit_group(0) = ?" % (pid, _ts(n + 3)),
        b"%s %s +++ exited with 0 +++" % (pid, _ts(n + 4)),
    ]
    return b"\n".join(lines) + b"\n"


def maps_text(rows: list[tuple[int, int, bytes]]) -> bytes:
    """A /proc/PID/maps snapshot from (start, end, path) rows."""
    out = []
    for start, end, path in rows:
        out.append(b"%x-%x r--p 00000000 fe:00 1234 %s" % (start, end, path))
    return b"\n".join(out) + b"\n"


# --- hostile text -----------------------------------------------------------------------------

#: Text that would act on a terminal (or on rich) if passed through: name -> raw bytes.
PAYLOADS: dict[str, bytes] = {
    "csi-clear": b"\x1b[2J\x1b[H",
    "csi-cursor-up": b"x\x1b[1A\x1b[2Kforged",
    "osc-title": b"\x1b]0;pwned\x07",
    "osc52-clipboard": b"\x1b]52;c;cm0gLXJmIH4K\x07",
    "c1-csi-u009b": "\u009b2J\u009bH".encode(),
    "c1-osc-u009d": "\u009d0;title\u009c".encode(),
    "raw-8bit-c1": b"\x9b2J\x9d0;t\x07",
    "rich-markup": b"[bold red]x[/][link=https://evil.example]click[/link]",
    "bs-cr-bel": b"safe\rEVIL\x08\x08\x08\x07",
    "bidi": "\u202eexe.txt\u2066".encode(),
}


def strace_escape(data: bytes) -> bytes:
    """``data`` as strace prints it inside a quoted string (non-printable bytes in octal)."""
    out = bytearray()
    for byte in data:
        if 0x20 <= byte < 0x7F and byte not in b'"\\':
            out.append(byte)
        else:
            out += b"\\%03o" % byte
    return bytes(out)


def payload_log(payload: bytes, *, escaped: bool = False) -> bytes:
    """The mini log with ``payload`` in every place trace text is shown: the exe, a mapped file
    (path, -y decorations), an error message, an unknown syscall's name, a signal, an exit, a
    strace notice, program output and a broken line (its excerpt is printed)."""
    text = strace_escape(payload) if escaped else payload
    pid = b"4242"
    extra = (
        b'openat(AT_FDCWD, "/etc/%s", O_RDONLY) = -1 ENOENT (No such file %s) <0.000010>' % (text, payload),
        b"mmap(NULL, 4096, PROT_READ, MAP_SHARED, 4</dev/shm/%s>, 0) = 0x7f1000020000 <0.000010>" % text,
        b"prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0x7f1000020000, 4096, \"%s\") = 0 <0.000010>" % text,
        b"weird%s(1, 2) = 0 <0.000010>" % payload,
        b"mmap(%s = 0x1" % payload,
    )
    output = (
        b"hello from the program %s world" % payload,
        b"%s --- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER, si_pid=1, si_uid=0, si_addr=\"%s\"} ---" % (pid, text),
        b"strace: Process 4250 attached %s" % payload,
        b"4250 %s +++ killed by %s +++" % (_ts(99), payload),
    )
    return mini(exe=b"/usr/bin/" + text, lib=b"/opt/" + text + b"/lib.so", extra=extra, output=output)


# --- numbers out of range -----------------------------------------------------------------------

N64 = b"18446744073709551616"  # 2**64
M64 = b"18446744073709551615"  # 2**64 - 1
N63 = b"9223372036854775808"   # 2**63
D23 = b"12345678901234567890123"
ANON = b"PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0"

#: name -> a line inserted into the mini log (no pid/time: "PID " given means a full line).
NUMBERS: dict[str, bytes] = {
    "mmap-len-2^64": b"mmap(NULL, %s, %s) = 0x7f2000000000 <0.000010>" % (N64, ANON),
    "mmap-len-2^64-1": b"mmap(NULL, %s, %s) = -1 ENOMEM (Cannot allocate memory) <0.000010>" % (M64, ANON),
    "mmap-len-2^63": b"mmap(NULL, %s, %s) = 0x7f2000000000 <0.000010>" % (N63, ANON),
    "mmap-len-hex-2^64": b"mmap(NULL, 0x10000000000000000, %s) = 0x7f2000000000 <0.000010>" % ANON,
    "mmap-len-negative": b"mmap(NULL, -4096, %s) = 0x7f2000000000 <0.000010>" % ANON,
    "mmap-addr-2^64": b"mmap(0x10000000000000000, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)"
                      b" = 0x10000000000000000 <0.000010>",
    "mmap-ret-2^63": b"mmap(NULL, 4096, %s) = 0x8000000000000000 <0.000010>" % ANON,
    "mmap-ret-2^64-4096": b"mmap(NULL, 4096, %s) = 0xfffffffffffff000 <0.000010>" % ANON,
    "mmap-end-past-2^64": b"mmap(NULL, 8192, %s) = 0xfffffffffffff000 <0.000010>" % ANON,
    "mmap-offset-2^64": b"mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3</usr/lib/libdemo.so.1>, %s)"
                        b" = 0x7f2000000000 <0.000010>" % N64,
    "mmap-fd-2^64": b"mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, %s, 0) = 0x7f2000000000 <0.000010>" % N64,
    "mmap-prot-raw-2^64": b"mmap(NULL, 4096, 0x10000000000000000, 0x22, -1, 0) = 0x7f2000000000 <0.000010>",
    "munmap-len-2^64": b"munmap(0x7f1000010000, %s) = 0 <0.000010>" % N64,
    "munmap-addr-2^64": b"munmap(0x10000000000000000, 4096) = 0 <0.000010>",
    "mprotect-len-2^64": b"mprotect(0x7f1000010000, %s, PROT_READ) = 0 <0.000010>" % N64,
    "madvise-advice-2^64": b"madvise(0x7f1000010000, 4096, %s) = 0 <0.000010>" % N64,
    "mremap-newlen-2^64": b"mremap(0x7f1000010000, 16384, %s, MREMAP_MAYMOVE) = 0x7f3000000000 <0.000010>" % N64,
    "mremap-ret-2^64": b"mremap(0x7f1000010000, 16384, 32768, MREMAP_MAYMOVE) = 0x10000000000000000 <0.000010>",
    "brk-2^64": b"brk(0x10000000000000000) = 0x10000000000000000 <0.000010>",
    "pid-23-digits": b"%s %s mmap(NULL, 4096, %s) = 0x7f2000000000 <0.000010>" % (D23, _ts(7), ANON),
    "pid-2^64": b"%s %s mmap(NULL, 4096, %s) = 0x7f2000000000 <0.000010>" % (N64, _ts(7), ANON),
    "pid-2^63": b"%s %s mmap(NULL, 4096, %s) = 0x7f2000000000 <0.000010>" % (N63, _ts(7), ANON),
    "clone-ret-2^64": b"clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD,"
                      b" child_tidptr=0x7f0ffffffa10) = %s <0.000030>" % N64,
    "errno-huge": b"mmap(NULL, 4096, %s) = -1 (errno 99999999999999999999) <0.000010>" % ANON,
    "ret-minus-2^64": b"mmap(NULL, 4096, %s) = -%s <0.000010>" % (ANON, N64),
    "time-huge": b"4242 99999999999999999999999.000001 mmap(NULL, 4096, %s) = 0x7f2000000000 <0.000010>" % ANON,
    "duration-huge": b"mmap(NULL, 4096, %s) = 0x7f2000000000 <99999999999999999999.000000>" % ANON,
    "hex-40-digits": b"mmap(0x%s, 4096, %s) = 0x%s <0.000010>" % (b"f" * 40, ANON, b"f" * 40),
    "shmat-2^64": b"shmat(%s, NULL, 0) = 0x7f2000000000 <0.000010>" % N64,
}


#: The column of ``parse`` that holds each out-of-range number (the line is line 8 of its log): the
#: value must be kept there, or the line reported (a line error, or the event's decode_error).
NUMBER_COLUMN = {
    "mmap-len-2^64": "length", "mmap-len-2^64-1": "length", "mmap-len-2^63": "length",
    "mmap-len-hex-2^64": "length", "mmap-addr-2^64": "addr", "mmap-ret-2^63": "ret", "mmap-ret-2^64-4096": "ret",
    "mmap-end-past-2^64": "ret", "mmap-offset-2^64": "offset", "mmap-fd-2^64": "fd", "mmap-prot-raw-2^64": "prot",
    "munmap-len-2^64": "length", "munmap-addr-2^64": "addr", "mprotect-len-2^64": "length",
    "madvise-advice-2^64": "advice", "mremap-newlen-2^64": "new_length", "mremap-ret-2^64": "ret",
    "brk-2^64": "ret", "pid-23-digits": "pid", "pid-2^64": "pid", "pid-2^63": "pid", "clone-ret-2^64": "ret",
    "ret-minus-2^64": "ret", "time-huge": "time", "duration-huge": "duration", "hex-40-digits": "addr",
}
NUMBER_LINE = 8


def number_log(name: str) -> bytes:
    line = NUMBERS[name]
    if line[:1].isdigit():
        # a full line (its own pid or time): put it after the library mapping
        base = mini().split(b"\n")
        base.insert(7, line)
        return b"\n".join(base)
    return mini(extra=(line,))


#: -tt (wall clock) times out of range: a log of its own, since a log has one time format.
def bad_clock_log() -> bytes:
    return (b"4242 10:00:00.000001 brk(NULL) = 0x555555560000\n"
            b"4242 99:99:99.999999 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f2000000000\n"
            b"4242 10:00:00.000003 exit_group(0) = ?\n")


# --- compression ------------------------------------------------------------------------------

def _zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(write_checksum=True).compress(data)


COMPRESSORS = {"gz": lambda d: gzip.compress(d, mtime=0), "xz": lzma.compress, "zst": _zstd, "bz2": bz2.compress}
HEADER_BYTES = {"gz": 10, "xz": 12, "zst": 6, "bz2": 4}


def _flip_middle(data: bytes) -> bytes:
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0xFF
    return bytes(bad)


# --- random mutation of real lines ---------------------------------------------------------------

TOKENS = [b"\x00", b"\xff", b"\xe9", b"\xc3", b"\x1b[2J", b"\xc2\x9b", b"\x9d", b'"', b"(", b")", b"{", b"}",
          b"[", b"]", b"<", b">", b"...", b" = ", b"<unfinished ...>", b"<... mmap resumed>", b"/* ", b"*/",
          b"\\", b"\\x", b"\\777", b"\r", b"\t", b",", b"|", b"=>", b"~[", b"+++", b"---", b"?", b"-1",
          N64, b"0x10000000000000000", b"-9223372036854775809", D23, b"[bold]", b"[/]", b"0x", b"1<<",
          b"NULL", b"MAP_FIXED", b"<detached ...>", b"(INJECTED)", b"<unavailable>", b"  > /lib/x.so()"]
NUMBERS_OUT = [N64, M64, N63, D23, b"0", b"-1", b"0x" + b"f" * 17, b"0x8000000000000000", b"1e400", b"nan",
               b"00000000000000000000001", b"0x"]
SYSCALLS = [b"mmap", b"munmap", b"mremap", b"mprotect", b"madvise", b"brk", b"clone", b"clone3", b"fork",
            b"vfork", b"execve", b"exit_group", b"exit", b"shmat", b"shmdt", b"prctl", b"mseal", b"???",
            b"restart_syscall", b"syscall_0x1ce"]
_NUMBER = re.compile(rb"0x[0-9a-fA-F]+|\d+")
_NAME = re.compile(rb"[a-z_][a-z0-9_]*(?=\()")


def mutate_line(rng: random.Random, line: bytes, donors: list[bytes]) -> bytes:
    """One to three random edits of a real line: a byte changed, a hostile token inserted, a span
    deleted or doubled, a number made huge, the line cut, spliced with another line, or its
    syscall renamed."""
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(9)
        n = len(line)
        pos = rng.randint(0, n)
        if op == 0 and n:
            i = rng.randrange(n)
            line = line[:i] + bytes([rng.randrange(256)]) + line[i + 1:]
        elif op == 1:
            line = line[:pos] + rng.choice(TOKENS) + line[pos:]
        elif op == 2 and n:
            end = min(n, pos + rng.randint(1, 12))
            line = line[:pos] + line[end:]
        elif op == 3 and n:
            end = min(n, pos + rng.randint(1, 24))
            line = line[:end] + line[pos:end] + line[end:]
        elif op == 4:
            numbers = list(_NUMBER.finditer(line))
            if numbers:
                m = rng.choice(numbers)
                line = line[:m.start()] + rng.choice(NUMBERS_OUT) + line[m.end():]
        elif op == 5:
            line = line[:pos]
        elif op == 6 and donors:
            other = rng.choice(donors)
            line = line[:pos] + other[rng.randint(0, len(other)):]
        elif op == 7:
            names = list(_NAME.finditer(line))
            if names:
                m = rng.choice(names)
                line = line[:m.start()] + rng.choice(SYSCALLS) + line[m.end():]
        else:
            line = line[:pos] + b"\n" + line[pos:] if rng.random() < 0.3 else line + line[pos:]
    return line


def mutated_case(index: int, *, lines_per_case: int = 8, max_lines: int = 150) -> Hostile:
    """The index-th mutated log: the first ``max_lines`` lines of a real log (cycling through
    REAL_TRACES) with ``lines_per_case`` of them mutated, seeded by the index."""
    rng = random.Random(1100 + index)
    source = REAL_TRACES[index % len(REAL_TRACES)]
    lines = source.read_bytes().split(b"\n")[:max_lines]
    donors = [line for p in REAL_TRACES[:6] for line in p.read_bytes().split(b"\n")[:40]]
    mutated = []
    for i in sorted(rng.sample(range(len(lines)), min(lines_per_case, len(lines)))):
        before = lines[i]
        lines[i] = mutate_line(rng, before, donors)
        mutated.append((i + 1, before, lines[i]))
    if rng.random() < 0.25:  # sometimes swap two neighbouring lines too (pairs of split calls)
        j = rng.randrange(len(lines) - 1)
        lines[j], lines[j + 1] = lines[j + 1], lines[j]
    return Hostile(f"mutated-{index:02d}-{source.stem}", {source.name: b"\n".join(lines)},
                   commands="mutation", mutated=mutated)


def apply_mutations(source_name: str, mutated: list[tuple[int, bytes, bytes]], *, max_lines: int = 150) -> bytes:
    """The source log (cut as mutated_case cuts it) with only the given mutations applied: the
    shrinker's way to find the one line that breaks a command."""
    path = next(p for p in REAL_TRACES if p.name == source_name)
    lines = path.read_bytes().split(b"\n")[:max_lines]
    for line_no, _, after in mutated:
        lines[line_no - 1] = after
    return b"\n".join(lines)


# --- the cases --------------------------------------------------------------------------------


def token_soup(seed: int, lines: int = 2000) -> bytes:
    """Lines made of strace tokens in random order: near-miss syntax for the parser."""
    rng = random.Random(seed)
    words = TOKENS + SYSCALLS + [b"4242", b"1700000000.000001", b"0x7f0000000000", b"PROT_READ", b"MAP_PRIVATE",
                                 b"= 0", b"= ?", b"ENOMEM", b"(Cannot allocate memory)", b"<0.000010>"]
    out = []
    for _ in range(lines):
        out.append(b"".join(rng.choice(words) + rng.choice([b"", b" ", b", "]) for _ in range(rng.randint(1, 14))))
    return b"\n".join(out) + b"\n"


def fixed_cases() -> list[Hostile]:
    plain = PLAIN.read_bytes()
    lf_lines = plain.split(b"\n")
    cases: list[Hostile] = []
    add = cases.append

    # junk and binary
    add(Hostile("plain-control", {"go-http.trace": plain}))
    add(Hostile("empty-file", {"empty.trace": b""}))
    add(Hostile("only-newlines", {"nl.trace": b"\n" * 1000}))
    add(Hostile("whitespace-only", {"ws.trace": b" \t \n\t\n   "}))
    add(Hostile("random-bytes", {"random.trace": random.Random(11).randbytes(64 << 10)}))
    add(Hostile("random-bytes-with-newlines", {"randnl.trace":
        b"\n".join(random.Random(12).randbytes(random.Random(13).randint(0, 200)) for _ in range(400))}))
    add(Hostile("token-soup", {"soup.trace": token_soup(14)}))
    elf = Path("/bin/true").read_bytes()[: 64 << 10]
    add(Hostile("elf-binary", {"true.trace": elf}))
    add(Hostile("elf-binary-no-suffix", {"true": elf}))
    add(Hostile("nuls-64k", {"nuls.trace": b"\x00" * (64 << 10)}))
    add(Hostile("nuls-then-log", {"zeroed.trace": b"\x00" * (1 << 20) + plain}))  # a crash's zero-filled blocks
    add(Hostile("nul-in-every-line", {"nulline.trace": b"\n".join(l[:9] + b"\x00" + l[9:] if l else l for l in lf_lines)}))
    add(Hostile("utf16-log", {"utf16.trace": plain.decode().encode("utf-16")}))
    add(Hostile("utf8-bom", {"bom.trace": b"\xef\xbb\xbf" + plain}))
    add(Hostile("deep-nesting-brackets", {"deep.trace": mini(extra=(
        b"mmap(" + b"[" * 100_000 + b"NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f2000000000",
        b"ioctl(1, TCGETS, " + b"{" * 100_000 + b") = 0",
        b"clone3(" + b"{flags=" * 30_000 + b"CLONE_VM, ...}, 88) = 4250",
    ))}))
    add(Hostile("long-line-20mb-no-newline", {"long.trace": b"4242 1700000000.000001 mmap(NULL, " + b"A" * (20 << 20)},
                commands="long"))

    # line ends
    add(Hostile("crlf", {"crlf.trace": plain.replace(b"\n", b"\r\n")}, same_as="plain-control"))
    add(Hostile("cr-only", {"cr.trace": plain.replace(b"\n", b"\r")}, same_as="plain-control"))
    add(Hostile("mixed-line-ends", {"mixed.trace": b"".join(
        l + (b"\r\n", b"\n", b"\r")[i % 3] for i, l in enumerate(lf_lines[:-1]))}))
    add(Hostile("last-line-cut", {"cut.trace": plain[: len(plain) - 37]}))

    # compression: valid, wrong suffixes, truncated, bare header, corrupt, trailing garbage
    for kind, pack in COMPRESSORS.items():
        packed = pack(plain)
        add(Hostile(f"{kind}-valid", {f"run.trace.{kind}": packed}, same_as="plain-control", commands="compressed"))
        add(Hostile(f"{kind}-named-.trace", {f"{kind}-inside.trace": packed}, same_as="plain-control", commands="compressed"))
        add(Hostile(f"{kind}-truncated", {f"cut.trace.{kind}": packed[: len(packed) // 2]}, expect_rc=2,
                    message="corrupt or truncated", commands="compressed"))
        add(Hostile(f"{kind}-bare-header", {f"head.trace.{kind}": packed[: HEADER_BYTES[kind]]}, expect_rc=2,
                    message="corrupt or truncated", commands="compressed"))
        add(Hostile(f"{kind}-corrupt-byte", {f"bad.trace.{kind}": _flip_middle(packed)}, expect_rc=2,
                    message="corrupt", commands="compressed"))
        add(Hostile(f"{kind}-trailing-garbage", {f"tail.trace.{kind}": packed + b"garbage\x00\xff" * 10},
                    commands="compressed"))
        add(Hostile(f"{kind}-of-random-bytes", {f"rnd.trace.{kind}": pack(random.Random(15).randbytes(32 << 10))},
                    commands="compressed"))
        add(Hostile(f"{kind}-empty-stream", {f"nothing.trace.{kind}": pack(b"")}, commands="compressed"))
    add(Hostile("plain-named-.gz", {"plain.trace.gz": plain}, same_as="plain-control", commands="compressed"))
    add(Hostile("plain-named-.zst", {"plain.trace.zst": plain}, same_as="plain-control", commands="compressed"))
    add(Hostile("xz-named-.gz", {"xz.trace.gz": lzma.compress(plain)}, same_as="plain-control", commands="compressed"))
    add(Hostile("zero-bytes-named-.gz", {"zero.trace.gz": b""}, commands="compressed"))
    add(Hostile("gz-magic-only-then-text", {"magic.trace": b"\x1f\x8b" + plain}, commands="compressed"))
    add(Hostile("zst-magic-only-then-text", {"magic.trace": b"\x28\xb5\x2f\xfd" + plain}, commands="compressed"))

    # bytes that are not UTF-8: in paths inside the log, and in the log's own name
    latin = b"/tmp/caf\xe9.so"
    add(Hostile("nonutf8-openat-path", {"l1.trace": mini(extra=(b'openat(AT_FDCWD, "%s", O_RDONLY) = 4' % latin,))}))
    add(Hostile("nonutf8-decoration", {"l2.trace": mini(extra=(b'openat(AT_FDCWD, "/tmp/x", O_RDONLY) = 4<%s>' % latin,))}))
    add(Hostile("nonutf8-mmap-fd-path", {"l3.trace": mini(lib=latin)}))
    add(Hostile("nonutf8-execve", {"l4.trace": mini(exe=b"/usr/bin/d\xe9mo")}))
    add(Hostile("nonutf8-program-output", {"l5.trace": mini(output=(b"r\xe9sultat: \xff\xfe ok",))}))
    add(Hostile("nonutf8-broken-line", {"l6.trace": mini(extra=(b"mmap(\xe9\xff = 0x1",))}))
    add(Hostile("nonutf8-invalid-sequences", {"l7.trace": mini(
        lib=b"/tmp/\xc0\xaf\x80\xe2\x82\xed\xa0\x80\xf4\x90\x80\x80.so")}))
    add(Hostile("nonutf8-latin1-whole-log", {"l8.trace": "\n".join(
        l.decode() for l in lf_lines).replace("/usr/lib", "/usr/lïb/çà").encode("latin-1")}))
    add(Hostile("nonutf8-input-file-name", {b"caf\xe9-run.trace": mini(extra=(b"mmap(\xe9 = 0x1",))}))
    add(Hostile("nonutf8-ff-file-names", {b"tr\xe9.4242": mini(), b"tr\xe9.4243": mini(pid=b"4243")}))

    # out-of-range numbers
    for name in NUMBERS:
        column = NUMBER_COLUMN.get(name)
        add(Hostile(f"number-{name}", {"n.trace": number_log(name)}, commands="numbers",
                    kept=(NUMBER_LINE, column) if column else None))
    add(Hostile("number-clock-99:99:99", {"clock.trace": bad_clock_log()}, commands="numbers"))

    # terminal escapes and rich markup in the log (raw bytes, and as strace escapes them)
    for name, payload in PAYLOADS.items():
        add(Hostile(f"escape-{name}", {"esc.trace": payload_log(payload)}, commands="text"))
    add(Hostile("escape-all-strace-escaped", {"esc.trace": payload_log(b"".join(PAYLOADS.values()), escaped=True)},
                commands="text"))
    add(Hostile("escape-in-input-file-name", {"\x1b]0;pwned\x07[bold red]x\u009b2J.trace": mini(extra=(b"mmap( = 0x1",))}))

    # several logs together: two -ff runs with the same pids, strace with dtruss, the same file twice
    ff_a = {f"a/trace.{pid}": data for pid, data in
            ((30658, (CAPTURES / "c-ff.ff.30658").read_bytes()), (30659, (CAPTURES / "c-ff.ff.30659").read_bytes()))}
    ff_b = {f"b/trace.{pid}": data for pid, data in
            ((30658, (CAPTURES / "go-ff.ff.30733").read_bytes()), (30659, (CAPTURES / "go-ff.ff.30734").read_bytes()))}
    add(Hostile("two-ff-sets-same-pids", {**ff_a, **ff_b}, must_speak=True))
    dtruss = (b"\tPID/THRD  RELATIVE  ELAPSD    CPU SYSCALL(args) \t\t = return\n"
              b" 4374/0x206a2:     15930       3      1 mmap(0xC000000000, 0x4000000, 0x0, 0x1002,"
              b" 0xFFFFFFFFFFFFFFFF, 0x0)\t\t = 0xC000000000 0\n")
    add(Hostile("strace-and-dtruss", {"linux.trace": mini(), "mac.dtruss": dtruss}, must_speak=True))
    add(Hostile("same-file-twice", {"once.trace": mini()}, args=("once.trace", "once.trace")))

    # hostile --baseline-maps snapshots (given to the replaying commands)
    log = {"run.trace": mini()}
    snapshots = {
        "random-bytes": random.Random(16).randbytes(8 << 10),
        "elf": elf,
        "range-2^64": maps_text([(0x555555554000, 1 << 64, b"/usr/bin/demo"), (1 << 64, (1 << 64) + 4096, b"x")]),
        "reversed": maps_text([(0x7f2000010000, 0x7f2000000000, b"/usr/bin/demo")]),
        "overlapping": maps_text([(0x7f2000000000, 0x7f2000010000, b"/a"), (0x7f2000008000, 0x7f2000018000, b"/b")]),
        "zero-length": maps_text([(0x7f2000000000, 0x7f2000000000, b"/a")]),
        "unaligned": maps_text([(0x7f2000000123, 0x7f2000000fff, b"/a")]),
        "escapes-in-paths": maps_text([(0x7f2000000000 + i * 0x10000, 0x7f2000001000 + i * 0x10000, b"/x/" + p)
                                       for i, p in enumerate(PAYLOADS.values())]),
        "nonutf8-path": maps_text([(0x7f2000000000, 0x7f2000001000, b"/tmp/caf\xe9.so")]),
        "empty": b"",
        "collides-with-trace": maps_text([(0x7f1000000000, 0x7f1000100000, b"/not/this/process")]),
    }
    for name, snapshot in snapshots.items():
        add(Hostile(f"baseline-{name}", {**log, "snap.maps": snapshot}, args=("run.trace",), baseline="snap.maps",
                    commands="baseline"))
    return cases


def mutation_cases(count: int = 40) -> list[Hostile]:
    return [mutated_case(i) for i in range(count)]
