"""Opening trace inputs: plain or compressed files, stdin, globs; streamed in bounded memory."""

from __future__ import annotations

import bz2
import glob
import gzip
import io
import lzma
import zlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Protocol, Sequence

from .. import progress
from ..errors import InputError
from ..text import export_text

CHUNK = 1 << 20  # 1 MiB of text at a time for a pool's workers (small blocks keep both busy to the end)
LOCAL_CHUNK = 1 << 18  # 256 KiB at a time in one process (see iter_batches)
_FF_SUFFIX = re.compile(r"\.(\d{2,9})$")
#: An fsspec URL (s3://bucket/key, gs://..., memory://..., file:///...): read through fsspec.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(path: str) -> bool:
    """Whether an input names an fsspec URL rather than a local path (a local file whose name
    looks like one is still the file)."""
    return bool(_URL.match(path)) and not os.path.exists(path)


def url_fs(url: str) -> tuple[Any, str]:
    """The fsspec filesystem of a URL and the path in it; InputError when fsspec (or the
    protocol's package, e.g. s3fs) is not installed."""
    import importlib

    try:  # (Any: fsspec has no type information; it is optional)
        fsspec_core: Any = importlib.import_module("fsspec.core")
    except ImportError:
        raise InputError(f"{export_text(url)}: reading a URL needs fsspec (pip install fsspec, plus the "
                         "package of its protocol, e.g. s3fs or gcsfs)") from None
    try:
        fs, path = fsspec_core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise InputError(f"{export_text(url)}: cannot read this URL ({exc})") from None
    return fs, path

_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"BZh": "bzip2",
}


@dataclass(frozen=True)
class Source:
    """One input: a path (or "-" for stdin) and, for an ``strace -ff`` file, the pid its name gives."""

    path: str
    default_pid: int | None = None

    @property
    def label(self) -> str:
        """The name the events and messages give the input (a byte of the path that is not UTF-8
        as \\xNN: the label is text, the path is opened as it is)."""
        return "<stdin>" if self.path == "-" else export_text(self.path)


def expand(paths: Sequence[str | os.PathLike[str]]) -> list[Source]:
    """Expand globs and check that each input exists; pids from ``-ff`` style names."""
    try:
        return _expand(paths)
    except OSError as exc:  # a name too long, a loop of links ...: what the file system says
        name = exc.filename if isinstance(exc.filename, str) else ""
        raise InputError(f"{export_text(name) or 'input'}: cannot open ({exc.strerror or exc})") from None


def _expand(paths: Sequence[str | os.PathLike[str]]) -> list[Source]:
    if not paths:
        raise InputError("no trace given: pass one or more log files (or - for standard input)")
    out: list[Source] = []
    for raw in paths:
        text = os.fspath(raw)
        if text == "-":
            out.append(Source("-"))
            continue
        if is_url(text):
            out.extend(Source(name, _ff_pid(name)) for name in _expand_url(text))
            continue
        if any(ch in text for ch in "*?[") and not os.path.exists(text):
            matches = sorted(glob.glob(text))
            if not matches:
                raise InputError(f"{text}: no file matches this pattern")
            names = matches
        else:
            names = [text]
        for name in names:
            p = Path(name)
            if not p.exists():
                raise InputError(f"{name}: no such file")
            if p.is_dir():
                raise InputError(f"{name}: is a directory; pass the log files in it (e.g. {name}/trace.*)")
            out.append(Source(name, _ff_pid(name)))
    return out


def _expand_url(url: str) -> list[str]:
    """The files an fsspec URL (or a glob in one) names, as URLs."""
    fs, path = url_fs(url)
    try:
        if any(ch in path for ch in "*?["):
            names = [fs.unstrip_protocol(m) for m in sorted(fs.glob(path))]
            if not names:
                raise InputError(f"{export_text(url)}: no file matches this pattern")
            return names
        if not fs.exists(path):
            raise InputError(f"{export_text(url)}: no such file")
        if fs.isdir(path):
            raise InputError(f"{export_text(url)}: is a directory; pass the log files in it (e.g. {export_text(url)}/*)")
    except OSError as exc:  # the store refused or is unreachable
        raise InputError(f"{export_text(url)}: cannot read ({exc})") from None
    return [url]


def _ff_pid(name: str) -> int | None:
    base = Path(name).name
    for ext in (".gz", ".xz", ".zst", ".bz2"):
        if base.endswith(ext):
            base = base[: -len(ext)]
    m = _FF_SUFFIX.search(base)
    return int(m.group(1)) if m else None


def _open_binary(source: Source) -> BinaryIO:
    if source.path == "-":
        if sys.stdin is None:
            raise InputError("<stdin>: standard input is closed: pass the trace as a file, or pipe it in")
        return sys.stdin.buffer
    try:
        if is_url(source.path):
            fs, path = url_fs(source.path)
            raw: BinaryIO = fs.open(path, "rb")  # streamed in blocks, never read whole
            return raw
        return open(source.path, "rb")
    except OSError as exc:
        raise InputError(f"{export_text(source.path)}: cannot open ({exc.strerror or exc})") from None


class _Readable(Protocol):
    """What the block reader needs of a (decompressed) input stream."""

    def read(self, size: int = ..., /) -> bytes: ...


def _decompressed(raw: BinaryIO, label: str) -> _Readable:
    """Wrap a stream in the decompressor its first bytes call for (streamed, never whole)."""
    # (every raw stream here has readinto, which BinaryIO does not promise)
    peekable = raw if hasattr(raw, "peek") else io.BufferedReader(raw)  # type: ignore[type-var]
    try:
        head = peekable.peek(6)[:6]
    except (OSError, ValueError) as exc:  # a folder given as standard input, a closed or bad stream
        raise InputError(f"{label}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            if kind == "gzip":
                return gzip.GzipFile(fileobj=peekable)
            if kind == "xz":
                return lzma.LZMAFile(peekable)
            if kind == "bzip2":
                return bz2.BZ2File(peekable)
            try:
                import zstandard
            except ImportError:
                raise InputError(f"{label}: zstd-compressed, and the zstandard package is missing "
                                 "(pip install zstandard)") from None
            return _ZstdStream(peekable, label, zstandard.ZstdDecompressor())
    return peekable


class _ZstdStream:
    """zstd frames decompressed as they are read, every frame checked to its end: a stream that
    stops inside a frame (a truncated file, a bare header) is an InputError, not a silent end."""

    def __init__(self, raw: Any, label: str, decompressor: Any) -> None:
        self.raw = raw
        self.label = label
        self.decompressor = decompressor
        self.obj = decompressor.decompressobj()
        self.done = False

    def read(self, n: int = 1 << 20, /) -> bytes:
        out: list[bytes] = []
        size = 0
        while size < n and not self.done:
            chunk = self.raw.read(1 << 16)
            if not chunk:
                if not self.obj.eof:
                    raise InputError(f"{self.label}: corrupt or truncated compressed data "
                                     "(the zstd stream ends inside a frame)")
                self.done = True
                break
            if self.obj.eof:
                self.obj = self.decompressor.decompressobj()  # the next frame
            data = self.obj.decompress(chunk)
            while self.obj.eof and self.obj.unused_data:
                rest = self.obj.unused_data
                self.obj = self.decompressor.decompressobj()
                data += self.obj.decompress(rest)
            out.append(data)
            size += len(data)
        return b"".join(out)


def head(source: Source, size: int = 1 << 16) -> bytes:
    """The first ``size`` bytes of an input (decompressed), for telling its format; b"" for
    standard input (which cannot be read twice)."""
    if source.path == "-":
        return b""
    raw = _open_binary(source)
    try:
        stream = _decompressed(raw, source.label)
        return _read(stream, size, source.label)
    finally:
        raw.close()


def _read(stream: Any, size: int, label: str) -> bytes:
    """Up to ``size`` bytes of a (decompressing) stream; broken compression is an InputError."""
    try:
        data: bytes = stream.read(size)
        return data
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        raise InputError(f"{label}: corrupt or truncated compressed data ({exc})") from None
    except Exception as exc:  # zstandard raises its own ZstdError
        if type(exc).__name__ == "ZstdError":
            raise InputError(f"{label}: corrupt zstd data ({exc})") from None
        raise


def ff_prefix(name: str) -> str:
    """The name of an ``strace -ff`` file without its pid (and compression) suffix: the -o
    prefix its run wrote every file with."""
    base = name
    for ext in (".gz", ".xz", ".zst", ".bz2"):
        if base.endswith(ext):
            base = base[: -len(ext)]
    m = _FF_SUFFIX.search(base)
    return base[: m.start()] if m else base


def iter_byte_blocks(source: Source, size: int = CHUNK, first: int = 1 << 18) -> Iterator[tuple[bytes, int]]:
    """Blocks of whole lines as bytes, each with the number of its first line.

    A block never starts with a ``-k`` stack-frame line (" > ..."), so frames stay with their
    syscall line. Decompression is streamed. A file whose first block has no LF but CRs (old Mac
    line ends) has its CRs read as line ends (CR LF as one); CR LF files are split as LF files
    (split_lines drops the CR).
    """
    raw = _open_binary(source)
    try:
        shown = progress.current()
        read = shown.file(source, raw) if shown is not None else None  # progress: bytes read, per block
        stream = _decompressed(raw, source.label)
        buf = b""
        line = 1
        want = min(first, size)
        cr_ends: bool | None = None  # decided on the first block: old Mac line ends (CR only)
        held = b""
        while True:
            data = _read(stream, want, source.label)
            want = size
            if read is not None:
                read(len(data))
            if cr_ends is None and (b"\n" in data or b"\r" in data):
                # a file whose lines end in a lone CR (every \n of it replaced by \r): its CRs are
                # the line ends, else it is one huge line error and every event is lost (CR LF
                # ends are read right either way)
                cr_ends = b"\n" not in data
            if not data:
                if held:
                    buf += b"\n"  # the file's last CR
                break
            if cr_ends:
                data = held + data
                held = b""
                if data.endswith(b"\r"):
                    data, held = data[:-1], b"\r"  # (a CR LF cut between two reads stays one end)
                data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            buf += data
            # Cut after a newline whose next line is complete in the buffer and not a frame.
            cut = buf.rfind(b"\n", 0, len(buf) - 1)
            while cut >= 0 and (buf.startswith(b" >", cut + 1) or buf[cut + 1:] == b" "):
                # (a last line read only up to its first space may be a frame: kept for later)
                cut = buf.rfind(b"\n", 0, cut)
            if cut < 0:
                continue
            block, buf = buf[: cut + 1], buf[cut + 1 :]
            yield block, line
            line += block.count(b"\n")
        if buf:
            yield buf, line
    finally:
        if sys.stdin is None or raw is not sys.stdin.buffer:
            raw.close()


def split_lines(data: bytes) -> list[str]:
    """The lines of a block of bytes without their line ends (undecodable bytes kept as surrogate
    escapes, so binary junk never stops the parse)."""
    text = data.decode("utf-8", "surrogateescape")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines

