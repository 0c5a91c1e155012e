"""Each real server of the local stack, exercised through the project's own client code."""

from __future__ import annotations

import asyncio
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
import pytest
import tritonclient.grpc
from redis import Redis
from redis.exceptions import AuthenticationError
from redisvl.index import SearchIndex as RedisVLIndex
from tritonclient.utils import InferenceServerException

from core.errors import ServiceUnavailable
from core.records import ArchivedFrame, ArchivedVideo, PersonSeen
from core.signature import FRAMINGS, INDEX_FRAMINGS, TURNS, WHOLE_FRAME, CopySignature
from core.text import TEXT_EMBEDDING_DIMS, TextChunk
from inference.triton_client import API_KEY_HEADER, GRPC_API_KEY_HEADER, REQUIRED_MODELS, TritonModels
from local_stack.__main__ import status
from settings import REPO_ROOT, Settings
from storage.archive import Archive
from storage.cluster_index import ClusterIndex, cluster_schema
from storage.copy_index import CopyIndex, copy_index_schema
from storage.index_layout import IndexSchemaError
from storage.search_index import EnrichmentSummary, SearchFilters, SearchIndex, VideoCard, chunk_schema


def test_all_servers_healthy(stack: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert status(stack)
    out = capsys.readouterr().out
    for name in ("kafka", "redis", "triton"):
        assert f"{name:13s} healthy" in out


def test_redis_needs_its_password_and_listens_on_loopback_only(stack: Settings) -> None:
    """The test suite runs the default stack: no REDIS_PASSWORD given (tests/conftest.py), so settings.py made one on
    first use, in a file only its owner may read; Redis requires it, and every stack test, worker, job and the
    search API reach it with the credentials of the default REDIS_URL. A client without them is refused."""
    secret = stack.stack_dir / "secrets" / "redis-password"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and stat.S_IMODE(secret.parent.stat().st_mode) == 0o700
    assert stack.redis_password == secret.read_text() and len(stack.redis_password) >= 32
    assert f":{quote(stack.redis_password, safe='')}@" in stack.redis_url
    assert Settings.from_env().redis_password == stack.redis_password  # every process reads the same one
    with pytest.raises(AuthenticationError):
        Redis(port=stack.redis_port).ping()
    with pytest.raises(AuthenticationError):
        Redis(port=stack.redis_port, password="not-the-password").ping()
    client = Redis.from_url(stack.redis_url)
    assert client.ping() and client.config_get("bind") == {"bind": "127.0.0.1"}
    assert client.execute_command("FT._LIST") is not None  # the health check's command


def test_triton_admin_apis_need_the_key(stack: Settings) -> None:
    """The local tritonserver's model-repository, logging, trace and shared-memory APIs need TRITON_API_KEY (made on
    first use, owner-only, like Redis's password): without it changing the log settings (Triton had accepted any
    POST /v2/logging), unloading a model or reading the repository index is refused, over HTTP and gRPC. Health
    and inference stay open to local clients; the project's own clients send the key for the index."""
    secret = stack.stack_dir / "secrets" / "triton-api-key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and stack.triton_api_key == secret.read_text()
    base = f"http://{stack.triton_http_url}"
    refused = {path: httpx.post(base + path, json=body, timeout=10) for path, body in [
        ("/v2/logging", {"log_verbose_level": 1}), ("/v2/trace/setting", {"trace_level": ["TIMESTAMPS"]}),
        ("/v2/repository/models/text_encoder/unload", {}), ("/v2/repository/index", {}),
        ("/v2/systemsharedmemory/region/x/unregister", {})]}
    for path, response in refused.items():
        assert response.status_code in (401, 403), (path, response.status_code, response.text)
    wrong_key = httpx.post(f"{base}/v2/logging", json={"log_verbose_level": 1}, headers={API_KEY_HEADER: "guess"})
    assert wrong_key.status_code in (401, 403), wrong_key.text
    grpc = tritonclient.grpc.InferenceServerClient(stack.triton_grpc_url)
    with pytest.raises(InferenceServerException):
        grpc.get_model_repository_index()
    assert grpc.get_model_repository_index(headers={GRPC_API_KEY_HEADER: stack.triton_api_key}).models
    with_key = httpx.get(f"{base}/v2/logging", headers={API_KEY_HEADER: stack.triton_api_key}, timeout=10)
    assert with_key.status_code == 200 and "log_verbose_level" in with_key.json()
    assert httpx.get(f"{base}/v2/health/ready", timeout=10).status_code == 200
    assert httpx.get(f"{base}/v2/models/text_encoder/ready", timeout=10).status_code == 200
    assert all(state.ready for name, state in asyncio.run(model_states(stack)).items() if name in REQUIRED_MODELS)


async def model_states(cfg: Settings) -> dict:
    models = TritonModels(cfg)
    try:
        return await models.model_states()
    finally:
        await models.close()


def test_text_encoder_ranks_paraphrase_and_translation_above_unrelated(stack: Settings) -> None:
    async def embed() -> np.ndarray:
        models = TritonModels(stack)
        try:
            return await models.embed_texts([
                "a cat is sleeping on the sofa", "a kitten naps on the couch", "the stock market fell sharply",
                "кошка спит на диване"])  # the first in Russian
        finally:
            await models.close()

    vectors = asyncio.run(embed())
    assert vectors.shape == (4, TEXT_EMBEDDING_DIMS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3
    assert vectors[0] @ vectors[3] > vectors[3] @ vectors[2] + 0.3  # one space for both languages


def test_text_encoder_reads_a_long_text_from_its_start(stack: Settings) -> None:
    """A text is embedded from its first max_chars (1000) characters: the encoder's time grows with the text."""
    head = "Members of the riverside allotment society compare giant pumpkins before the autumn show. " * 12  # 1080
    tail = "Stock markets fell sharply as investors feared rising interest rates. " * 300

    async def embed() -> np.ndarray:
        models = TritonModels(stack)
        try:
            return await models.embed_texts([head[:1000] + tail, head[:1000], head[:900]])
        finally:
            await models.close()

    vectors = asyncio.run(embed())
    assert np.allclose(vectors[0], vectors[1], atol=1e-5)
    assert not np.allclose(vectors[1], vectors[2], atol=1e-5)  # the cut is at 1000, not before


def test_triton_down_is_an_outage_after_retries_not_the_event_s_fault(stack: Settings) -> None:
    unreachable = stack.replace(triton_grpc_url="127.0.0.1:1", triton_retries=2, triton_timeout_s=1)

    async def embed() -> None:
        models = TritonModels(unreachable)
        try:
            await models.embed_texts(["hello"])
        finally:
            await models.close()

    with pytest.raises(ServiceUnavailable, match="StatusCode.UNAVAILABLE after 3 attempts"):
        asyncio.run(embed())


def test_copy_index_finds_candidates_and_keeps_signatures(stack: Settings) -> None:
    index = CopyIndex(stack.redis_url, "copy_unit_test")
    index.index.create(overwrite=True, drop=True)
    try:
        rng = np.random.default_rng(7)
        bits = rng.integers(0, 256, size=(FRAMINGS, 4, 32), dtype=np.uint8)  # the whole frame differs: bars
        signature = CopySignature(times_s=np.arange(4, dtype=np.float32), cuts=np.zeros(4, bool),
                                  quality=np.full(4, 100, np.int16),
                                  bits=bits, turned_bits=np.stack([bits[0]] * len(TURNS)),
                                  tile_bits=np.zeros((0, 4, 32), np.uint8),
                                  index_frames=[0, 1, 2, 3],
                                  audio_fingerprint=np.arange(40, dtype=np.int32), duration_s=4.0)
        index.upsert("ref", 1000, signature)
        index.upsert("ref", 1000, signature)  # replay: no new docs
        assert index.vector_count() == 4 * len(INDEX_FRAMINGS)
        without_bars = rng.integers(0, 256, size=(FRAMINGS, 4, 32), dtype=np.uint8)  # another video
        without_bars[WHOLE_FRAME] = without_bars[0]
        index.upsert_many([("no-bars", 500, replace(signature, bits=without_bars))])
        assert index.vector_count() == 4 * len(INDEX_FRAMINGS) + 4 * (len(INDEX_FRAMINGS) - 1)  # no whole frame

        near = np.unpackbits(bits[0], axis=1)
        near[:, :12] ^= 1  # Hamming distance 12 from the whole-picture hashes
        far = rng.integers(0, 256, size=(1, 32), dtype=np.uint8)
        views = {"as shown": np.concatenate([np.packbits(near, axis=1), far])}
        breadth = 40
        found = index.candidates(views, "query", published_until_ms=2000, k=5, max_hamming=31, ef_runtime=breadth)
        assert [(c.video_id, c.frames_hit, c.view, c.original) for c in found] == [("ref", 4, "as shown", None)]
        assert 8 <= found[0].best_hamming <= 16  # the KNN vectors' estimate of 12 (core.bits.index_vectors)
        assert index.candidates(views, "ref", 2000, 5, 31, breadth) == []  # never itself
        assert index.candidates(views, "query", 999, 5, 31, breadth) == []  # nor anything published later
        index.keep_original("ref", "no-bars", 500)
        (found,) = index.candidates(views, "query", 2000, 5, 31, breadth)
        assert found.original == ("no-bars", 500)

        (stored,) = index.indexed_videos(["ref", "missing"])
        assert stored.published_at_ms == 1000 and stored.signature.framings == INDEX_FRAMINGS
        assert np.array_equal(stored.signature.bits, bits[list(INDEX_FRAMINGS)])
        assert np.array_equal(stored.signature.framing_bits(WHOLE_FRAME), bits[WHOLE_FRAME])
        assert np.array_equal(stored.signature.audio_fingerprint, signature.audio_fingerprint)
    finally:
        index.index.delete(drop=True)


@pytest.mark.parametrize("schema, field, old_attrs, index, named, advice", [
    (copy_index_schema, "pdq", {"datatype": "float32"}, CopyIndex, "", "replay publish-video"),
    (cluster_schema, "centroid", {"dims": 384}, ClusterIndex, "", "jobs.reindex"),  # MiniLM's width, until 2026-12
    (chunk_schema, "embedding", {"dims": 384}, SearchIndex, "-chunks", "jobs.reindex"),
])
def test_an_index_left_with_another_vector_layout_is_refused_clearly(
        stack: Settings, schema: Callable[[str], dict], field: str, old_attrs: dict, index: type, named: str,
        advice: str) -> None:
    old_schema = schema("old_layout")
    next(f for f in old_schema["fields"] if f["name"] == field)["attrs"].update(old_attrs)
    old = RedisVLIndex.from_dict(old_schema, redis_client=Redis.from_url(stack.redis_url))
    old.create(overwrite=True)
    try:
        with pytest.raises(IndexSchemaError, match=f"FT.DROPINDEX old_layout{named} DD") as refused:
            index(stack.redis_url, "old_layout").create()
        assert advice in str(refused.value)
    finally:
        old.delete(drop=True)


def test_a_search_index_made_before_people_gets_their_field_and_filters_by_person(stack: Settings) -> None:
    """A chunk index created without the person_ids tag (before issue 21) gets it from create() (FT.ALTER), and
    chunks written since are found by person; the old documents stay searchable."""
    old_schema = chunk_schema("before_people")
    old_schema["fields"] = [f for f in old_schema["fields"] if f["name"] != "person_ids"]
    client = Redis.from_url(stack.redis_url)
    RedisVLIndex.from_dict(old_schema, redis_client=client).create(overwrite=True)
    index = SearchIndex(stack.redis_url, "before_people")
    try:
        vector = np.ones(TEXT_EMBEDDING_DIMS, np.float32) / np.sqrt(TEXT_EMBEDDING_DIMS)
        card = VideoCard(video_id="old", channel_id="c", published_at_ms=0, title="harbour", duration_s=1.0,
                         media_uri="x.mp4", verdict="UNIQUE")
        index.upsert_video(card, [TextChunk("title", 0.0, 0.0, "harbour", vector)])  # written without the field
        index.create()
        seen = (PersonSeen("p0123456789", 1.0, 2.0, [1.0, 2.0], 2, 0.9),)
        index.upsert_video(replace(card, video_id="new", people=seen),
                           [TextChunk("title", 0.0, 0.0, "harbour", vector)])
        assert any(a[1] == b"person_ids" for a in client.ft("before_people-chunks").info()["attributes"])
        by_person = index.keyword("harbour", SearchFilters(person_id="p0123456789"), 10).hits
        assert [hit.video_id for hit in by_person] == ["new"]
        assert sorted(hit.video_id for hit in index.keyword("harbour", SearchFilters(), 10).hits) == ["new", "old"]
        assert index.videos_with_person("p0123456789", 0, 10)[0] == 1
    finally:
        index.drop()


def test_a_channel_s_languages_are_those_of_its_latest_videos_before_the_new_one(stack: Settings) -> None:
    """The spoken languages of a channel's indexed videos published before a given time, newest first; videos
    without speech, deleted ones and other channels' say nothing."""
    index = SearchIndex(stack.redis_url, "channel_languages")
    index.create()
    try:
        vector = np.ones(TEXT_EMBEDDING_DIMS, np.float32) / np.sqrt(TEXT_EMBEDDING_DIMS)
        for video_id, channel, at_ms, language in (("a", "c", 1, "de"), ("b", "c", 2, "ru"), ("mute", "c", 3, None),
                                                   ("gone", "c", 4, "fr"), ("d", "c", 5, "ru"), ("e", "other", 3, "en"),
                                                   ("later", "c", 9, "es")):
            card = VideoCard(video_id=video_id, channel_id=channel, published_at_ms=at_ms, title="t", duration_s=1.0,
                             media_uri="x.mp4", verdict="UNIQUE")
            summary = EnrichmentSummary(has_audio=True, language=language, no_speech=language is None, speech_s=1.0,
                                        ocr_confidence=())
            index.upsert_video(card, [TextChunk("title", 0.0, 1.0, "t", vector)], summary=summary)
        index.delete_video("gone")
        assert index.channel_languages("c", 20, 9) == ["ru", "ru", "de"]
        assert index.channel_languages("c", 2, 9) == ["ru"]  # the latest two: "d" and the deleted "gone"
        assert index.channel_languages("c", 0, 9) == [] and index.channel_languages("nobody", 20, 9) == []
    finally:
        index.drop()
    assert not Redis.from_url(stack.redis_url).keys("channel_languages:channel-videos:*")


def test_videos_in_flight_hold_back_later_ones_until_indexed_or_dead(stack: Settings) -> None:
    index = CopyIndex(stack.redis_url, "inflight_unit_test")
    index.mark_in_flight("early", 1000, ttl_s=30)
    index.mark_in_flight("dying", 1500, ttl_s=0.2)
    index.mark_in_flight("late", 2000, ttl_s=30)
    assert sorted(index.earlier_in_flight("late", 2000)) == ["dying", "early"]
    assert index.earlier_in_flight("early", 1000) == []  # nothing earlier: never waits for later videos
    index.clear_in_flight("early")
    time.sleep(0.3)  # "dying"'s worker stopped renewing: its liveness key expires
    assert index.wait_for_earlier("late", 2000, timeout_s=1) == []
    index.clear_in_flight("late")


def archived(video_id: str, frames: int = 3) -> ArchivedVideo:
    return ArchivedVideo(
        video_id=video_id, features_version="test", channel_id="c", published_at=datetime(2026, 1, 1, tzinfo=UTC),
        duration_s=3.0, title="t", verdict="UNIQUE", duplicate_of=None,
        text_embedding=np.ones(TEXT_EMBEDDING_DIMS, np.float32), topic_embedding=np.zeros(0, np.float32), keywords=[],
        cluster_id=None,
        frames=[ArchivedFrame(float(n), "ab" * 32, 90) for n in range(frames)],
        chunks=[TextChunk("title", 0.0, 3.0, "t", np.ones(TEXT_EMBEDDING_DIMS, np.float32)),
                TextChunk("ocr", 1.0, 2.0, "sign", np.ones(TEXT_EMBEDDING_DIMS, np.float32))])


def test_archive_writes_batches_once(tmp_path: Path) -> None:
    archive = Archive(f"chdb://{tmp_path / 'ch'}")
    archive.create_schema()
    assert archive.write_videos([archived("v1"), archived("v2", frames=2), archived("v1")]) == 2
    assert archive.write_videos([archived("v1"), archived("v3", frames=1)]) == 1  # a replay adds nothing
    assert archive.counts() == {"videos": 3, "video_frames": 6, "video_chunks": 6, "enriched_records": 0}
    assert archive.counts({"v1"})["video_frames"] == 3 and archive.counts({"other"})["videos"] == 0
    [(stored,)] = archive.query("SELECT text_embedding FROM videos WHERE video_id = 'v1'")
    assert len(stored) == TEXT_EMBEDDING_DIMS and stored[0] == 1.0
    archive.close()


def test_the_embedded_archive_is_shared_between_processes_in_turn(tmp_path: Path) -> None:
    """One process at a time may open the embedded engine: each operation opens and closes it, so a second
    process (the re-clustering job beside the archiver) gets its turn, waiting while the first holds it."""
    dsn = f"chdb://{tmp_path / 'ch'}"
    archive = Archive(dsn)
    archive.create_schema()
    other = [sys.executable, "-c", "import sys; from storage.archive import Archive; "
             f"sys.exit(0 if Archive({dsn!r}).write_videos([]) == 0 else 1)"]
    with archive.session():  # held here: the other process waits for it ...
        waiting = subprocess.Popen(other, cwd=REPO_ROOT)
        time.sleep(3)
        assert waiting.poll() is None
    assert waiting.wait(timeout=60) == 0  # ... and goes on once it is released
    assert archive.write_videos([archived("v1")]) == 1
