"""The search API's own routes that need no server: the documentation is served only when configured."""

from __future__ import annotations

import asyncio

import httpx

from search.api import create_app
from settings import Settings


def get(cfg: Settings, path: str) -> httpx.Response:
    async def run() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(create_app(cfg)), base_url="http://api") as client:
            return await client.get(path)
    return asyncio.run(run())


def test_docs_and_schema_only_with_search_api_docs() -> None:
    cfg = Settings.from_env()
    assert not cfg.search_api_docs
    assert [get(cfg, path).status_code for path in ("/docs", "/openapi.json")] == [404, 404]
    docs = cfg.replace(search_api_docs=True)
    page, schema = get(docs, "/docs"), get(docs, "/openapi.json")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    assert "https://cdn.jsdelivr.net" in page.headers["content-security-policy"]
    assert "/api/search" in schema.json()["paths"] and schema.headers["x-content-type-options"] == "nosniff"


def test_clip_search_is_off_when_triton_does_not_answer_at_start() -> None:
    """A Triton that is down when the API starts turns CLIP search off (logged) instead of failing the start: the
    client says so with ServiceUnavailable, which was not the error caught before (nothing listens on the port)."""
    from inference.triton_client import TritonModels
    from search.api import _clip_ready

    cfg = Settings.from_env().with_triton_port(1)

    async def run() -> bool:
        models = TritonModels(cfg.replace(triton_retries=0, triton_timeout_s=2.0))
        try:
            return await _clip_ready(models)
        finally:
            await models.close()

    assert asyncio.run(run()) is False
