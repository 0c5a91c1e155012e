"""The search HTTP API (FastAPI) and its web page.

- ``GET /api/search?q=...&channel=&cluster=&person=&from=YYYY-MM-DD&to=YYYY-MM-DD&page=1&page_size=20
  &expand_copies=false``: ranked
  videos, each with the moments that matched and why (search/engine.py), and the people seen in it;
  ``person=`` keeps the videos showing that person cluster. Full copies of a video are one hit listing them
  (``copies``); ``expand_copies=true`` ranks each on its own.
  The answer's ``did_you_mean`` is the query with its typos corrected (None without any).
- ``GET /api/suggest?q=...``: up to SEARCH_SUGGESTIONS completions of what a user has typed (titles, keywords,
  queries others repeated at least SEARCH_SUGGEST_MIN_REPEATS times), for the page's search box; none for a prefix
  longer than any completion (storage/search_index.SUGGESTION_CHARS, 80 characters).
- ``GET /api/clusters``: the topic clusters new videos are assigned to (id, label, size).
- ``GET /api/people``: the person clusters (with FACES_ENABLED; id, size, radius), largest first.
- ``GET /api/people/{person_id}?page=1&page_size=20``: the indexed videos showing that person, newest first, each
  with when the person is on screen; 404 when no indexed video shows them.
- ``GET /api/videos/{video_id}``: one indexed video's card.
- ``GET /media/{video_id}``: the video file (HTTP range requests, so the page can seek), only from inside
  MEDIA_ROOT, with the MIME type of the video container its first bytes show (storage/media_files.media_type),
  never one guessed from its name; anything else is sent as an ``application/octet-stream`` attachment.
- ``GET /``: the page (search/static/index.html, its script and style under ``/static/``).
- ``GET /docs``, ``GET /openapi.json``: the API's documentation, only with SEARCH_API_DOCS.

Every response says ``X-Content-Type-Options: nosniff``, may not be framed (``X-Frame-Options: DENY``,
``frame-ancestors 'none'``) and has a Content-Security-Policy: the page may load its own script, style, API and
media and nothing else; any other response may load nothing and runs sandboxed if a browser opens it. An error
the code did not foresee is a JSON 500 (``{"detail": "internal error"}``) with the same headers, logged.

Limits: the query is 1..SEARCH_MAX_QUERY_CHARS characters without control characters, channel, cluster and person
are ids
(core/event_checks.ID_PATTERN), page_size 1..SEARCH_MAX_PAGE_SIZE, page 1..100,
and at most SEARCH_MAX_CONCURRENT requests in flight (more get 429 with Retry-After). Run with
``python -m search``; its metrics (request rate, latency and status codes) are served on METRICS_PORT, not on the
API's own port.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoint annotations at run time, and the
# query limits in them come from the settings in this closure.
import asyncio
import dataclasses
import logging
import pathlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_fastapi_instrumentator import Instrumentator
from redis import Redis

from core.errors import PipelineError, ServiceUnavailable
from core.event_checks import CONTROL_CHARACTERS, ID_PATTERN
from core.lexicon import load_dictionaries
from inference.triton_client import CLIP_MODELS, TritonModels
from search.engine import SearchEngine
from settings import Settings
from storage.generations import IndexGeneration, current_generation
from storage.media_files import media_type, resolve_media_path
from storage.search_index import SearchFilters

STATIC = pathlib.Path(__file__).resolve().parent / "static"
MAX_PAGE = 100

PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; media-src 'self'; "
               "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
# Swagger UI (SEARCH_API_DOCS only) loads from a CDN and starts with an inline script
DOCS_POLICY = ("default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
               "style-src 'unsafe-inline' https://cdn.jsdelivr.net; img-src https://fastapi.tiangolo.com data:; "
               "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'")
NOTHING_POLICY = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; sandbox"
POLICIES = {"/": PAGE_POLICY, "/docs": DOCS_POLICY}
# channel, cluster and person filters: ids as events and re-clustering make them (or empty: no filter)
OPTIONAL_ID = f"^(?:{ID_PATTERN.pattern})?$"
log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class LiveIndexes:
    indexes: IndexGeneration
    engine: SearchEngine


async def _clip_ready(models: TritonModels) -> bool:
    try:
        states = await models.model_states()
    except ServiceUnavailable as exc:  # what model_states raises when Triton does not answer
        log.warning("Triton unreachable at start (%s): CLIP search off", exc)
        return False
    return all(name in states and states[name].ready for name in CLIP_MODELS)


def _millis(day: date | None, end_of_day: bool) -> int | None:
    if day is None:
        return None
    moment = datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def with_security_headers(response: Response, path: str) -> Response:
    """``response`` marked with the headers every answer of the API carries (see the module's docstring)."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Security-Policy"] = POLICIES.get(path, NOTHING_POLICY)
    return response


def create_app(cfg: Settings) -> FastAPI:
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        models = TritonModels(cfg)
        state["models"] = models
        state["use_clip"] = await _clip_ready(models)
        state["redis"] = Redis.from_url(cfg.redis_url)
        await asyncio.to_thread(load_dictionaries)  # ~2 s now rather than in the first misspelled query
        yield
        await models.close()

    def live() -> LiveIndexes:
        """The indexes of the generation in use (a reindex switches it between two requests)."""
        generation = current_generation(state["redis"], cfg)
        if state.get("live") is None or state["live"].indexes.number != generation:
            indexes = IndexGeneration.open(cfg, generation)
            indexes.search.create()
            engine = SearchEngine(cfg, indexes.search, state["models"], state["use_clip"], indexes.copies.originals)
            state["live"] = LiveIndexes(indexes, engine)
        return state["live"]

    docs = cfg.search_api_docs
    app = FastAPI(title="Video search", lifespan=lifespan, docs_url="/docs" if docs else None, redoc_url=None,
                  openapi_url="/openapi.json" if docs else None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    in_flight = asyncio.Semaphore(cfg.search_max_concurrent)

    @app.middleware("http")
    async def limit_concurrency(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if in_flight.locked():
            return JSONResponse({"detail": "too many requests in flight, retry shortly"}, status_code=429,
                                headers={"Retry-After": "1"})
        async with in_flight:
            return await call_next(request)

    @app.middleware("http")  # added last, so it runs first and marks every response, a 429 too
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        return with_security_headers(await call_next(request), request.url.path)

    @app.exception_handler(Exception)  # Starlette calls it outside every middleware: it marks its answer itself
    async def internal_error(request: Request, exc: Exception) -> Response:
        log.error("%s %s failed: %r", request.method, request.url.path, exc)
        return with_security_headers(JSONResponse({"detail": "internal error"}, status_code=500), request.url.path)

    @app.get("/api/search")
    async def search(
        q: Annotated[str, Query(min_length=1, max_length=cfg.search_max_query_chars)],
        channel: Annotated[str | None, Query(pattern=OPTIONAL_ID)] = None,
        cluster: Annotated[str | None, Query(pattern=OPTIONAL_ID)] = None,
        person: Annotated[str | None, Query(pattern=OPTIONAL_ID)] = None,
        date_from: Annotated[date | None, Query(alias="from")] = None,
        date_to: Annotated[date | None, Query(alias="to")] = None,
        page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
        page_size: Annotated[int, Query(ge=1, le=cfg.search_max_page_size)] = 20,
        expand_copies: bool = False,
    ) -> dict[str, Any]:
        if not q.strip():
            raise HTTPException(422, "the query is blank")
        if CONTROL_CHARACTERS.search(q):
            raise HTTPException(422, "the query contains control characters")
        if date_from and date_to and date_from > date_to:
            raise HTTPException(422, "'from' is after 'to'")
        filters = SearchFilters(channel_id=channel or None, cluster_id=cluster or None, person_id=person or None,
                                published_from_ms=_millis(date_from, False), published_to_ms=_millis(date_to, True))
        live_indexes = await asyncio.to_thread(live)
        result = await live_indexes.engine.search(q.strip(), filters, page, page_size, expand_copies)
        return dataclasses.asdict(result)

    @app.get("/api/suggest")
    async def suggest(q: Annotated[str, Query(min_length=1, max_length=cfg.search_max_query_chars)]) -> dict[str, Any]:
        if CONTROL_CHARACTERS.search(q):
            raise HTTPException(422, "the query contains control characters")
        if not q.strip():
            return {"query": q, "suggestions": []}
        live_indexes = await asyncio.to_thread(live)
        found = await asyncio.to_thread(live_indexes.indexes.search.suggest, q, cfg.search_suggestions)
        return {"query": q, "suggestions": found}

    @app.get("/api/clusters")
    async def clusters() -> list[dict[str, Any]]:
        live_indexes = await asyncio.to_thread(live)
        return await asyncio.to_thread(live_indexes.indexes.clusters.summaries)

    @app.get("/api/people")
    async def people() -> list[dict[str, Any]]:
        live_indexes = await asyncio.to_thread(live)
        return [{"person_id": summary["cluster_id"], "size": summary["size"], "radius": summary["radius"]}
                for summary in await asyncio.to_thread(live_indexes.indexes.people.summaries)]

    @app.get("/api/people/{person_id}")
    async def person_videos(
        person_id: Annotated[str, Path(pattern=f"^(?:{ID_PATTERN.pattern})$")],
        page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
        page_size: Annotated[int, Query(ge=1, le=cfg.search_max_page_size)] = 20,
    ) -> dict[str, Any]:
        search_index = (await asyncio.to_thread(live)).indexes.search
        total, cards = await asyncio.to_thread(search_index.videos_with_person, person_id, (page - 1) * page_size,
                                               page_size)
        if total == 0:
            raise HTTPException(404, f"no indexed video shows person {person_id!r}")
        return {"person_id": person_id, "total": total, "page": page, "page_size": page_size,
                "videos": [{"video": dataclasses.asdict(card),
                            "appearances": [dataclasses.asdict(seen) for seen in card.people
                                            if seen.person_id == person_id]} for card in cards]}

    @app.get("/api/videos/{video_id}")
    async def video(video_id: str) -> dict[str, Any]:
        cards = await asyncio.to_thread(lambda: live().indexes.search.cards([video_id]))
        if video_id not in cards:
            raise HTTPException(404, f"video {video_id!r} is not indexed")
        return dataclasses.asdict(cards[video_id])

    @app.get("/media/{video_id}")
    @app.head("/media/{video_id}", include_in_schema=False)  # what GET would send, without the body
    async def media(video_id: str) -> FileResponse:
        cards = await asyncio.to_thread(lambda: live().indexes.search.cards([video_id]))
        if video_id not in cards:
            raise HTTPException(404, f"video {video_id!r} is not indexed")
        try:
            path = resolve_media_path(cards[video_id].media_uri, cfg.media_root)
        except PipelineError as exc:
            raise HTTPException(404, str(exc)) from exc
        video_type = await asyncio.to_thread(media_type, path)  # what the file is, whatever its name says
        if video_type is None:
            return FileResponse(path, media_type="application/octet-stream",
                                headers={"Content-Disposition": "attachment"})
        return FileResponse(path, media_type=video_type)

    @app.get("/")
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    # added last, so outermost: every answer is counted, a 429 too (http_requests_total, http_request_duration_*)
    Instrumentator(should_group_status_codes=False, excluded_handlers=["/static/.*"]).instrument(app)
    return app
