"""Load test of the intake scoring API against ``mlflow models serve`` on the same model.

    .venv/bin/python bench/bench_api.py [--tracking-uri URI] [--requests 3000] [--concurrency 16]

Everything runs on 127.0.0.1. The servers are subprocesses; this script is the client (a
second process): an asyncio HTTP/1.1 keep-alive client light enough not to be the bottleneck.
Phases of ``risk serve``, each a bounded number of requests after a warm-up, on a fresh SQLite
queue database:

  * scoring only (the queue off): every answer still waits for its case's history facts, which
    the group-commit writer commits with other requests' (serving.fact_writer);
  * scoring + queue write: every case carries a hard red flag, so each request also opens a
    supervision item (item, case and audit rows and the history facts in one transaction,
    committed before the answer);
  * each of those with 1 and with 2 worker processes (``--workers 2``: the workers share the
    database and follow each other's history facts);
  * each with 1 worker and SQLite ``synchronous=NORMAL`` against the default FULL (a commit
    waits for the WAL to reach the disk): the price of not losing acknowledged writes to a
    power cut.

Then ``mlflow models serve --env-manager local`` on the same registered version, one case per
request in the pyfunc format {"dataframe_records": [...]}. The cases are demo cases registered
within the last days (after the model's history cut-off), so the live history applies every
scored case, as in production.

Prints throughput, p50/p95/p99 latency and the server's CPU time per request (the server
process and its children, from /proc: the honest figure on a shared, noisy machine where the
wall-clock ones move with the neighbours' load), and the load average before and after; writes
bench/out/api.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAG_SENTENCE = "对方扬言要杀了他，还拿着菜刀。"
CASE_FIELDS = (
    "case_id",
    "registered_at",
    "area_code",
    "grid_code",
    "source",
    "category",
    "narrative",
    "amount_yuan",
    "n_parties",
    "n_people",
    "police_calls_before",
    "mediation_attempts",
)


@dataclass
class Result:
    name: str
    workers: int | None  # risk serve's worker processes (None: mlflow)
    synchronous: str | None  # SQLite synchronous of risk serve
    requests: int
    concurrency: int
    seconds: float
    throughput: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[str, int]
    server_cpu_ms: float | None = None  # server CPU time per request (None where /proc is missing)


SCORING, QUEUE = "risk serve: scoring only", "risk serve: scoring + queue write"
# (name, RISK_QUEUE_LEVEL, every case flagged, worker processes, SQLite synchronous)
PHASES = (
    (SCORING, "off", False, 1, "FULL"),
    (SCORING, "off", False, 2, "FULL"),
    (QUEUE, "黄", True, 1, "FULL"),
    (QUEUE, "黄", True, 2, "FULL"),
    (SCORING, "off", False, 1, "NORMAL"),
    (QUEUE, "黄", True, 1, "NORMAL"),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- payloads -----------------------------------------------------------------------------------


def demo_cases(n: int, seed: int) -> list[dict]:
    """``n`` contract cases with nested parties from the demo generator (realistic narratives),
    typed as a JSON client would send them."""
    from training.demo.generate import DemoConfig, build_demo_tables

    tables = build_demo_tables(DemoConfig(n_cases=max(n, 200), seed=seed))

    def typed(row: dict, ints: tuple[str, ...], floats: tuple[str, ...] = ()) -> dict:
        out = {k: (None if v == "" else v) for k, v in row.items()}
        for k in ints:
            out[k] = None if out[k] is None else int(out[k])
        for k in floats:
            out[k] = None if out[k] is None else float(out[k])
        return out

    by_case: dict[str, list[dict]] = {}
    for p in tables.parties.astype(str).to_dict("records"):
        by_case.setdefault(p.pop("case_id"), []).append(typed(p, ("age",)))
    out = []
    for c in tables.cases.tail(n).astype(str).to_dict("records"):
        c = typed(
            {k: c[k] for k in CASE_FIELDS},
            ("n_parties", "n_people", "police_calls_before", "mediation_attempts"),
            ("amount_yuan",),
        )
        out.append(c | {"parties": by_case.get(c["case_id"], [])})
    return out


def api_bodies(cases: list[dict], *, prefix: str, flag: bool) -> list[bytes]:
    """One body per case with a fresh case id, registered in the last two days (Shanghai time):
    after any model's history cut-off, so that the live history takes each case in."""
    start = datetime.now(UTC) + timedelta(hours=8) - timedelta(days=2)
    bodies = []
    for i, c in enumerate(cases):
        at = (start + timedelta(seconds=20 * i)).replace(tzinfo=None).isoformat(timespec="seconds")
        c = dict(c, case_id=f"{prefix}{i:06d}", registered_at=at)
        if flag:
            c["narrative"] = c["narrative"] + FLAG_SENTENCE
        bodies.append(json.dumps(c, ensure_ascii=False, default=str).encode())
    return bodies


def mlflow_bodies(cases: list[dict]) -> list[bytes]:
    out = []
    for c in cases:
        record = dict(
            c,
            registered_at=c["registered_at"] + "+08:00",
            parties=json.dumps(c["parties"], ensure_ascii=False, default=str),
        )
        out.append(json.dumps({"dataframe_records": [record]}, ensure_ascii=False, default=str).encode())
    return out


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of ``pid`` and every live descendant (Linux /proc), else None."""
    proc = Path("/proc")
    if not (proc / str(pid)).exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, cpu seconds)
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += stats.get(current, (0, 0.0))[1]
        todo += [child for child, (parent, _) in stats.items() if parent == current]
    return total


# ---- the client ---------------------------------------------------------------------------------


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, body: bytes) -> int:
    writer.write(head % len(body) + body)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length, chunked = 0, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
        elif name.lower() == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while (size := int((await reader.readline()).strip(), 16)) > 0:
            await reader.readexactly(size + 2)
        await reader.readline()
    else:
        await reader.readexactly(length)
    return status


async def _load(
    port: int,
    path: str,
    bodies: list[bytes],
    n: int,
    concurrency: int,
    auth: str | None,
    max_seconds: float,
    method: str = "POST",
) -> tuple[list[float], Counter[str], float]:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        + (f"Authorization: Bearer {auth}\r\n" if auth else "")
        + "Content-Length: %d\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    counter = iter(range(n))
    stop_at = time.perf_counter() + max_seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in counter:
                if time.perf_counter() > stop_at:
                    return
                t0 = time.perf_counter()
                status = await _one(reader, writer, head, bodies[i % len(bodies)])
                latencies.append(time.perf_counter() - t0)
                statuses[str(status)] += 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, statuses, time.perf_counter() - t0


def run_load(
    name: str,
    setup: tuple[int | None, str | None],
    port: int,
    path: str,
    bodies: list[bytes],
    *,
    n: int,
    warmup: int,
    concurrency: int,
    auth: str | None = None,
    max_seconds: float = 120,
    method: str = "POST",
    server_pid: int | None = None,
) -> Result:
    asyncio.run(_load(port, path, bodies[:warmup] or bodies, warmup, concurrency, auth, max_seconds, method))
    cpu_before = cpu_seconds(server_pid) if server_pid is not None else None
    latencies, statuses, seconds = asyncio.run(
        _load(port, path, bodies[warmup:] or bodies, n, concurrency, auth, max_seconds, method)
    )
    cpu_after = cpu_seconds(server_pid) if server_pid is not None else None
    cpu_ms = (
        round((cpu_after - cpu_before) * 1000 / len(latencies), 2)
        if cpu_before is not None and cpu_after is not None
        else None
    )
    q = statistics.quantiles([x * 1000 for x in latencies], n=100)
    return Result(
        name,
        *setup,
        len(latencies),
        concurrency,
        round(seconds, 2),
        round(len(latencies) / seconds, 1),
        round(q[49], 2),
        round(q[94], 2),
        round(q[98], 2),
        dict(statuses),
        cpu_ms,
    )


# ---- the servers --------------------------------------------------------------------------------


def wait_ready(proc: subprocess.Popen, url: str, log: Path, seconds: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}); log: {log}\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"server not ready after {seconds} s; log: {log}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_risk_serve(env: dict[str, str], port: int, log: Path, workers: int = 1) -> subprocess.Popen:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--port", str(port), "--workers", str(workers)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        )
    wait_ready(proc, f"http://127.0.0.1:{port}/health/ready", log)
    return proc


def start_mlflow_serve(env: dict[str, str], port: int, uri: str, log: Path) -> subprocess.Popen:
    mlflow = Path(sys.executable).with_name("mlflow")
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                str(mlflow),
                "models",
                "serve",
                "-m",
                uri,
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-w",
                "1",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    wait_ready(proc, f"http://127.0.0.1:{port}/ping", log)
    return proc


def make_key(database_url: str) -> str:
    from serving.auth import create_key
    from serving.db import make_engine, make_sessionmaker, upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        key, _ = create_key(session, role="intake", name="bench", area_code=None, now=datetime.now(UTC))
        session.commit()
    engine.dispose()
    return key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{ROOT / 'models' / 'mlflow.db'}",
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--mlflow-requests", type=int, default=600)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--cases", type=int, default=500, help="distinct demo cases to cycle through")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "api.json")
    args = parser.parse_args()

    from mlflow import MlflowClient

    version = (
        MlflowClient(args.tracking_uri).get_model_version_by_alias("dispute-escalation", "champion").version
    )
    uri = f"models:/dispute-escalation/{version}"
    cases = demo_cases(args.cases, seed=7)
    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    # mlflow models serve starts `uvicorn` by name: the venv's bin must be on PATH.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    # Both servers get one OpenMP thread (risk serve sets it itself; mlflow gets the same, to be fair).
    base_env = os.environ | {
        "PATH": path,
        "OMP_NUM_THREADS": "1",
        "MLFLOW_TRACKING_URI": args.tracking_uri,
        "RISK_MODEL_URI": uri,
        "RISK_LOG_LEVEL": "WARNING",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }
    results: list[Result] = []
    n_total = args.requests + args.warmup
    load_before = os.getloadavg()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}", flush=True)

    for name, queue_level, flag, workers, synchronous in PHASES:
        db = f"sqlite:///{tmp / (str(len(results)) + '.db')}"
        env = base_env | {
            "DATABASE_URL": db,
            "RISK_QUEUE_LEVEL": queue_level,
            "RISK_SQLITE_SYNCHRONOUS": synchronous,
        }
        key, port = make_key(db), free_port()
        proc = start_risk_serve(env, port, tmp / "risk-serve.log", workers)
        try:
            bodies = api_bodies(
                (cases * (n_total // len(cases) + 1))[:n_total], prefix="Q" if flag else "S", flag=flag
            )
            results.append(
                run_load(
                    name,
                    (workers, synchronous),
                    port,
                    "/v1/cases/score",
                    bodies,
                    n=args.requests,
                    warmup=args.warmup,
                    concurrency=args.concurrency,
                    auth=key,
                    server_pid=proc.pid,
                )
            )
        finally:
            stop(proc)
        print(results[-1], flush=True)

    port = free_port()
    proc = start_mlflow_serve(base_env, port, uri, tmp / "mlflow-serve.log")
    try:
        results.append(
            run_load(
                "mlflow models serve",
                (None, None),
                port,
                "/invocations",
                mlflow_bodies(cases),
                n=args.mlflow_requests,
                warmup=min(args.warmup, 50),
                concurrency=args.concurrency,
                server_pid=proc.pid,
            )
        )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    print(results[-1], flush=True)

    ours, reference = results[0], results[-1]
    load_after = os.getloadavg()
    summary = {
        "model_uri": uri,
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "results": [asdict(r) for r in results],
        "speedup_vs_mlflow": round(ours.throughput / reference.throughput, 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    print(
        f"\n{'phase':34} {'workers':>7} {'sync':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'CPU ms/req':>11}  statuses"
    )
    for r in results:
        cpu = f"{r.server_cpu_ms:11.2f}" if r.server_cpu_ms is not None else f"{'-':>11}"
        print(
            f"{r.name:34} {r.workers or '-':>7} {r.synchronous or '-':>6} {r.throughput:8.1f} {r.p50_ms:8.2f} "
            f"{r.p95_ms:8.2f} {r.p99_ms:8.2f} {cpu}  {r.statuses}"
        )
    print(
        f"\nload average before {' '.join(f'{x:.2f}' for x in load_before)}, "
        f"after {' '.join(f'{x:.2f}' for x in load_after)} ({os.cpu_count()} CPUs)"
    )
    print(
        f"\nsingle-case scoring: {summary['speedup_vs_mlflow']}x the throughput of mlflow models serve "
        f"at {args.concurrency} concurrent clients; results in {args.out}"
    )


if __name__ == "__main__":
    main()
