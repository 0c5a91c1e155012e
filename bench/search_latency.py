"""Search latency at scale: top-20 through the real HTTP API over N indexed videos (synthetic, for scale).

``python -m bench.search_latency [--videos 100000] [--queries 200]``

Synthetic videos go through the production indexer (storage/search_index.py ``upsert_video``) into a Redis of
their own: per video a title chunk and CHUNKS_PER_VIDEO-1 transcript/OCR chunks, each with a 512-d unit vector
drawn around one of TOPICS topic centres (text embeddings cluster by topic; uniform random vectors would be
HNSW's worst case) and text of Zipf-distributed words from a VOCABULARY-word vocabulary (so frequent words have
long posting lists, as in real speech). Queries are real English phrases: embedded by a real tritonserver
(text_encoder only), keyword-searched with words of the vocabulary mixed in. The search API runs as its own
process (``python -m search``) and is called over HTTP by one client, as a browser would; the time is the
client's, from request to parsed JSON. Prints p50/p95/p99 for plain queries and with filters, and Redis memory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import httpx
import numpy as np

from bench.bench_stack import own_redis, own_triton
from bench.figures import percentile
from core.text import TEXT_EMBEDDING_DIMS, TextChunk
from settings import REPO_ROOT, Settings
from storage.search_index import SearchIndex, VideoCard
from telemetry.progress import track

REDIS_PORT_OFFSET = 330
TRITON_PORT = 18200
SEARCH_PORT_OFFSET = 30
CHUNKS_PER_VIDEO = 4
TOPICS = 2000
TOPIC_SPREAD = 0.35  # noise norm around a topic centre before renormalising (cosine to centre ~0.94)
VOCABULARY = 20_000
WORDS_PER_CHUNK = 14
CHANNELS = 500
QUERIES = ["how to bake bread at home", "goal in the last minute", "rocket launch countdown",
           "cat playing with a ball", "city bike ride at night", "piano concert in a small hall",
           "repairing a flat tyre", "street food market tour", "learning to surf big waves",
           "snow storm in the mountains"]


def synthetic_word(rank: int) -> str:
    """A pronounceable made-up word per vocabulary rank (letters only, so RediSearch indexes it as is)."""
    letters = "bcdfghjklmnprstvz"
    vowels = "aeiou"
    word, n = "", rank + 1
    while n:
        word += letters[n % len(letters)] + vowels[(n // len(letters)) % len(vowels)]
        n //= len(letters) * len(vowels)
    return word + "x"


def load(index: SearchIndex, videos: int, rng: np.random.Generator) -> float:
    centres = rng.standard_normal((TOPICS, TEXT_EMBEDDING_DIMS)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    words = np.array([synthetic_word(r) for r in range(VOCABULARY)])
    zipf = 1 / np.arange(1, VOCABULARY + 1)
    zipf /= zipf.sum()
    started = time.perf_counter()
    for v in track(range(videos), videos, "indexed", "videos"):
        topic = centres[rng.integers(TOPICS)]
        noise = rng.standard_normal((CHUNKS_PER_VIDEO, TEXT_EMBEDDING_DIMS)).astype(np.float32)
        vectors = topic + TOPIC_SPREAD * noise / np.sqrt(TEXT_EMBEDDING_DIMS)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        texts = [" ".join(rng.choice(words, WORDS_PER_CHUNK, p=zipf)) for _ in range(CHUNKS_PER_VIDEO)]
        chunks = [TextChunk("title" if k == 0 else ("transcript" if k % 2 else "ocr"), 5.0 * k, 5.0 * k + 4,
                            texts[k], vectors[k]) for k in range(CHUNKS_PER_VIDEO)]
        card = VideoCard(video_id=f"v{v:07d}", channel_id=f"ch{v % CHANNELS}",
                         published_at_ms=1_750_000_000_000 + v * 60_000, title=texts[0][:60], duration_s=60.0,
                         media_uri=f"synthetic/v{v}.mp4", verdict="UNIQUE")
        index.upsert_video(card, chunks)
    return time.perf_counter() - started


def wait_for_port(client: httpx.Client, url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if client.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"search API not up at {url}")


def measure(client: httpx.Client, base: str, queries: int, params: dict, rng: np.random.Generator) -> list[float]:
    words = [synthetic_word(r) for r in range(200)]
    times = []
    for n in range(queries):
        q = f"{QUERIES[n % len(QUERIES)]} {words[rng.integers(len(words))]}"
        started = time.perf_counter()
        response = client.get(f"{base}/api/search", params={"q": q, "page_size": 20, **params})
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
        response.json()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    cfg = Settings.from_env()
    rng = np.random.default_rng(5)
    with own_redis(cfg, REDIS_PORT_OFFSET) as redis_cfg, own_triton(redis_cfg, TRITON_PORT, ("text_encoder",)) as tcfg:
        index = SearchIndex(tcfg.redis_url, "bench_search")
        index.create()
        print(f"indexing {args.videos} synthetic videos x {CHUNKS_PER_VIDEO} chunks ...")
        seconds = load(index, args.videos, rng)
        memory = index.client.info("memory")["used_memory"] / 2**20
        print(f"indexed in {seconds:.0f} s; Redis used_memory {memory:.0f} MiB")
        port = tcfg.search_port + SEARCH_PORT_OFFSET
        env = {**os.environ, "REDIS_URL": tcfg.redis_url, "REDIS_SEARCH_INDEX": "bench_search",
               "TRITON_GRPC_URL": tcfg.triton_grpc_url, "SEARCH_PORT": str(port), "PYTHONPATH": str(REPO_ROOT)}
        api_log = tcfg.stack_dir / "search-api.log"
        print(f"search API on port {port}, log {api_log}")
        api = subprocess.Popen([sys.executable, "-m", "search"], env=env, stdout=subprocess.DEVNULL,
                               stderr=api_log.open("w"))
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(timeout=10) as client:
                wait_for_port(client, f"{base}/api/clusters", 60)
                measure(client, base, 20, {}, rng)  # warm-up
                cases = {"top-20": {}, "top-20, channel filter": {"channel": "ch7"},
                         "top-20, date range": {"from": "2025-06-20", "to": "2025-07-10"},
                         "page 3 of 20": {"page": 3}}
                print(f"\n{args.queries} queries per case, one client, {args.videos} videos "
                      f"({args.videos * CHUNKS_PER_VIDEO} chunks):")
                for name, params in cases.items():
                    times = measure(client, base, args.queries, params, rng)
                    print(f"  {name:<24} median {statistics.median(times):6.1f} ms  "
                          f"p95 {percentile(times, 0.95):6.1f} ms  p99 {percentile(times, 0.99):6.1f} ms")
        finally:
            api.terminate()
            api.wait(20)


if __name__ == "__main__":
    main()
