"""tracemem batch (issue 17, first part): many traces into a hive-partitioned Parquet dataset, on
a local process pool (or Dask), identical to a serial run; failures recorded, re-runs skip."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
import pytest

import tracemem.batch
import tracemem.errors
from tracemem.batch import batch, read_table
from tracemem.cli import main

ROOT = Path(__file__).resolve().parent.parent
LABELS = ["host=hosts/([^/]+)/", "version=/(v[0-9]+)/"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real traces under hosts/HOST/VERSION/, recorded ones with their .maps, one broken file."""
    base = tmp_path_factory.mktemp("corpus")
    a, b, c = base / "hosts/a/v1", base / "hosts/b/v2", base / "hosts/c/v3"
    for d in (a, b, c):
        d.mkdir(parents=True)
    for f in sorted((ROOT / "tests/data/diff").glob("*.trace")):
        shutil.copy(f, a)
    for f in ("memdemo.trace", "go-http.trace"):
        shutil.copy(ROOT / "samples" / f, b)
    for f in ("memdemo.trace", "multiproc.trace"):
        shutil.copy(ROOT / "samples/recorded" / f, c)
        shutil.copytree(ROOT / "samples/recorded" / f"{f}.maps", c / f"{f}.maps")
    (a / "broken.trace").write_bytes(b"this is not\x00 a trace\nat all\n")
    return base


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(list(df.columns)[:3], kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def serial(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "fleet"
    batch([corpus], out, workers=1, labels=LABELS, progress=False)
    return out


def test_tables_read_back_with_failure_recorded(serial: Path) -> None:
    traces = read_table(serial, "traces")
    assert len(traces) == 12
    broken = traces[traces["trace"] == "broken.trace"].iloc[0]
    assert broken["status"] == "failed" and "no line looks like strace" in broken["error"]
    ok = traces[traces["trace"] != "broken.trace"]
    assert (ok["status"] == "ok").all() and ok["error"].isna().all() and (ok["events"] > 0).all()
    # two memdemo.trace: the names grow until unique; labels come from the path
    assert {"v2.memdemo.trace", "v3.memdemo.trace"} <= set(traces["trace"])
    assert traces.set_index("trace").loc["v3.memdemo.trace", ["host", "version"]].tolist() == ["c", "v3"]
    assert set(traces["host"]) == {"a", "b", "c"}
    # pyarrow.dataset and pandas read the hive partitions directly
    procs = ds.dataset(serial / "processes", format="parquet", partitioning="hive").to_table().to_pandas()
    assert set(procs["trace"].astype(str)) == set(ok["trace"])
    assert "host" in procs.columns and procs["committed"].dtype == "int64"
    phases = pd.read_parquet(serial / "phases")
    assert len(phases) > 0 and set(phases["trace"].astype(str)) == set(ok["trace"])
    roles = read_table(serial, "roles")
    assert (roles["vsz"] >= 0).all() and not (serial / "events").exists()
    # the recorded trace was seeded with its snapshot: more processes than the one traced, VSZ
    multi = read_table(serial, "processes").query("trace == 'multiproc.trace'")
    assert len(multi) == 3


def test_pool_identical_to_serial(corpus: Path, serial: Path, tmp_path: Path) -> None:
    out = tmp_path / "pool"
    res = tracemem.batch(corpus, out, workers=3, labels=LABELS, progress=False)  # the module is callable
    assert res.failed == ["broken.trace"] and len(res.done) == 11
    for table in ("traces", "processes", "phases", "roles"):
        pd.testing.assert_frame_equal(_sorted(read_table(serial, table)), _sorted(read_table(out, table)))
        # byte for byte: each partition depends on its trace only
        for part in (serial / table).glob("trace=*/part-0.parquet"):
            assert part.read_bytes() == (out / part.relative_to(serial)).read_bytes()


def test_rerun_skips_and_force_redoes(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "fleet"
    src = corpus / "hosts/a/v1"
    first = batch([src / "c-base.trace", src / "go-big.trace"], out, workers=1, progress=False)
    assert first.done == ["c-base.trace", "go-big.trace"]
    part = out / "processes/trace=c-base.trace/part-0.parquet"
    stamp = part.stat().st_mtime_ns
    again = batch([src / "c-base.trace", src / "go-big.trace"], out, workers=1, progress=False)
    assert again.skipped == ["c-base.trace", "go-big.trace"] and again.done == []
    assert part.stat().st_mtime_ns == stamp
    forced = batch([src / "c-base.trace"], out, workers=1, force=True, progress=False)
    assert forced.done == ["c-base.trace"] and forced.skipped == []
    assert part.stat().st_mtime_ns != stamp


def test_events_tables(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "fleet"
    batch([corpus / "hosts/b/v2/memdemo.trace"], out, workers=1, events=True, progress=False)
    events, timeline = read_table(out, "events"), read_table(out, "timeline")
    assert len(events) > 0 and len(timeline) > 0 and set(events["trace"]) == {"memdemo.trace"}


def test_cli_exit_codes(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fleet"
    assert main(["batch", str(corpus / "hosts/a"), "-o", str(out), "--label", LABELS[0], "--workers", "2",
                 "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "1 failed" in err and "broken.trace" in err
    assert main(["batch", str(corpus / "hosts/b"), "-o", str(out), "--no-progress"]) == 0
    assert main(["batch", str(corpus), "-o", str(out), "--label", "host=("]) == 2
    assert main(["batch", str(tmp_path / "missing"), "-o", str(out)]) == 2
    (tmp_path / "file").write_text("")
    assert main(["batch", str(corpus / "hosts/b"), "-o", str(tmp_path / "file" / "x")]) == 2


def test_duckdb_query(serial: Path) -> None:
    duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed (optional: the dataset is plain Parquet)")
    rows = duckdb.sql(f"select host, count(*) from read_parquet('{serial}/processes/*/*.parquet', "
                      "hive_partitioning=true) group by host order by host").fetchall()
    assert [r[0] for r in rows] == ["a", "b", "c"]


def test_dask_local_cluster_identical(corpus: Path, serial: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="dask/distributed are not installed (optional)")
    out = tmp_path / "dask"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        res = batch([corpus], out, labels=LABELS, scheduler=cluster.scheduler_address, progress=False)
    assert res.failed == ["broken.trace"]
    for table in ("traces", "processes", "phases", "roles"):
        pd.testing.assert_frame_equal(_sorted(read_table(serial, table)), _sorted(read_table(out, table)))


def test_object_store_urls_and_compressed_traces(tmp_path: Path) -> None:
    """Inputs through fsspec (here its in-memory store, as s3:// or gs:// would be): a folder URL
    is scanned like a local folder, a gzip trace is read streamed, and the tables equal a local
    run's over the same traces."""
    import gzip

    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    local = tmp_path / "local/hosts"
    for host, name in (("a", "go-http.trace"), ("b", "memdemo.trace")):
        data = (ROOT / "samples" / name).read_bytes()
        fs.pipe(f"/tm-fleet/hosts/{host}/{name}.gz", gzip.compress(data))
        fs.pipe(f"/tm-fleet/hosts/{host}/README.md", b"not a trace")
        (local / host).mkdir(parents=True)
        (local / host / f"{name}.gz").write_bytes(gzip.compress(data))
    try:
        remote = batch(["memory://tm-fleet/hosts"], tmp_path / "r", workers=1, labels=["host=hosts/([^/]+)/"],
                       progress=False)
        here = batch([local], tmp_path / "l", workers=1, labels=["host=hosts/([^/]+)/"], progress=False)
    finally:
        fs.rm("/tm-fleet", recursive=True)
    assert remote.done == ["go-http.trace.gz", "memdemo.trace.gz"] and not remote.failed
    traces = remote.traces
    assert traces["path"].str.startswith("memory://").all() and traces["host"].tolist() == ["a", "b"]
    for table in ("processes", "phases", "roles"):
        pd.testing.assert_frame_equal(remote.table(table), here.table(table))
    with pytest.raises(tracemem.errors.InputError, match="no such file or folder"):
        batch(["memory://tm-fleet-none/x"], tmp_path / "n", workers=1, progress=False)


def test_memory_bounded_by_the_largest_trace_not_the_count(tmp_path: Path) -> None:
    """The run keeps nothing of a trace once its partitions are written: six times the traces
    (the largest sample, serially in one process) do not raise the peak RSS."""
    import subprocess
    import sys

    def peak(copies: int) -> int:
        folder = tmp_path / f"in{copies}"
        for i in range(copies):
            (folder / f"r{i:03d}").mkdir(parents=True)
            shutil.copy(ROOT / "samples/python-startup.trace", folder / f"r{i:03d}")
        code = ("import resource, sys, tracemem; "
                "r = tracemem.batch([sys.argv[1]], sys.argv[2], workers=1, progress=False); "
                "assert not r.failed, r.errors; "
                "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
        out = subprocess.run([sys.executable, "-c", code, str(folder), str(tmp_path / f"out{copies}")],
                             capture_output=True, text=True, check=True)
        return int(out.stdout.split()[-1])  # KiB

    few, many = peak(10), peak(60)
    assert many - few < 12 * 1024, f"peak RSS {few} KiB over 10 traces, {many} KiB over 60"
