"""Shared paths and helpers for the tests.

Real logs come from three places: tests/data/strace (captured on this machine by
tests/data/make_traces.sh), samples/ (bundled examples), and ../shared/corpus (public logs of
other projects, not copied into the repo; tests that need them skip when it is absent).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
STRACE_DATA = DATA / "strace"
SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared"
PEERS = SHARED / "corpus" / "strace-peers"
DTRUSS = SHARED / "corpus" / "dtruss"

SHARED_REASON = (
    "../shared/corpus is not beside this checkout (it holds the public peer logs, which are "
    "not redistributed with tracemem)"
)


def peer_logs() -> list[Path]:
    """Every real strace log in the shared corpus (the *.expected files are regexes, not logs)."""
    if not PEERS.exists():
        return []
    return sorted(p for p in PEERS.rglob("*") if p.is_file() and p.suffix not in (".expected", ".md"))


def own_logs() -> list[Path]:
    return sorted(p for p in STRACE_DATA.iterdir() if p.is_file()) + sorted(
        p for p in SAMPLES.glob("*.trace")
    )


def needs_shared() -> pytest.MarkDecorator:
    return pytest.mark.skipif(not PEERS.exists(), reason=SHARED_REASON)


def ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}/{p.name}" for p in paths]


# CI runs a fixed, reproducible set of examples; locally Hypothesis explores afresh each run.
from hypothesis import settings as _settings

_settings.register_profile("ci", derandomize=True, deadline=None)
_settings.register_profile("deep", max_examples=3000, deadline=None)
import os as _os

if _os.environ.get("CI"):
    _settings.load_profile("ci")
elif _os.environ.get("HYPOTHESIS_PROFILE"):
    _settings.load_profile(_os.environ["HYPOTHESIS_PROFILE"])
