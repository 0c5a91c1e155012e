"""Redis memory per indexed frame vector in the layouts the copy index could use, in a real Redis Stack.

``python -m bench.index_layouts [--videos 2000]`` loads ``--videos`` synthetic videos of 12 frame vectors each
into one layout at a time and prints Redis ``used_memory`` per vector and per video:

- a hash per vector holding only the vector (the copy index's layout), at 256 dimensions (PDQ's +-1 values), 128
  and 64 (projections, core/bits.index_vectors), with HNSW M=16 (the index's) and M=8;
- the same 128-d hashes without any index (what Redis alone costs) and with a FLAT index (what RediSearch's
  document and vector copy cost before the HNSW graph);
- one JSON document per video with the 12 vectors in one multi-value vector field (``$.pdq[*]``), which shares
  the key and document overhead of a video's vectors.

Random vectors stand in for PDQ projections: memory does not depend on the values.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass

import numpy as np
from redis import Redis

from bench.bench_stack import own_redis
from settings import Settings

REDIS_PORT_OFFSET = 360
VECTORS_PER_VIDEO = 12
SETTLE_S = 1.0  # for used_memory to include freed client buffers


@dataclass(frozen=True)
class Layout:
    name: str
    storage: str  # "hash" or "json"
    dims: int
    algorithm: str | None  # "HNSW", "FLAT" or None (no index)
    m: int = 16


LAYOUTS = (
    Layout("hash per vector, 256-d, HNSW M=16 (before issue 22)", "hash", 256, "HNSW"),
    Layout("hash per vector, 128-d, HNSW M=16 (the copy index)", "hash", 128, "HNSW"),
    Layout("hash per vector, 128-d, HNSW M=8", "hash", 128, "HNSW", m=8),
    Layout("hash per vector, 64-d, HNSW M=16", "hash", 64, "HNSW"),
    Layout("hash per vector, 128-d, FLAT index", "hash", 128, "FLAT"),
    Layout("hash per vector, 128-d, no index", "hash", 128, None),
    Layout("JSON per video, 12 x 128-d multi-value, HNSW M=16", "json", 128, "HNSW"),
    Layout("JSON per video, 12 x 64-d multi-value, HNSW M=16", "json", 64, "HNSW"),
)


def create(client: Redis, layout: Layout) -> None:
    if layout.algorithm is None:
        return
    params = ["TYPE", "FLOAT16", "DIM", layout.dims, "DISTANCE_METRIC", "L2"]
    if layout.algorithm == "HNSW":
        params += ["M", layout.m]
    field = ["$.pdq[*]", "AS", "pdq"] if layout.storage == "json" else ["pdq"]
    client.execute_command("FT.CREATE", "layout", "ON", layout.storage.upper(), "PREFIX", 1, "v:", "SCHEMA",
                           *field, "VECTOR", layout.algorithm, len(params), *params)


def load(client: Redis, layout: Layout, videos: int, rng: np.random.Generator) -> None:
    pipe = client.pipeline(transaction=False)
    for video in range(videos):
        vectors = rng.normal(size=(VECTORS_PER_VIDEO, layout.dims)).astype(np.float16)
        if layout.storage == "json":
            pipe.execute_command("JSON.SET", f"v:{video}", "$", json.dumps({"pdq": vectors.tolist()}))
        else:
            for frame, vector in enumerate(vectors):
                pipe.hset(f"v:{video}:{frame}", "pdq", vector.tobytes())
        if video % 100 == 99:
            pipe.execute()
    pipe.execute()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=2000, help="videos of 12 vectors per layout (default 2000)")
    args = parser.parse_args()
    rng = np.random.default_rng(22)
    with own_redis(Settings.from_env(), REDIS_PORT_OFFSET) as cfg:
        client = Redis.from_url(cfg.redis_url)
        client.config_set("appendonly", "no")
        print(f"\n{'layout':55} {'bytes/vector':>12} {'KiB/12 vectors':>14}  "
              f"({args.videos} videos x {VECTORS_PER_VIDEO} vectors)")
        for layout in LAYOUTS:
            client.flushall()
            time.sleep(SETTLE_S)
            create(client, layout)
            before = int(client.info("memory")["used_memory"])
            load(client, layout, args.videos, rng)
            time.sleep(SETTLE_S)
            used = int(client.info("memory")["used_memory"]) - before
            per_vector = used / (args.videos * VECTORS_PER_VIDEO)
            print(f"{layout.name:55} {per_vector:12,.0f} {used / args.videos / 1024:14.1f}", flush=True)
            if layout.algorithm is not None:
                client.execute_command("FT.DROPINDEX", "layout")
        for datatype in ("INT8", "UINT8"):
            try:
                client.execute_command("FT.CREATE", "small", "SCHEMA", "pdq", "VECTOR", "HNSW", 6, "TYPE", datatype,
                                       "DIM", 128, "DISTANCE_METRIC", "L2")
                print(f"{datatype} vectors: supported by this RediSearch")
            except Exception as error:  # noqa: BLE001 - the server's refusal is the answer
                print(f"{datatype} vectors: not supported by this RediSearch ({error})")


if __name__ == "__main__":
    main()
