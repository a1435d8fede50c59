"""Memory-limited benchmark: training on a demo export larger than one worker's memory limit.

    .venv/bin/python bench/bench_dask_memory.py                 # 200,000 cases, 2 GiB of workers
    .venv/bin/python bench/bench_dask_memory.py --cases 300000 --cluster-memory 3GiB

1. The single-machine path (``risk train --quick``) held to the rule a Dask worker's nanny
   applies (a worker is terminated when its resident memory passes 95% of its limit): a
   watchdog samples the resident memory of the process (and any children) and stops it once
   past the limit. Expected: stopped, with the stage it was in.
2. The Dask path (``training.distributed.train``, ``risk train --engine dask``) on the same
   export written month-partitioned, on a LocalCluster of 1 and then 2 workers of one thread
   sharing ``--cluster-memory`` (2 GiB: one worker of 2 GiB, then two of 1 GiB; Dask spills to
   disk beyond 60% of a worker's limit and pauses it at 80%): wall time, the stages, peak
   resident memory of each worker and of the client, test-window AUC. The single machine of
   step 1 is held to the smallest worker's limit (1 GiB).

Each run is its own process, so each peak is its own. The demo data is generated and
partitioned in child processes too. Figures go to docs/dask.md ("Costs").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from dask.utils import parse_bytes

RISK = Path(sys.executable).with_name("risk")


def _peak_mib() -> float:
    """This process's peak resident memory (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(command: list[str], *, cwd: Path, limit: int | None = None) -> tuple[int | None, float, float, str]:
    """(exit code, or None when the watchdog stopped it past ``limit`` bytes resident; seconds;
    peak resident MiB seen; the last line of stderr)."""
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    start, peak = time.perf_counter(), 0
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, cwd=cwd, env=env)
        watched = psutil.Process(child.pid)
        stopped = False
        while child.poll() is None:
            try:
                rss = sum(p.memory_info().rss for p in [watched, *watched.children(recursive=True)])
            except psutil.Error:
                rss = 0
            peak = max(peak, rss)
            if limit is not None and rss > limit:
                child.kill()
                child.wait()
                stopped = True
                break
            time.sleep(0.1)
        err.seek(0)
        lines = [line for line in err.read().decode(errors="replace").splitlines() if line.strip()]
    code = None if stopped else child.returncode
    return code, time.perf_counter() - start, peak / 2**20, lines[-1] if lines else ""


def _generate(out: Path, cases: int, seed: int, cwd: Path) -> None:
    code, seconds, _, message = _run(
        [str(RISK), "demo-data", "--out", str(out), "--cases", str(cases), "--seed", str(seed)], cwd=cwd
    )
    if code != 0:
        raise SystemExit(f"demo-data failed: {message}")
    print(f"{cases:,} demo cases: {seconds:.1f} s")


def single_machine(data: Path, limit: int, cwd: Path) -> tuple[int | None, float, float, str]:
    # RISK_LOG_LEVEL=INFO: the last log line says which stage it was in when stopped
    command = [str(RISK), "train", "--data", str(data), "--quick", "--no-register"]
    os.environ["RISK_LOG_LEVEL"] = "INFO"
    try:
        return _run([*command, "--tracking-uri", f"sqlite:///{cwd / 'single.db'}"], limit=limit, cwd=cwd)
    finally:
        del os.environ["RISK_LOG_LEVEL"]


def dask_run(data: Path, workers: int, memory_limit: str, train_sample: int, cwd: Path) -> dict[str, Any]:
    """One Dask training run in this process (called in a child: ``--run-dask``)."""
    from training.distributed.cluster import connect
    from training.distributed.train import run_training_on_cluster
    from training.judge import ModelKey

    with connect(n_workers=workers, threads_per_worker=1, memory_limit=memory_limit) as client:
        start = time.perf_counter()
        result = run_training_on_cluster(
            data,
            client,
            tracking_uri=f"sqlite:///{cwd / f'dask-{workers}.db'}",
            quick=True,
            register=False,
            models_dir=cwd,
            train_sample=train_sample,
        )
        wall = time.perf_counter() - start
        peaks = sorted(client.run(_peak_mib).values())
    metric = result.judgement.metrics[ModelKey.MODEL]["roc_auc"]
    return {
        "wall": wall,
        "seconds": dict(result.seconds),
        "workers": peaks,
        "client": _peak_mib(),
        "auc": [metric.value, metric.lo, metric.hi],
        "rounds": result.model.metadata["best_iteration"],
        "text": result.model.metadata["text"],
        "train_rows": result.prepared.windows["train"]["n"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cluster-memory", default="2GiB", help="shared by the workers of each run")
    parser.add_argument("--timeout", type=float, default=900, help="seconds a Dask run may take")
    parser.add_argument("--memory-limit", help=argparse.SUPPRESS)  # internal: one run's worker limit
    parser.add_argument("--train-sample", type=int, default=20_000, help="train rows the client fits text on")
    parser.add_argument("--run-dask", type=int, help=argparse.SUPPRESS)  # internal: one run, JSON out
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_dask:
        found = dask_run(args.data, args.run_dask, args.memory_limit, args.train_sample, args.data.parent)
        print(json.dumps(found))
        return

    total = int(parse_bytes(args.cluster_memory))
    limit = total // max(args.workers)
    with tempfile.TemporaryDirectory(prefix="bench-dask-memory-") as tmp:
        root = Path(tmp)
        source, months = root / "csv", root / "months"
        _generate(source, args.cases, args.seed, root)
        start = time.perf_counter()
        partition = (
            "from training.distributed import write_partitioned; import sys; write_partitioned(*sys.argv[1:])"
        )
        subprocess.run([sys.executable, "-c", partition, str(source), str(months)], check=True, cwd=root)
        print(f"month-partitioned Parquet: {time.perf_counter() - start:.1f} s")

        code, seconds, peak, message = single_machine(source, limit, root)
        held = f"{limit / 2**30:.2f} GiB"
        outcome = {None: f"STOPPED past {held} resident", 0: "finished"}.get(code, f"failed ({code})")
        print(f"\nsingle machine (risk train --quick), {args.cases:,} cases, held to {held}: {outcome}")
        print(f"  after {seconds:.1f} s, peak resident {peak:,.0f} MiB; last log line: {message[:200]}")

        rows = []
        for workers in args.workers:
            command = [sys.executable, __file__, "--run-dask", str(workers), "--data", str(months),
                       "--memory-limit", str(total // workers), "--train-sample", str(args.train_sample)]  # fmt: skip
            try:
                done = subprocess.run(command, capture_output=True, text=True, cwd=root, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                print(f"  Dask, {workers} worker(s): did not finish in {args.timeout:.0f} s")
                continue
            if done.returncode != 0:
                tail = done.stderr.strip().splitlines()[-1:] or [""]
                print(f"  Dask, {workers} worker(s): FAILED: {tail[0][:200]}")
                continue
            rows.append((workers, json.loads(done.stdout.strip().splitlines()[-1])))

    print(f"\nDask, {args.cases:,} cases, workers of 1 thread sharing {args.cluster_memory}, quick, text "
          f"fitted on <= {args.train_sample:,} train rows:")  # fmt: skip
    print(f"{'workers':>7} {'limit':>8} {'wall':>7} {'load':>6} {'history':>7} {'features':>8} {'train':>6} {'judge':>6}"
          f"  {'peak MiB per worker':>20} {'client MiB':>10}  test AUC [95% CI]")  # fmt: skip
    for workers, r in rows:
        s = r["seconds"]
        peaks = " / ".join(f"{p:,.0f}" for p in r["workers"])
        lo_hi = f"{r['auc'][0]:.3f} [{r['auc'][1]:.3f}, {r['auc'][2]:.3f}]"
        print(f"{workers:>7} {total / workers / 2**30:6.2f}Gi {r['wall']:6.0f}s {s['load']:5.0f}s {s['history']:6.0f}s {s['features']:7.0f}s "
              f"{s['train']:5.0f}s {s['evaluate']:5.0f}s  {peaks:>20} {r['client']:10,.0f}  {lo_hi}"
              f"  ({r['train_rows']:,} train rows, {r['rounds']} rounds, {r['text']})")  # fmt: skip


if __name__ == "__main__":
    main()
