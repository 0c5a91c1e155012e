"""Each real server of the local stack, exercised through the project's own client code."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from inference.errors import InferenceError
from inference.triton_client import TritonModels
from local_stack.__main__ import status
from settings import Settings
from storage.archive import Archive, ArchiveRecord
from storage.frame_index import FrameIndex


def test_all_servers_healthy(stack: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert status(stack)
    out = capsys.readouterr().out
    for name in ("kafka", "redis", "triton"):
        assert f"{name:8s} healthy" in out


def test_text_encoder_ranks_paraphrase_above_unrelated(stack: Settings) -> None:
    async def embed() -> np.ndarray:
        models = TritonModels(stack)
        try:
            return await models.embed_texts([
                "a cat is sleeping on the sofa", "a kitten naps on the couch", "the stock market fell sharply"])
        finally:
            await models.close()

    vectors = asyncio.run(embed())
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


def test_triton_down_gives_clear_error_after_retries(stack: Settings) -> None:
    unreachable = replace(stack, triton_grpc_url="127.0.0.1:1", triton_retries=2, triton_timeout_s=1)

    async def embed() -> None:
        models = TritonModels(unreachable)
        try:
            await models.embed_texts(["hello"])
        finally:
            await models.close()

    with pytest.raises(InferenceError, match="failed after 3 attempts") as err:
        asyncio.run(embed())
    assert err.value.kind == "inference_unavailable"


def _signed(bits: np.ndarray) -> np.ndarray:
    return np.where(bits, 1.0, -1.0).astype(np.float32)


def test_frame_index_finds_near_frames_of_other_videos(stack: Settings) -> None:
    index = FrameIndex(stack.redis_url, "frames_unit_test")
    index.index.create(overwrite=True, drop=True)
    try:
        rng = np.random.default_rng(7)
        bits = rng.random((4, 256)) > 0.5
        index.upsert_video("ref", 1000, [0.0, 1.0, 2.0, 3.0], [_signed(b) for b in bits])
        index.upsert_video("ref", 1000, [0.0, 1.0, 2.0, 3.0], [_signed(b) for b in bits])  # replay: no new docs
        assert index.index.info()["num_docs"] == 4
        near = bits.copy()
        near[:, :12] ^= True  # Hamming distance 12
        far = rng.random((1, 256)) > 0.5
        found = index.nearest([_signed(b) for b in near] + [_signed(far[0])], "query", k=5, max_hamming=31)
        assert sorted((f.query_frame, f.frame_index, f.hamming) for f in found) == [
            (0, 0, 12), (1, 1, 12), (2, 2, 12), (3, 3, 12)]
        assert index.nearest([_signed(b) for b in bits], "ref", k=5, max_hamming=31) == []  # never itself
    finally:
        index.index.delete(drop=True)


def test_archive_is_idempotent(tmp_path: Path) -> None:
    archive = Archive(f"chdb://{tmp_path / 'ch'}")
    archive.create_schema()
    record = ArchiveRecord(
        video_id="v1", features_version="test", channel_id="c", published_at=datetime(2026, 1, 1, tzinfo=UTC),
        duration_s=3.0, title="t", verdict="UNIQUE", duplicate_of=None, text_embedding=np.ones(384, np.float32),
        frame_times_s=[0.0, 1.0, 2.0], frame_pdq_hex=["ab" * 32] * 3, frame_pdq_quality=[90, 90, 90])
    assert archive.archive(record) is True
    assert archive.archive(record) is False
    assert archive.counts() == {"videos": 1, "video_frames": 3}
    stored = archive.client.query("SELECT text_embedding FROM videos").result_rows[0][0]
    assert len(stored) == 384 and stored[0] == 1.0
    archive.close()
