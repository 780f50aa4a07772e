"""The Starlette application: the page, its static assets, the JSON API (api.py), the live tail as server-sent
events, and the security around them.

Security (issue 16): every response carries a strict Content-Security-Policy (scripts, styles and connections from
this origin only; no inline script or style, no frames, no forms), `nosniff`, no referrer; the API answers GET only;
with a token (LOGFERRY_CONSOLE_TOKEN) every request must carry it (`Authorization: Bearer`, or the cookie that
`/?token=...` sets once, HttpOnly and SameSite=Strict, so EventSource works); on loopback the Host header must name
the loopback (DNS rebinding). The page renders every field with textContent (static/console.js).
"""

import contextlib
import functools
import hmac
import json
import logging
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import replace
from importlib import resources
from typing import Any

import anyio
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consumer.config import ConsumerConfig
from consumer.console import api
from consumer.console.listen import Access
from consumer.console.params import parse_request
from consumer.console.readers import ReaderPool
from consumer.sinks.base import SearchQuery, SinkError
from consumer.sinks.browse import TailPage
from logferry.errors import LogferryError

log = logging.getLogger("consumer.console")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
COOKIE = "logferry_console"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
TAIL_POLL_S = 0.5  # a new event is on the page within about this plus the sink's flush
TAIL_LIMIT = 200  # events per tail message
KEEPALIVE_S = 15.0
PIPELINE_CACHE_S = 3.0


def _orjson_default(value: Any) -> Any:
    raise TypeError(f"cannot serialise {type(value).__name__}")


class Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_orjson_default)


class Guard:
    """ASGI middleware: the security headers on every response, GET/HEAD only, the Host check, the token."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, secured)
            return
        await self.app(scope, receive, secured)

    def _refusal(self, scope: Scope, headers: Mapping[str, str]) -> Response | None:
        if scope["method"] not in ("GET", "HEAD"):
            return PlainTextResponse("The console is read-only.\n", status_code=405, headers={"Allow": "GET, HEAD"})
        if self.access.loopback:
            host = headers.get("host", "")
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name not in LOOPBACK_HOSTS:
                return PlainTextResponse("This console answers on its loopback address only.\n", status_code=421)
        token = self.access.token
        if token is None:
            return None
        offered = ""
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            offered = authorization[7:].strip()
        if not offered:
            offered = _cookie(headers.get("cookie", ""), COOKIE)
        if offered and hmac.compare_digest(offered.encode(), token.encode()):
            return None
        pairs = urllib.parse.parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        asked = next((value for key, value in pairs if key == "token"), "")
        if scope["path"] == "/" and hmac.compare_digest(asked.encode(), token.encode()):
            # the rest of the address (?q=&since=&until= of a notification's link) is kept
            rest = urllib.parse.urlencode([(key, value) for key, value in pairs if key != "token"])
            response = RedirectResponse("/?" + rest if rest else "/", status_code=303)
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
            return response
        return PlainTextResponse("A token is needed: open /?token=<LOGFERRY_CONSOLE_TOKEN> once, or send "
                                 "Authorization: Bearer <token>.\n", status_code=401)


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def _tail(readers: ReaderPool, query: SearchQuery, cursor: str | None) -> TailPage:
    return readers.call(lambda reader: reader.tail(query, cursor))


def _params(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items()}


def _failure(error: Exception) -> Json:
    if isinstance(error, ValueError):
        return Json({"error": str(error)}, status_code=400)
    retriable = isinstance(error, SinkError) and error.retriable
    return Json({"error": str(error), "retriable": retriable}, status_code=503)


def build_app(config: ConsumerConfig, access: Access, pool: ReaderPool | None = None) -> Starlette:
    readers = pool or ReaderPool(config)
    static = resources.files("consumer.console") / "static"
    pipeline_cache: dict[str, tuple[float, dict[str, Any]]] = {}

    def endpoint(work: Callable[[Mapping[str, str]], Any]) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            params = _params(request)
            try:
                found = await anyio.to_thread.run_sync(lambda: work(params))
            except (ValueError, LogferryError, OSError) as error:
                return _failure(error)
            except Exception as error:  # a reader's driver error (sqlite3.Error...): said, not a traceback page
                log.warning("A console request failed.", extra={"path": request.url.path, "error": str(error)})
                return Json({"error": str(error)}, status_code=500)
            if found is None:
                return Json({"error": "not found"}, status_code=404)
            return Json(found, headers={"Cache-Control": "no-store"})
        return run

    def pipeline(_params: Mapping[str, str]) -> dict[str, Any]:
        cached = pipeline_cache.get("status")
        if cached is not None and time.monotonic() - cached[0] < PIPELINE_CACHE_S:
            return cached[1]
        found = api.pipeline(config, readers)
        pipeline_cache["status"] = (time.monotonic(), found)
        return found

    async def page(_request: Request) -> Response:
        return FileResponse(str(static / "index.html"), headers={"Cache-Control": "no-store"})

    async def tail(request: Request) -> Response:
        params = _params(request)
        try:
            query = parse_request({**params, "since": "", "until": ""}).counting
        except ValueError as error:
            return _failure(error)
        query = replace(query, since=None, until=None, limit=TAIL_LIMIT)
        resume = request.headers.get("last-event-id") or params.get("cursor") or None

        async def stream() -> AsyncIterator[bytes]:
            cursor = resume
            quiet_since = time.monotonic()
            if cursor is None:
                cursor = (await anyio.to_thread.run_sync(functools.partial(_tail, readers, query, None))).cursor
            yield f"retry: 2000\nid: {cursor}\nevent: ready\ndata: {{}}\n\n".encode()
            while not await request.is_disconnected():
                try:
                    found = await anyio.to_thread.run_sync(functools.partial(_tail, readers, query, cursor))
                except (ValueError, LogferryError, OSError) as error:
                    yield f"event: failure\ndata: {json.dumps({'error': str(error)})}\n\n".encode()
                    await anyio.sleep(2.0)
                    continue
                cursor = found.cursor
                if found.events:
                    quiet_since = time.monotonic()
                    yield b"id: " + cursor.encode() + b"\nevent: events\ndata: " + orjson.dumps(found.events) + b"\n\n"
                    if len(found.events) >= TAIL_LIMIT:
                        continue
                elif time.monotonic() - quiet_since > KEEPALIVE_S:
                    quiet_since = time.monotonic()
                    yield b": keepalive\n\n"
                await anyio.sleep(TAIL_POLL_S)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def health(_request: Request) -> Response:
        return Json({"ok": True, "sink": config.sink.type})

    routes = [
        Route("/", page),
        Route("/api/health", health),
        Route("/api/search", endpoint(lambda p: api.search(p, readers))),
        Route("/api/facets", endpoint(lambda p: api.facets(p, readers))),
        Route("/api/histogram", endpoint(lambda p: api.histogram(p, readers))),
        Route("/api/tail", tail),
        Route("/api/pipeline", endpoint(pipeline)),
        Route("/api/deadletters", endpoint(lambda p: api.dead_letters(p, readers))),
        Route("/api/deadletter", endpoint(lambda p: api.dead_letter(p, readers))),
        Route("/api/alerts", endpoint(lambda _p: api.alerts(config))),
        Route("/api/jobs", endpoint(lambda p: api.jobs(p, readers))),
        Mount("/static", app=StaticFiles(directory=str(static)), name="static"),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            readers.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(Guard, access=access)
    return app
