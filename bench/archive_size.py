"""ClickHouse storage per archived video, for sizing: synthetic 60 s videos written by the archive's own code.

``python -m bench.archive_size [--videos 5000]`` writes ``--videos`` synthetic ArchivedVideo records (60 s: 61
frames with PDQ, a title chunk, 10 transcript segments and 3 OCR lines of ~100 characters, each with a
TEXT_EMBEDDING_DIMS-wide embedding, a text and a topic embedding, 8 keywords) through ``Archive.write_videos`` into an
embedded archive of its own (chdb, in a temporary folder), merges the parts (OPTIMIZE FINAL) and prints each
table's compressed bytes on disk per video. Embeddings are random unit vectors: like real ones, they hardly
compress (LZ4 on float32). The enriched records (the enriched topic's Avro messages, ZSTD) are not included:
on the local stack they take ~0.5 KB per video.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from core.records import ArchivedFrame, ArchivedVideo
from core.text import TEXT_EMBEDDING_DIMS, TextChunk
from storage.archive import Archive
from telemetry.progress import progress

VIDEO_SECONDS = 60
TRANSCRIPT_SEGMENTS = 10
OCR_LINES = 3
BATCH = 500
WORDS = ("видео", "город", "музыка", "футбол", "кошка", "рецепт", "новости", "погода", "танец", "река", "game",
         "music", "street", "food", "travel", "sport")


def unit(rng: np.random.Generator) -> np.ndarray:
    vector = rng.normal(size=TEXT_EMBEDDING_DIMS).astype(np.float32)
    return vector / np.linalg.norm(vector)


def text(rng: np.random.Generator, words: int) -> str:
    return " ".join(rng.choice(WORDS, size=words).tolist())


def synthetic_video(rng: np.random.Generator, n: int) -> ArchivedVideo:
    chunks = [TextChunk("title", 0.0, VIDEO_SECONDS, text(rng, 12), unit(rng))]
    chunks += [TextChunk("transcript", 6.0 * k, 6.0 * k + 5.5, text(rng, 14), unit(rng))
               for k in range(TRANSCRIPT_SEGMENTS)]
    chunks += [TextChunk("ocr", 20.0 * k, 20.0 * k + 4.0, text(rng, 4), unit(rng)) for k in range(OCR_LINES)]
    frames = [ArchivedFrame(float(t), rng.bytes(32).hex(), int(rng.integers(50, 101)))
              for t in range(VIDEO_SECONDS + 1)]
    return ArchivedVideo(video_id=f"video-{n:09d}", features_version="size-bench", channel_id=f"channel-{n % 997}",
                         published_at=datetime(2026, 12, 1, tzinfo=UTC), duration_s=float(VIDEO_SECONDS),
                         title=chunks[0].text, verdict="UNIQUE", duplicate_of=None, text_embedding=unit(rng),
                         topic_embedding=unit(rng), keywords=text(rng, 8).split(), cluster_id=f"c{n % 50}",
                         frames=frames, chunks=chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=5000, help="synthetic 60 s videos to archive (default 5000)")
    args = parser.parse_args()
    rng = np.random.default_rng(22)
    with tempfile.TemporaryDirectory(prefix="archive-size-") as folder:
        archive = Archive(f"chdb://{Path(folder) / 'clickhouse'}")
        archive.create_schema()
        with progress(args.videos, "archived", "videos") as bar:
            for first in range(0, args.videos, BATCH):
                batch = [synthetic_video(rng, n) for n in range(first, min(first + BATCH, args.videos))]
                archive.write_videos(batch)
                bar.update(len(batch))
        with archive.session() as client:
            for table in (Archive.VIDEOS, Archive.FRAMES, Archive.CHUNKS):
                client.command(f"OPTIMIZE TABLE {table} FINAL")
        rows = archive.query(
            "SELECT table, sum(rows), sum(data_compressed_bytes), sum(data_uncompressed_bytes), sum(bytes_on_disk) "
            "FROM system.parts WHERE active AND database = currentDatabase() GROUP BY table ORDER BY table")
        print(f"\n{'table':14} {'rows/video':>10} {'compressed B/video':>18} {'raw B/video':>12} "
              f"{'on disk B/video':>16}")
        on_disk = 0
        for table, count, compressed, raw, disk in rows:
            on_disk += disk
            print(f"{table:14} {count / args.videos:10.1f} {compressed / args.videos:18,.0f} "
                  f"{raw / args.videos:12,.0f} {disk / args.videos:16,.0f}")
        per_video = on_disk / args.videos
        print(f"total on disk: {per_video / 1024:.1f} KiB per 60 s video; 10M videos ~ {per_video * 1e7 / 2**30:,.0f} "
              f"GiB, 100M ~ {per_video * 1e8 / 2**40:,.1f} TiB (before replication)")
        archive.close()


if __name__ == "__main__":
    main()
