"""Benchmark: similar-clip search with pgvector HNSW, latency and recall@10.

Against a real Postgres 16 + pgvector (the embedded ``pgserver``, in a temporary folder):

1. makes ``--n`` (100,000) clustered unit vectors of dimension ``--dim`` (1280, as
   EfficientNet-Lite0): a few hundred clusters with skewed sizes and different spreads
   around a shared mean direction, so the geometry resembles real clip embeddings (unrelated
   clips have cosine ≈ 0.4, clips of one cluster ≈ 0.55–0.8; EfficientNet-Lite0 features are
   non-negative, so all of them share a direction);
2. loads them with binary ``COPY`` (asyncpg ``copy_records_to_table``, pgvector's asyncpg
   codec) into ``vector(dim)``, builds ``USING hnsw (embedding vector_cosine_ops)`` with
   ``m``/``ef_construction`` (pgvector's defaults 16/64) and reports the build time;
3. runs ``--queries`` (200) held-out query vectors from the same distribution through
   ``SELECT id … ORDER BY embedding <=> $1 LIMIT 10`` (one connection, prepared statement,
   one query at a time, timed around the round trip) for each ``hnsw.ef_search`` in
   ``--ef-search``, and compares each answer with the exact top 10 (numpy brute force over the
   same float32 vectors): recall@10 = |HNSW ∩ exact| / 10, averaged over the queries.

Prints one JSON line per result; the last line names the smallest ``ef_search`` meeting the
targets (p95 < 20 ms, recall@10 ≥ 0.95). Timing uses ``time.perf_counter``.

Usage::

    python bench/similar.py [--n 100000] [--dim 1280] [--queries 200] [--clusters 300]
                            [--m 16] [--ef-construction 64] [--ef-search 40,64,100,150,200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt
from pgvector.asyncpg import register_vector

TARGET_P95_MS = 20.0
TARGET_RECALL = 0.95
K = 10

Matrix = npt.NDArray[np.float32]


def emit(**fields: Any) -> None:
    """Print one JSON result line (flushed, so progress shows while the bench runs)."""
    print(json.dumps({"bench": "similar", **fields}), flush=True)


def _unit_rows(x: npt.NDArray[np.float64]) -> Matrix:
    unit: Matrix = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return unit


def make_data(
    n: int, n_queries: int, dim: int, n_clusters: int, seed: int
) -> tuple[Matrix, Matrix, dict[str, float]]:
    """Clustered unit vectors: ``(n, dim)`` table rows and ``(n_queries, dim)`` held-out queries.

    Centre k = unit(μ + 0.8·g_k), a point = unit(c_k + σ_k·h) with g, h ~ N(0, I/dim), μ a
    shared unit direction, σ_k ~ U(0.5, 0.9), cluster sizes ∝ log-normal(0, 1) draws.
    """
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=dim)
    mu /= np.linalg.norm(mu)
    centres = _unit_rows(mu + 0.8 * rng.normal(size=(n_clusters, dim)) / np.sqrt(dim))
    spread = rng.uniform(0.5, 0.9, size=n_clusters)
    weights = rng.lognormal(0.0, 1.0, size=n_clusters)
    weights /= weights.sum()

    def draw(count: int) -> Matrix:
        out = np.empty((count, dim), dtype=np.float32)
        labels = rng.choice(n_clusters, size=count, p=weights)
        for start in range(0, count, 10_000):
            lab = labels[start : start + 10_000]
            noise = rng.normal(size=(len(lab), dim)) / np.sqrt(dim)
            out[start : start + len(lab)] = _unit_rows(
                centres[lab].astype(np.float64) + spread[lab, None] * noise
            )
        return out

    data, queries = draw(n), draw(n_queries)
    sample = data[rng.choice(n, size=2000, replace=False)]
    cos = sample @ sample.T
    stats = {
        "cos_median_pairs": float(np.median(cos[np.triu_indices(len(sample), 1)])),
        "cos_query_to_10th_nearest_median": 0.0,
        "largest_cluster": int(np.bincount(rng.choice(n_clusters, size=n, p=weights)).max()),
    }
    return data, queries, stats


def exact_top_k(data: Matrix, queries: Matrix, k: int) -> tuple[npt.NDArray[np.int64], Matrix]:
    """Exact cosine top-k ids (0-based rows) and their similarities, by brute force."""
    sims = queries @ data.T  # unit rows: cosine similarity
    top = np.argpartition(-sims, k, axis=1)[:, :k]
    top_sims = np.take_along_axis(sims, top, axis=1)
    order = np.argsort(-top_sims, axis=1)
    ids: npt.NDArray[np.int64] = np.take_along_axis(top, order, axis=1).astype(np.int64)
    return ids, np.take_along_axis(top_sims, order, axis=1)


async def run(args: argparse.Namespace, uri: str) -> None:
    t0 = time.perf_counter()
    data, queries, stats = make_data(args.n, args.queries, args.dim, args.clusters, args.seed)
    exact, exact_sims = exact_top_k(data, queries, K)
    stats["cos_query_to_10th_nearest_median"] = float(np.median(exact_sims[:, -1]))
    stats["cos_query_to_nearest_median"] = float(np.median(exact_sims[:, 0]))
    emit(
        phase="data",
        n=args.n,
        dim=args.dim,
        clusters=args.clusters,
        queries=args.queries,
        seconds=round(time.perf_counter() - t0, 2),
        **{k: round(v, 3) for k, v in stats.items()},
    )

    conn = await asyncpg.connect(uri)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        await register_vector(conn)
        version = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname='vector'")
        await conn.execute("DROP TABLE IF EXISTS bench_embeddings")
        await conn.execute(
            f"CREATE TABLE bench_embeddings (id integer PRIMARY KEY, embedding vector({args.dim}) NOT NULL)"
        )
        t0 = time.perf_counter()
        batch = 5_000
        for start in range(0, args.n, batch):
            records = [(start + i, vec) for i, vec in enumerate(data[start : start + batch])]
            await conn.copy_records_to_table(
                "bench_embeddings", records=records, columns=["id", "embedding"]
            )
        load_s = time.perf_counter() - t0
        await conn.execute("VACUUM ANALYZE bench_embeddings")
        emit(
            phase="load",
            rows=args.n,
            seconds=round(load_s, 2),
            rows_per_second=round(args.n / load_s),
            table_mb=round(
                await conn.fetchval("SELECT pg_total_relation_size('bench_embeddings')") / 2**20
            ),
            pgvector=version,
        )

        workers = max(0, (os.cpu_count() or 1) - 1)
        await conn.execute(f"SET maintenance_work_mem = '{args.maintenance_work_mem}'")
        await conn.execute(f"SET max_parallel_maintenance_workers = {workers}")
        t0 = time.perf_counter()
        await conn.execute(
            "CREATE INDEX bench_embeddings_hnsw ON bench_embeddings "
            "USING hnsw (embedding vector_cosine_ops) "
            f"WITH (m = {args.m}, ef_construction = {args.ef_construction})"
        )
        build_s = time.perf_counter() - t0
        emit(
            phase="index_build",
            m=args.m,
            ef_construction=args.ef_construction,
            seconds=round(build_s, 1),
            parallel_workers=workers,
            maintenance_work_mem=args.maintenance_work_mem,
            index_mb=round(
                await conn.fetchval("SELECT pg_relation_size('bench_embeddings_hnsw')") / 2**20
            ),
        )

        stmt = await conn.prepare(
            "SELECT id FROM bench_embeddings ORDER BY embedding <=> $1 LIMIT 10"
        )
        plan = "\n".join(
            r[0]
            for r in await conn.fetch(
                "EXPLAIN SELECT id FROM bench_embeddings ORDER BY embedding <=> $1 LIMIT 10",
                queries[0],
            )
        )
        if "bench_embeddings_hnsw" not in plan:
            raise SystemExit(f"the query does not use the HNSW index: {plan}")

        # warm the index into the page cache once (a server that has been up is warm too)
        await conn.execute("SET hnsw.ef_search = 40")
        for q in queries[: min(50, len(queries))]:
            await stmt.fetch(q)

        results: list[dict[str, Any]] = []
        for ef in args.ef_search:
            await conn.execute(f"SET hnsw.ef_search = {ef}")
            latencies: list[float] = []
            recalls: list[float] = []
            for qi, q in enumerate(queries):
                t = time.perf_counter()
                rows = await stmt.fetch(q)
                latencies.append((time.perf_counter() - t) * 1000.0)
                got = {r["id"] for r in rows}
                recalls.append(len(got & set(exact[qi].tolist())) / K)
            quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
            result = {
                "phase": "query",
                "ef_search": ef,
                "queries": len(queries),
                "p50_ms": round(statistics.median(latencies), 2),
                "p95_ms": round(quantiles[94], 2),
                "p99_ms": round(quantiles[98], 2),
                "mean_ms": round(statistics.fmean(latencies), 2),
                "recall_at_10": round(statistics.fmean(recalls), 4),
                "recall_at_10_min": round(min(recalls), 2),
            }
            result["meets_targets"] = (
                result["p95_ms"] < TARGET_P95_MS and result["recall_at_10"] >= TARGET_RECALL
            )
            results.append(result)
            emit(**result)

        # context: the same query without the index (exact, sequential scan), a few times
        await conn.execute("SET enable_indexscan = off")
        exact_sql = "SELECT id FROM bench_embeddings ORDER BY embedding <=> $1 LIMIT 10 -- exact"
        exact_plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {exact_sql}", queries[0]))
        assert "hnsw" not in exact_plan, exact_plan
        exact_ms = []
        for qi, q in enumerate(queries[:5]):
            t = time.perf_counter()
            rows = await conn.fetch(exact_sql, q)
            exact_ms.append((time.perf_counter() - t) * 1000.0)
            assert len({r["id"] for r in rows} & set(exact[qi].tolist())) >= 9
        await conn.execute("RESET enable_indexscan")
        emit(phase="exact_scan", queries=5, median_ms=round(statistics.median(exact_ms), 1))

        ok = [r for r in results if r["meets_targets"]]
        chosen = min(ok, key=lambda r: int(r["ef_search"])) if ok else None
        emit(
            phase="choice",
            target_p95_ms=TARGET_P95_MS,
            target_recall_at_10=TARGET_RECALL,
            ef_search=chosen["ef_search"] if chosen else None,
            p95_ms=chosen["p95_ms"] if chosen else None,
            recall_at_10=chosen["recall_at_10"] if chosen else None,
            meets_targets=chosen is not None,
            loadavg_1m=round(os.getloadavg()[0], 2),
        )
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--clusters", type=int, default=300)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=64)
    parser.add_argument(
        "--ef-search",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[40, 64, 100, 150, 200],
        help="comma-separated hnsw.ef_search values to try (pgvector's default is 40)",
    )
    parser.add_argument(
        "--maintenance-work-mem",
        default="2GB",
        help="for the build: the graph must fit (≈ n × (4·dim + 8·m·2) bytes) or it is slow",
    )
    args = parser.parse_args()

    import pgserver

    from heaters.db.embedded import clear_dead_holders

    started = time.perf_counter()
    # not under /tmp/pytest-*: Postgres runs as the `pgserver` user when we are root
    pgdata = Path(tempfile.mkdtemp(prefix="heaters-bench-pg-"))
    clear_dead_holders(pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        asyncio.run(run(args, server.get_uri()))
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)
    emit(phase="total", seconds=round(time.perf_counter() - started, 1))


if __name__ == "__main__":
    main()
