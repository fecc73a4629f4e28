"""macOS dtruss logs (and Solaris DTraceToolkit dtruss) into the same event rows as strace.

Every line is parsed with ``grammars/dtruss.lark`` (dtruss logs are small: one line per completed
call, no unfinished/resumed halves). Arguments are decoded with the macOS constants and mapped
onto the same semantic fields as Linux (anonymous, private/shared, fixed, noreserve, prot) while
the raw platform values are kept (``raw_flags``, ``vm_tag``). Reference:
shared/reference/dtruss-format.md.
"""

from __future__ import annotations

import enum
import functools
import re
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..events import Clone, Decoded, Execve, Exit, LineIssue, Madvise, Mmap, Mprotect, Munmap, ParseReport, Skip
from ..flags import SIGNALS, CloneFlags, DarwinAdvice, MapFlags, Prot
from .grammar import grammar_text
from .decode import _in_range, unappliable, wide_ret_reason
from .decoders import as_int
from .values import ArgsSyntaxError, Str, parse_args

PAGE_16K = 16384


class DarwinMapFlags(enum.IntFlag, boundary=enum.KEEP):
    """macOS ``bsd/sys/mman.h`` MAP_* values (not Linux's)."""

    MAP_SHARED = 0x0001
    MAP_PRIVATE = 0x0002
    MAP_FIXED = 0x0010
    MAP_RENAME = 0x0020
    MAP_NORESERVE = 0x0040
    MAP_RESERVED0080 = 0x0080
    MAP_NOEXTEND = 0x0100
    MAP_HASSEMAPHORE = 0x0200
    MAP_NOCACHE = 0x0400
    MAP_JIT = 0x0800
    MAP_ANON = 0x1000
    MAP_RESILIENT_CODESIGN = 0x2000
    MAP_RESILIENT_MEDIA = 0x4000
    MAP_32BIT = 0x8000
    MAP_TRANSLATED_ALLOW_EXECUTE = 0x20000
    MAP_UNIX03 = 0x40000
    MAP_TPRO = 0x80000


# bsd/sys/errno.h
DARWIN_ERRNO = {
    -2: "EJUSTRETURN", -1: "ERESTART", 1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO",
    6: "ENXIO", 7: "E2BIG", 8: "ENOEXEC", 9: "EBADF", 10: "ECHILD", 11: "EDEADLK", 12: "ENOMEM",
    13: "EACCES", 14: "EFAULT", 15: "ENOTBLK", 16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV",
    20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 25: "ENOTTY",
    26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE", 30: "EROFS", 31: "EMLINK", 32: "EPIPE",
    33: "EDOM", 34: "ERANGE", 35: "EAGAIN", 36: "EINPROGRESS", 37: "EALREADY", 38: "ENOTSOCK",
    39: "EDESTADDRREQ", 40: "EMSGSIZE", 41: "EPROTOTYPE", 42: "ENOPROTOOPT",
    43: "EPROTONOSUPPORT", 44: "ESOCKTNOSUPPORT", 45: "ENOTSUP", 46: "EPFNOSUPPORT",
    47: "EAFNOSUPPORT", 48: "EADDRINUSE", 49: "EADDRNOTAVAIL", 50: "ENETDOWN", 51: "ENETUNREACH",
    52: "ENETRESET", 53: "ECONNABORTED", 54: "ECONNRESET", 55: "ENOBUFS", 56: "EISCONN",
    57: "ENOTCONN", 58: "ESHUTDOWN", 59: "ETOOMANYREFS", 60: "ETIMEDOUT", 61: "ECONNREFUSED",
    62: "ELOOP", 63: "ENAMETOOLONG", 64: "EHOSTDOWN", 65: "EHOSTUNREACH", 66: "ENOTEMPTY",
    67: "EPROCLIM", 68: "EUSERS", 69: "EDQUOT", 70: "ESTALE", 71: "EREMOTE", 72: "EBADRPC",
    73: "ERPCMISMATCH", 74: "EPROGUNAVAIL", 75: "EPROGMISMATCH", 76: "EPROCUNAVAIL", 77: "ENOLCK",
    78: "ENOSYS", 79: "EFTYPE", 80: "EAUTH", 81: "ENEEDAUTH", 82: "EPWROFF", 83: "EDEVERR",
    84: "EOVERFLOW", 85: "EBADEXEC", 86: "EBADARCH", 87: "ESHLIBVERS", 88: "EBADMACHO",
    89: "ECANCELED", 90: "EIDRM", 91: "ENOMSG", 92: "EILSEQ", 93: "ENOATTR", 94: "EBADMSG",
    95: "EMULTIHOP", 96: "ENODATA", 97: "ENOLINK", 98: "ENOSR", 99: "ENOSTR", 100: "EPROTO",
    101: "ETIME", 102: "EOPNOTSUPP", 103: "ENOPOLICY", 104: "ENOTRECOVERABLE", 105: "EOWNERDEAD",
    106: "EQFULL",
}

_SEMANTIC = (
    (DarwinMapFlags.MAP_SHARED, MapFlags.MAP_SHARED),
    (DarwinMapFlags.MAP_PRIVATE, MapFlags.MAP_PRIVATE),
    (DarwinMapFlags.MAP_FIXED, MapFlags.MAP_FIXED),
    (DarwinMapFlags.MAP_ANON, MapFlags.MAP_ANONYMOUS),
    (DarwinMapFlags.MAP_NORESERVE, MapFlags.MAP_NORESERVE),
)

_TAIL = re.compile(r"\)?[ \t]*=[ \t]+(-?\d+|0x[0-9A-Fa-f]+)[ \t]+(0|Err#(-?\d+))[ \t]*$")
_LOOKS_LIKE_RECORD = re.compile(r"[ \t]*(?:\d+/(?:0x)?[0-9a-fA-F]+:[ \t]+)?(?:\d+:?[ \t]+)*[A-Za-z_]\w*\(")
@functools.cache
def dtruss_parser() -> Lark:
    return Lark(grammar_text("dtruss.lark"), parser="lalr", lexer="contextual", start="line",
                propagate_positions=False, maybe_placeholders=False)


_I64 = 1 << 63


def _int(text: str) -> int:
    return int(text, 16) if text[:2] in ("0x", "0X") else int(text)


def _low32(value: int) -> int:
    return value & 0xFFFFFFFF


def _signed32(value: int) -> int:
    v = value & 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


class DtrussFileReader:
    """Turns the lines of one dtruss file into event rows (dicts of columns), every line accounted."""

    def __init__(self, path: str, report: ParseReport):
        self.path = path
        self.report = report
        self.columns: list[str] = []  # from the last header: RELATIVE / ELAPSD / CPU
        self.line_no = 0
        self.rows: list[dict[str, Any]] = []
        self.last: dict[str, Any] | None = None  # -s frames attach to the last record
        self.in_stack = False
        self.in_table = False
        self.seen_tids: set[tuple[int, int]] = set()
        self.mmaps: list[dict[str, Any]] = []
        self.wide_returns = False
        self.wide_args = False
        self.aligned16 = True
        self.map_addrs = 0

    def feed(self, lines: list[str]) -> list[dict[str, Any]]:
        self.rows = []
        for text in lines:
            self.line_no += 1
            self.report.lines += 1
            self._line(text, self.line_no)
        return self.rows

    def finish(self) -> list[dict[str, Any]]:
        """Repair (or flag) 32-bit mmap returns once the whole file is known (section 6.3)."""
        return []

    # -- lines ------------------------------------------------------------------------------------

    def _line(self, text: str, n: int) -> None:
        report = self.report
        if not text.strip():
            # Blank lines frame -s stack blocks: they belong to the record they follow.
            if self.last is not None and (self.in_stack or not self.last["stack"]):
                self.in_stack = True
                report.parsed += 1
            else:
                report.skip(Skip.BLANK)
            return
        try:
            tree = dtruss_parser().parse(text)
        except UnexpectedInput as exc:
            self._unparsed(text, n, exc)
            return
        except LarkError as exc:  # pragma: no cover
            self._unparsed(text, n, exc)
            return
        kind = tree.data
        if kind == "frame":
            if self.last is not None and self.in_stack:
                self.last["stack"] = (self.last["stack"] or ()) + (text.strip(),)
                report.parsed += 1
            else:
                report.skip(Skip.PROGRAM_OUTPUT)
            return
        self.in_stack = False
        if kind == "header":
            self.columns = [c for c in ("RELATIVE", "ELAPSD", "CPU") if c in str(tree.children[0])]
            self.last = None
            report.skip(Skip.HEADER)
            return
        if kind == "count_title":
            self.in_table = True
            self.last = None
            report.skip(Skip.SUMMARY)
            return
        if kind == "count_row":
            report.skip(Skip.SUMMARY if self.in_table else Skip.PROGRAM_OUTPUT)
            return
        if kind == "dtrace":
            report.skip(Skip.DTRACE)
            return
        if kind == "elision":
            report.skip(Skip.ELISION)
            return
        self.in_table = False
        self._record(tree, text, n)

    def _range_error(self, text: str, n: int, column: int, reason: str) -> None:
        self.in_stack = False
        self.last = None
        self.report.errors.append(LineIssue(self.path, n, column, text, reason))

    def _unparsed(self, text: str, n: int, exc: Exception) -> None:
        self.in_stack = False
        if _LOOKS_LIKE_RECORD.match(text) and not isinstance(exc, UnexpectedToken) or (
                _LOOKS_LIKE_RECORD.match(text) and _TAIL.search(text)):
            column = getattr(exc, "column", 1) or 1
            reason = "not a dtruss record: " + (
                f"unexpected character {exc.char!r}" if isinstance(exc, UnexpectedCharacters) else "syntax error")
            self.report.errors.append(LineIssue(self.path, n, column if isinstance(column, int) else 1, text, reason))
            return
        self.report.skip(Skip.PROGRAM_OUTPUT)

    def _record(self, tree: Tree[Token], text: str, n: int) -> None:
        pid = tid = None
        cols: list[str] = []
        colon = False
        name = body = tail = None
        for child in tree.children:
            if isinstance(child, Tree):  # prefix
                for tok in child.children:
                    assert isinstance(tok, Token)  # a prefix holds only PIDTID and COLUMN tokens
                    if tok.type == "PIDTID":
                        p, _, t = str(tok)[:-1].partition("/")
                        pid, tid = int(p), _int(t)
                        if len(p) > 9 or not 0 <= tid < _I64:
                            # the ranges the grammar does not say: a pid of nine digits at most
                            # (macOS's are below 100000), a thread id of 63 bits
                            what = f"pid {p}" if len(p) > 9 else f"thread id {t}"
                            self._range_error(text, n, tok.column or 1, f"{what} is out of range")
                            return
                    else:
                        value = str(tok)
                        colon = colon or value.endswith(":")
                        cols.append(value.rstrip(":"))
                        if len(value.rstrip(":")) > 18:
                            self._range_error(text, n, tok.column or 1,
                                              f"column value {value.rstrip(':')} does not fit in 63 bits")
                            return
            elif child.type == "NAME":
                name = str(child)
            elif child.type == "BODY":
                body = str(child)
            elif child.type == "TAIL":
                tail = str(child)
        assert name is not None and tail is not None
        m = _TAIL.match(tail)
        assert m is not None
        ret_text, errpart, errnum = m.group(1), m.group(2), m.group(3)
        ret = _int(ret_text)
        args = (body or "").strip()
        relative = elapsed = cpu = None
        names = self.columns or (["RELATIVE", "ELAPSD", "CPU"][-len(cols):] if len(cols) == 3 else
                                 ["RELATIVE"] if len(cols) == 1 else ["ELAPSD", "CPU"][: len(cols)])
        values = dict(zip(names, (int(c) for c in cols)))
        relative, elapsed, cpu = values.get("RELATIVE"), values.get("ELAPSD"), values.get("CPU")
        key = (pid or 0, tid or 0)
        first = key not in self.seen_tids
        self.seen_tids.add(key)
        if name == "fork" and not args and ret == 0 and (colon or first):
            # The synthetic line dtruss prints for the first syscall of a thread (section 2.3).
            self.report.skip(Skip.FIRST_SEEN)
            self.last = None
            return
        errno = errmsg = None
        if errpart != "0":
            number = int(errnum)
            errno = DARWIN_ERRNO.get(number, f"ERR{number}")
            errmsg = f"Err#{number}"
        decoded, why, uncertain = self._decode(name, args, ret, errno)
        if decoded is not None:
            # the numbers the table and the model can hold (as for strace: parse/decode.py)
            decoded, why, _ = _in_range(decoded, args)
            if decoded is not None:
                why = unappliable(decoded, ret_text, errno)
                if why is not None:
                    decoded = None
        reason = wide_ret_reason(ret_text, ret)
        if reason is not None:
            why = reason if why is None or why.startswith("return value") else f"{why}; {reason}"
            decoded = None
            ret = None  # type: ignore[assignment]
        row = {
            "line": n, "end_line": n, "pid": pid, "tid": tid, "time": None,
            "duration": elapsed / 1e6 if elapsed is not None else None,
            "relative_us": relative, "cpu_us": cpu,
            "syscall": name, "args": args, "ret": ret, "ret_text": ret_text, "errno": errno,
            "errmsg": errmsg, "ret_detail": None, "state": "complete", "injected": False,
            "sysno": None, "ip": None, "stack": None, "decoded": decoded, "decode_error": why,
            "uncertain": uncertain, "platform": "darwin",
        }
        self.report.parsed += 1
        self.rows.append(row)
        self.last = row

    # -- decoding ---------------------------------------------------------------------------------

    def _decode(self, name: str, args: str, ret: int, errno: str | None) -> tuple[Decoded | None, str | None, bool]:
        if name not in ("mmap", "munmap", "mprotect", "madvise", "execve", "exit", "fork", "vfork"):
            return None, None, False
        try:
            values = parse_args(args)
        except ArgsSyntaxError as exc:
            return None, f"arguments do not parse: {exc} at column {exc.column}", False
        try:
            # Numbers, or a Str where dtruss printed a string: a Str where a number belongs fails
            # the first int operation on it, and that error becomes the decode error (below).
            ints: list[Any] = [as_int(v) if not isinstance(v, Str) else v for v in values]
            if name == "mmap":
                if len(ints) != 6:
                    return None, f"dtruss printed {len(ints)} of mmap's 6 arguments", False
                addr, length, prot, flags, fd, pos = ints
                raw = _low32(flags)
                semantic = MapFlags(0)
                for darwin, linux in _SEMANTIC:
                    if raw & darwin:
                        semantic |= linux
                fd32 = _low32(fd)
                tag = None
                if raw & DarwinMapFlags.MAP_ANON:
                    fd_value = -1
                    if fd32 != 0xFFFFFFFF:
                        tag = (fd32 >> 24) & 0xFF
                else:
                    fd_value = _signed32(fd)
                self.map_addrs += 1
                if addr > 0xFFFFFFFF or length > 0xFFFFFFFF:
                    self.wide_args = True
                if addr % PAGE_16K:
                    self.aligned16 = False
                decoded = Mmap(addr, length, Prot(_low32(prot)), semantic, fd_value, pos, None, raw, tag)
                uncertain = False
                if errno is None:
                    if ret > 0xFFFFFFFF:
                        self.wide_returns = True
                    elif addr and _low32(addr) == ret and addr != ret:
                        pass  # repaired below from the requested address
                    if ret % PAGE_16K:
                        self.aligned16 = False
                return decoded, None, uncertain
            if name == "munmap":
                if len(ints) < 2:
                    return None, "munmap without its two arguments", False
                if ints[0] % PAGE_16K:
                    self.aligned16 = False
                if ints[0] > 0xFFFFFFFF:
                    self.wide_args = True
                return Munmap(ints[0], ints[1]), None, False
            if name == "mprotect":
                return Mprotect(ints[0], ints[1], Prot(_low32(ints[2]))), None, False
            if name == "madvise":
                return Madvise(ints[0], ints[1], DarwinAdvice(_low32(ints[2]))), None, False
            if name == "execve":
                path = values[0]
                if isinstance(path, Str):
                    return Execve(path.value.split("\0", 1)[0], (), None, None, None, None, path.truncated), None, False
                return None, None, False
            if name in ("fork", "vfork"):
                flags = CloneFlags.CLONE_VM | CloneFlags.CLONE_VFORK if name == "vfork" else CloneFlags(0)
                return Clone(flags, SIGNALS["SIGCHLD"]), None, False
            if name == "exit":
                return Exit(_signed32(ints[0])), None, False
        except Exception as exc:  # a value of the wrong kind: say so, keep the event
            return None, f"{name} arguments: {exc}", False
        return None, None, False


def repair_mmap_returns(rows: list[dict[str, Any]], wide_returns: bool, wide_args: bool) -> None:
    """Section 6.3: before dtrace-118, mmap's return was printed as its low 32 bits. In a log of a
    64-bit process that shows no full-width return, repair a return from the requested address
    when their low halves agree (MAP_FIXED, or an honoured hint); flag the others as uncertain."""
    if wide_returns or not wide_args:
        return
    for row in rows:
        d = row["decoded"]
        if row["syscall"] != "mmap" or not isinstance(d, Mmap) or row["errno"] is not None:
            continue
        ret = row["ret"]
        if ret is None or ret > 0xFFFFFFFF:
            continue
        if d.addr and _low32(d.addr) == ret:
            row["ret"] = d.addr
            row["ret_detail"] = f"return repaired from the requested address (printed {row['ret_text']})"
        else:
            row["uncertain"] = True
            row["ret_detail"] = "dtruss printed only the low 32 bits of this address"


def page_size(rows: list[dict[str, Any]], aligned16: bool, count: int) -> int:
    """16 KiB when every mapping address seen is 16 KiB aligned (Apple silicon), else 4 KiB."""
    return PAGE_16K if aligned16 and count >= 3 else 4096
