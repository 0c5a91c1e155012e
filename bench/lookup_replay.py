"""Time this version's copy detector on the lookups a held ``bench.lookup_latency --hold-s`` run saved, against the
index it holds: two versions timed on one loaded index, back to back (loading 1M vectors takes ~20 minutes).

Usage, from a checkout of the version to compare, while the other version's run holds its index:
``python -m bench.lookup_replay REDIS_URL STACK_DIR/bench/lookup_queries.npz [--label NAME]``. Only the parts every
version stores (frame times, quality, hashes, chromaprint) are saved; the turned views of a saved lookup are the
synthetic ones lookup_latency makes (random bits), rebuilt here from a fixed seed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bench.lookup_latency import time_lookups
from core.signature import TURNS, CopySignature
from pipeline.copy_detection import CopyDetector
from settings import Settings
from storage.copy_index import CopyIndex


def saved_lookups(path: Path) -> list[tuple[str, CopySignature, CopySignature]]:
    """(id of the stored video copied, its noisy copy, an unseen video) per saved lookup."""
    saved = np.load(path)
    rng = np.random.default_rng(24)

    def signature(kind: str, n: int, index_frames: np.ndarray) -> CopySignature:
        bits = saved[f"{kind}_bits"][n]
        frames = bits.shape[1]
        return CopySignature(
            times_s=saved[f"{kind}_times_s"][n], cuts=np.zeros(frames, bool), quality=saved[f"{kind}_quality"][n],
            bits=bits, turned_bits=rng.integers(0, 256, size=(len(TURNS), frames, 32), dtype=np.uint8),
            tile_bits=np.zeros((0, frames, 32), np.uint8), index_frames=index_frames.tolist(),
            audio_fingerprint=saved[f"{kind}_audio_fingerprint"][n], duration_s=float(frames))

    return [(str(video_id), signature("copy", n, saved["index_frames"][n][0]),
             signature("unseen", n, saved["index_frames"][n][1])) for n, video_id in enumerate(saved["video_ids"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("redis_url")
    parser.add_argument("queries", type=Path)
    parser.add_argument("--label", default="this version")
    args = parser.parse_args()
    detector = CopyDetector(CopyIndex(args.redis_url, "latency_bench"), Settings.from_env())
    time_lookups(detector, saved_lookups(args.queries), args.label)


if __name__ == "__main__":
    main()
