"""The verdict of a report: plain sentences computed from a run's figures, each with the trace
lines (``seq``) that prove it, and the advice on what would change the figures.

Only what the trace shows is said: the final ledgers of an address space, the regions by role
(the replay's roles), the execve's argv; never residency (a trace shows no page faults).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from .text import human

if TYPE_CHECKING:
    import pandas as pd

    from .space.addrspace import Region
    from .summary import ProcessSummary

#: glibc's HEAP_MAX_SIZE on 64-bit: each malloc arena beside the main (brk) one is a reservation
#: of this size, aligned to it.
ARENA = 64 << 20
GLIBC_ROLES = ("glibc arena reservation", "glibc malloc arena")
GO_RESERVATION_ROLES = ("Go runtime reservation", "Go heap arena")
JVM_HEAP_ROLES = ("JVM heap reservation", "JVM heap")
V8_CAGE = "V8 pointer-compression cage reservation"
STACK_ROLE = "thread stack"
#: Creating calls: the timeline row of one of them holds the range a region was made in.
CREATORS = ("mmap", "mmap2", "mremap", "shmat", "brk")


@dataclass
class Statement:
    """One sentence of the verdict or the advice, and the events (seq) behind it."""

    text: str
    seqs: list[int] = field(default_factory=list)
    kind: str = "fact"          # fact, advice, limit


@dataclass
class SpaceFacts:
    """What the final state of one address space holds, as the verdict needs it."""

    summary: "ProcessSummary"
    regions: list["Region"]
    rows: "pd.DataFrame"        # its timeline rows, in seq order
    argv: list[str]
    exec_seq: int | None


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "0%"


def creator_seqs(facts: SpaceFacts, regions: Iterable[Any], limit: int = 6) -> list[int]:
    """The events that made ``regions`` (the last creating call whose range holds the region's
    start), at most ``limit`` of them, in trace order."""
    rows = facts.rows
    if not len(rows):
        return []
    creators = rows[rows["syscall"].astype(str).isin(CREATORS) & rows["start"].notna()]
    if not len(creators):
        return []
    starts = creators["start"].to_numpy(dtype="float64")
    ends = creators["end"].to_numpy(dtype="float64")
    seqs = creators["seq"].to_numpy(dtype="int64")
    out: list[int] = []
    for r in regions:
        hit = (starts <= r.start) & (ends > r.start)
        if hit.any():
            out.append(int(seqs[hit][-1]))
        if len(set(out)) >= limit:
            break
    return sorted(set(out))


def _by_role(facts: SpaceFacts, roles: Sequence[str]) -> list["Region"]:
    wanted = set(roles)
    return sorted((r for r in facts.regions if r.role in wanted), key=lambda r: r.start - r.end)


def _role_list(items: list[tuple[str, int, int]], total: int, limit: int = 4) -> str:
    """ "Go runtime reservation 589.0 MiB (6 regions), ..." for the largest ``limit`` roles."""
    parts = [f"{role} {human(b)} ({n} region{'s' if n != 1 else ''})" for role, b, n in items[:limit]]
    rest = sum(b for _, b, _ in items[limit:])
    if rest:
        parts.append(f"other roles {human(rest)}")
    return ", ".join(parts) if parts else human(total)


def verdict(facts: SpaceFacts, vsz_label: str) -> list[Statement]:
    """The verdict of one address space: VSZ, what is reserved and by which roles, what is
    committed and by which, the residency ceiling, then the advice (each with its lines)."""
    p = facts.summary
    out: list[Statement] = []
    last = facts.rows.iloc[-1] if len(facts.rows) else None
    peak = f"; its peak was {human(p.peak_vsz)}" if p.peak_vsz > p.vsz else ""
    out.append(Statement(
        f"{vsz_label} {human(p.vsz)} at the end of the trace ({p.ended}), in {p.map_count} mappings{peak}.",
        [p.peak_seq] if p.peak_seq is not None and p.peak_vsz > p.vsz else []))
    roles = [r for r in p.roles]
    reserved = sorted(((r.role, r.reserved, r.regions) for r in roles if r.reserved), key=lambda x: -x[1])
    if p.reserved:
        go = [r for r in reserved if r[0] in GO_RESERVATION_ROLES]
        text = (f"{human(p.reserved)} ({pct(p.reserved, p.vsz)} of it) is PROT_NONE address space, reserved and "
                f"not usable until made accessible (it costs no memory): {_role_list(reserved, p.reserved)}.")
        if go:
            text += f" The Go runtime's reservations ({human(sum(b for _, b, _ in go))} of it) are normal (see below)."
        out.append(Statement(text, creator_seqs(facts, _by_role(facts, [r[0] for r in reserved[:4]]))))
    committed = sorted(((r.role, r.committed, r.regions) for r in roles if r.committed), key=lambda x: -x[1])
    if p.committed:
        out.append(Statement(
            f"{human(p.committed)} is committed (charged to the kernel's commit limit), of which "
            f"{_role_list(committed, p.committed)}.",
            creator_seqs(facts, _by_role(facts, [r[0] for r in committed[:3]]))))
    else:
        out.append(Statement("Nothing is committed (charged) at the end of the trace."))
    if last is not None:
        file_unch = int(last["file_uncharged"])
        res_unch = int(last["reserved_uncharged"])
        other = int(last["vsz"]) - int(last["committed"]) - res_unch - file_unch
        ceiling = int(last["committed"]) + file_unch + max(other, 0)
        extra = (f" + {human(other)} anonymous memory that is accessible but not charged (MAP_NORESERVE or read-only)"
                 if other > 0 else "")
        out.append(Statement(
            "A container's memory limit counts resident pages (anonymous memory and page cache), not VSZ. "
            "The trace shows what was mapped and committed, not what was touched: it cannot show residency. "
            f"The ceiling it can see is committed + file-backed: {human(int(last['committed']))} committed + "
            f"{human(file_unch)} file-backed (not charged){extra} = {human(ceiling)}; the resident set is at most "
            f"that, and the {human(res_unch)} reserved without a charge cannot become resident as it is.",
            [], kind="limit"))
    if p.released:
        out.append(Statement(f"{human(p.released)} was handed back with madvise (MADV_DONTNEED/FREE/...) and not "
                             "mapped again: it still counts in VSZ but not in what is resident."))
    out.extend(advice(facts))
    return out


def advice(facts: SpaceFacts) -> list[Statement]:
    """What would change the figures, each with the figure it would move (only for the roles the
    trace shows)."""
    out: list[Statement] = []
    stacks = _by_role(facts, [STACK_ROLE])
    if stacks:
        sizes: dict[int, int] = {}
        for r in stacks:
            sizes[r.size] = sizes.get(r.size, 0) + 1
        shown = ", ".join(f"{n} × {human(s)}" for s, n in sorted(sizes.items(), key=lambda x: -x[0] * x[1]))
        total = sum(r.size for r in stacks)
        out.append(Statement(
            f"{len(stacks)} thread stack{'s' if len(stacks) != 1 else ''} ({shown}) take {human(total)}: "
            "the size is the thread library's default (ulimit -s for glibc's pthreads) or the program's "
            "pthread_attr_setstacksize; halving it would halve this figure.",
            creator_seqs(facts, stacks), kind="advice"))
    glibc = _by_role(facts, GLIBC_ROLES)
    if glibc:
        blocks = sorted({r.start // ARENA for r in glibc})
        n = len(blocks)
        total = sum(r.size for r in glibc)
        charged = sum(r.size for r in glibc if r.accounted)
        text = (f"{n} glibc malloc arena{'s' if n != 1 else ''} beside the main (brk) one: {human(total)} of address "
                f"space ({human(charged)} of it committed); glibc makes one per thread that finds the others busy, "
                "each a 64 MiB reservation.")
        if n >= 2:
            text += (f" MALLOC_ARENA_MAX=2 (the main arena and one more) would cap that at {human(ARENA)}, "
                     f"{human(max(total - ARENA, 0))} less VSZ; MALLOC_ARENA_MAX=1 at 0.")
        out.append(Statement(text, creator_seqs(facts, glibc), kind="advice"))
    go = _by_role(facts, GO_RESERVATION_ROLES)
    if go:
        out.append(Statement(
            f"The Go runtime reserved {human(sum(r.size for r in go))} in {len(go)} regions (heap arenas and "
            "runtime metadata): normal for every Go program, address space only; GOMEMLIMIT and GOGC bound how "
            "much of the heap it commits, not these reservations.", creator_seqs(facts, go), kind="advice"))
    jvm = _by_role(facts, JVM_HEAP_ROLES)
    if jvm:
        size = sum(r.size for r in jvm)
        xmx = [a for a in facts.argv if a.startswith("-Xmx") or a.startswith("-XX:MaxRAM")]
        how = (f"sized by {', '.join(xmx)} on its command line" if xmx else
               "sized by the JVM's ergonomics: no -Xmx on its command line, so the maximum heap is a share of "
               "the machine's or the container's memory (-XX:MaxRAMPercentage, 25% by default)")
        seqs = creator_seqs(facts, jvm) + ([facts.exec_seq] if facts.exec_seq is not None else [])
        out.append(Statement(
            f"The JVM heap reservation is {human(size)}, {how}; -Xmx (or -XX:MaxRAMPercentage) sets it, and it "
            "bounds what the heap can commit.", sorted(set(seqs)), kind="advice"))
    cls = _by_role(facts, ["JVM class space reservation"])
    if cls:
        out.append(Statement(
            f"The JVM reserved {human(sum(r.size for r in cls))} for its compressed class space "
            "(-XX:CompressedClassSpaceSize, 1 GiB by default): address space only.",
            creator_seqs(facts, cls), kind="advice"))
    code = _by_role(facts, ["JVM code cache reservation"])
    if code:
        out.append(Statement(
            f"The JVM reserved {human(sum(r.size for r in code))} for its code cache "
            "(-XX:ReservedCodeCacheSize, 240 MiB by default).", creator_seqs(facts, code), kind="advice"))
    cage = _by_role(facts, [V8_CAGE])
    if cage:
        out.append(Statement(
            f"V8's pointer-compression cage reserves {human(sum(r.size for r in cage))}: a fixed reservation, "
            "address space only; --max-old-space-size bounds the heap committed inside it, not the cage.",
            creator_seqs(facts, cage), kind="advice"))
    return out
