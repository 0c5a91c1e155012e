"""Copy-lookup latency, index memory and load rate at scale, with synthetic signatures in a real Redis.

``python -m bench.lookup_latency [--vectors 1000000 3000000 10000000]`` loads synthetic 60 s videos (one frame
per second, INDEX_FRAMES_MAX index frames x the framings of INDEX_FRAMINGS stored as KNN vectors, random PDQ
bits without black bars, random chromaprint) in batched pipelines (``CopyIndex.upsert_many``), and each time the
KNN index holds one of ``--vectors`` frame vectors: prints Redis memory per indexed video, the load rate, and
times the production detector (KNN candidates + verification + audio check) on noisy copies of stored videos
and on unseen videos, for each combination of HNSW ef_runtime and frames looked up per video: median/p95/p99
and how many copies were found. Uniformly random PDQ bits are the hardest case for HNSW (no structure to
navigate), so the share of copies found is a floor for real video. The bench's Redis runs without its
append-only file (a rewrite forks a copy-on-write child of a many-GiB process), so the load rate is the index's.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from dataclasses import replace

import numpy as np

from bench.bench_stack import own_redis
from bench.figures import percentile
from core.bits import INDEX_VECTOR_DIMS, thin
from core.signature import FRAMINGS, SECONDS_PER_SUBFINGERPRINT, TURNS, WHOLE_FRAME, CopySignature
from pipeline.copy_detection import CopyDetector
from settings import Settings
from storage.copy_index import CopyIndex
from telemetry.progress import progress

REDIS_PORT_OFFSET = 310
VIDEO_SECONDS = 60
TARGET_P99_MS = 20.0
TARGET_P99_1M_MS = 10.0
TARGET_VIDEOS = 10_000_000
BATCH_VIDEOS = 50  # videos per pipelined write
KEEP_EVERY = 25  # of each batch, every so many videos is kept to be copied by a query


def synthetic_signature(rng: np.random.Generator, index_frames: int) -> CopySignature:
    frames = VIDEO_SECONDS
    bits = rng.integers(0, 256, size=(FRAMINGS, frames, 32), dtype=np.uint8)
    bits[WHOLE_FRAME] = bits[0]  # no black bars, like most videos
    chosen = sorted(rng.choice(frames, size=index_frames, replace=False).tolist())
    audio = rng.integers(-2**31, 2**31 - 1, size=int(frames / SECONDS_PER_SUBFINGERPRINT), dtype=np.int64)
    return CopySignature(times_s=np.arange(frames, dtype=np.float32), cuts=np.zeros(frames, bool),
                         quality=np.full(frames, 100, np.int16),
                         bits=bits, turned_bits=rng.integers(0, 256, size=(len(TURNS), frames, 32), dtype=np.uint8),
                         tile_bits=np.zeros((0, frames, 32), np.uint8), index_frames=chosen,
                         audio_fingerprint=audio.astype(np.int32), duration_s=float(frames))


def noisy_copy(rng: np.random.Generator, original: CopySignature, flipped_bits: int) -> CopySignature:
    """The original's whole-picture hashes with ``flipped_bits`` random bits changed per frame, same audio."""
    unpacked = np.unpackbits(original.bits[0], axis=1)
    for row in unpacked:
        row[rng.choice(256, size=flipped_bits, replace=False)] ^= 1
    bits = original.bits.copy()
    bits[0] = bits[WHOLE_FRAME] = np.packbits(unpacked, axis=1)
    return CopySignature(times_s=original.times_s, cuts=original.cuts, quality=original.quality, bits=bits,
                         turned_bits=original.turned_bits, tile_bits=original.tile_bits,
                         index_frames=original.index_frames,
                         audio_fingerprint=original.audio_fingerprint, duration_s=original.duration_s)


def with_tiles(rng: np.random.Generator, signature: CopySignature, tiles: int) -> CopySignature:
    """The signature with ``tiles`` tiles of random hashes (a split picture whose tiles copy nothing)."""
    frames = len(signature.times_s)
    return replace(signature, tile_bits=rng.integers(0, 256, size=(tiles, frames, 32), dtype=np.uint8))


def hold(index: CopyIndex, cfg: Settings, queries: list[tuple[str, CopySignature, CopySignature]],
         seconds: float) -> None:
    """Save the queries' stored parts (what any version's signature has) and keep Redis up for ``seconds``."""
    path = cfg.stack_dir.parent / "lookup_queries.npz"
    parts = {f"{kind}_{field}": np.stack([getattr(q[1 if kind == "copy" else 2], field) for q in queries])
             for kind in ("copy", "unseen") for field in ("times_s", "quality", "bits", "audio_fingerprint")}
    index_frames = np.array([[q[1].index_frames, q[2].index_frames] for q in queries])
    np.savez(path, video_ids=np.array([q[0] for q in queries]), index_frames=index_frames, **parts)
    print(f"holding {cfg.redis_url} (index {index.name}) for {seconds:.0f} s; queries in {path}", flush=True)
    time.sleep(seconds)


def used_memory(index: CopyIndex) -> int:
    return int(index.client.info("memory")["used_memory"])


def cfg_default(name: str) -> int:
    return int(getattr(Settings.from_env(), name))


def time_lookups(detector: CopyDetector, queries: list[tuple[str, CopySignature, CopySignature]], label: str,
                 target_p99_ms: float = TARGET_P99_MS) -> None:
    copy_ms, unseen_ms, found = [], [], 0
    published = 10_000_000_000
    for n, (video_id, copy, unseen) in enumerate(queries):
        t0 = time.perf_counter()
        found += detector.detect(f"copy-{n}", published + n, copy).duplicate_of == video_id
        copy_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        detector.detect(f"unseen-{n}", published + n, unseen)
        unseen_ms.append((time.perf_counter() - t0) * 1000)
    every = copy_ms + unseen_ms
    print(f"  {label}: all median {statistics.median(every):5.2f} ms  p95 {percentile(every, 0.95):5.2f}  "
          f"p99 {percentile(every, 0.99):5.2f} ({'met' if percentile(every, 0.99) <= target_p99_ms else 'MISSED'} "
          f"<= {target_p99_ms:.0f}); "
          f"copies p99 {percentile(copy_ms, 0.99):5.2f}, unseen p99 {percentile(unseen_ms, 0.99):5.2f}; "
          f"copies found {found}/{len(copy_ms)}")


def time_all(index: CopyIndex, cfg: Settings, args: argparse.Namespace, rng: np.random.Generator,
             queries: list[tuple[str, CopySignature, CopySignature]], target_p99_ms: float) -> None:
    """Time the detector on ``queries`` at every combination of the arguments' settings."""
    print(f"lookups (KNN for N frames as shown + mirrored, T frames turned the 6 other ways when nothing upright "
          f"verifies, N frames of each tile; verification, audio check), {2 * len(queries)} each; "
          f"target p99 <= {TARGET_P99_MS} ms at 10M, <= {TARGET_P99_1M_MS} ms at 1M")
    for tiles in args.tiles:
        tiled = [(video_id, with_tiles(rng, copy, tiles), with_tiles(rng, unseen, tiles))
                 for video_id, copy, unseen in queries]
        for ef_runtime, query_frames, turned_frames, turned_ef in itertools.product(
                args.ef_runtime, args.query_frames, args.turned_frames, args.turned_ef_runtime):
            if turned_frames == 0 and turned_ef != args.turned_ef_runtime[0]:
                continue  # no turned lookups: their breadth does not matter
            detector = CopyDetector(index, cfg.replace(
                knn_ef_runtime=ef_runtime, query_frames_max=query_frames, turned_query_frames=turned_frames,
                turned_ef_runtime=turned_ef))
            time_lookups(detector, tiled, f"ef_runtime {ef_runtime:3d}, N={query_frames}, T={turned_frames} "
                                          f"at ef {turned_ef:3d}, tiles {tiles}", target_p99_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", type=int, nargs="+", default=[1_000_000],
                        help="index sizes in frame vectors to measure at, loading on from one to the next (default 1M)")
    parser.add_argument("--queries", type=int, default=300, help="lookups to time (half copies, half unseen)")
    parser.add_argument("--ef-runtime", type=int, nargs="+", default=[cfg_default("knn_ef_runtime")],
                        help="HNSW ef_runtime values to try (default KNN_EF_RUNTIME)")
    parser.add_argument("--query-frames", type=int, nargs="+", default=[cfg_default("query_frames_max")],
                        help="frames looked up per video to try (default QUERY_FRAMES_MAX)")
    parser.add_argument("--turned-frames", type=int, nargs="+", default=[cfg_default("turned_query_frames")],
                        help="frames also looked up turned (rotated, flipped, transposed) to try; 0 = none "
                             "(default TURNED_QUERY_FRAMES)")
    parser.add_argument("--turned-ef-runtime", type=int, nargs="+", default=[cfg_default("turned_ef_runtime")],
                        help="HNSW ef_runtime values for the turned lookups to try (default TURNED_EF_RUNTIME)")
    parser.add_argument("--tiles", type=int, nargs="+", default=[0],
                        help="tiles per query video to try (a grid or split screen: each tile is a view)")
    parser.add_argument("--hold-s", type=float, default=0.0,
                        help="at the last size, keep the loaded Redis up this long, with the queries saved to "
                             "STACK_DIR/bench/lookup_queries.npz, for another version's detector to be timed on the "
                             "same index (see bench/lookup_replay.py), and time the defaults again after it")
    args = parser.parse_args()
    cfg = Settings.from_env()
    rng = np.random.default_rng(2026)
    with own_redis(cfg, REDIS_PORT_OFFSET) as bench_cfg:
        index = CopyIndex(bench_cfg.redis_url, "latency_bench")
        index.client.config_set("appendonly", "no")
        index.create()
        empty = used_memory(index)
        kept: list[tuple[str, CopySignature]] = []
        videos, load_s = 0, 0.0
        for target in sorted(args.vectors):
            loaded = index.vector_count()
            with progress(target - loaded, f"loading to {target:,}", "vectors") as bar:
                while loaded < target:
                    batch = [(f"v{n}", 1_000_000 + n, synthetic_signature(rng, cfg.index_frames_max))
                             for n in range(videos, videos + BATCH_VIDEOS)]
                    started = time.perf_counter()
                    index.upsert_many(batch)
                    load_s += time.perf_counter() - started
                    kept += [(video_id, signature) for video_id, _, signature in batch[::KEEP_EVERY]]
                    videos += len(batch)
                    count = index.vector_count()
                    bar.update(count - loaded)
                    loaded = count
            memory = used_memory(index) - empty
            print(f"\nindex: {loaded:,} frame vectors of {videos:,} videos ({loaded / videos:.0f} per video), "
                  f"{INDEX_VECTOR_DIMS}-d float16 HNSW; loaded at {loaded / load_s:,.0f} vectors/s "
                  f"({videos / load_s:,.0f} videos/s, Redis time of the batched writes)")
            print(f"memory: {memory / 2**20:,.0f} MiB = {memory / videos / 1024:.1f} KiB per video (vectors, HNSW "
                  f"graph, signature); {TARGET_VIDEOS:,} videos ~ {memory / videos * TARGET_VIDEOS / 2**30:,.0f} GiB")
            spread = thin(list(range(len(kept))), args.queries // 2)
            queries = [(kept[k][0], noisy_copy(rng, kept[k][1], flipped_bits=16),
                        synthetic_signature(rng, cfg.index_frames_max)) for k in spread]
            time_all(index, bench_cfg, args, rng, queries,
                     TARGET_P99_1M_MS if target <= 1_000_000 else TARGET_P99_MS)
        if args.hold_s:
            hold(index, bench_cfg, queries, args.hold_s)
            time_lookups(CopyDetector(index, bench_cfg), queries, "defaults again, after the hold")
        index.index.delete(drop=True)


if __name__ == "__main__":
    main()
