"""The ``mindmove serve`` application (Starlette): the patient's page, its API and WebSocket.

Routes (nothing else; in particular no clinician page: those are the dashboard's, behind
its own sign-in, and a device token is no sign-in):

- ``GET /``, ``GET /join``: the page (``web/index.html``); ``/js``, ``/css``: its files;
  ``/vendor/tasks-vision``: MediaPipe's web build installed by ``npm ci`` (its bundle and
  WebAssembly only); ``/model/pose_landmarker.task``: the offline-built pose bundle
  (:func:`sensing.pose.offline_task_bundle`), for a bound device only;
- ``POST /api/join``: redeem a one-time link (limited per client address), set the device cookie;
- ``GET /api/me``: today's plan, what is done, recent sessions (:mod:`~mindmove.telehealth.patient_page`);
- ``GET /api/texts``: the catalogue's sentences of the page;
- ``WS /ws``: the session (:mod:`~mindmove.telehealth.ws`).

The device token travels in an HttpOnly, SameSite=Strict cookie (``Secure`` over HTTPS):
scripts cannot read it, other sites cannot send it. A WebSocket opened from another site's
page (its ``Origin`` not this server's) is refused. Every response forbids framing and
limits where scripts, connections and media may come from (:data:`CONTENT_SECURITY_POLICY`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from core.errors import AccessDenied, MindMoveError
from feedback.messages import message
from mindmove.store.db import open_store
from mindmove.auth import audit
from mindmove.telehealth.access import authenticate_device, redeem_invitation, revoked_device_ids
from mindmove.telehealth.host import RESUME_WINDOW_S, REAP_INTERVAL_S, HostConfig, InProcessHost
from mindmove.telehealth.patient_page import load_page_texts, load_patient_page
from mindmove.telehealth.ratelimit import KeyedLimiter
from mindmove.telehealth.ws import CLOSE_UNAUTHORISED, Connections, serve_connection

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
VENDOR_DIR = Path("node_modules") / "@mediapipe" / "tasks-vision"
VENDOR_FILES = ("vision_bundle.mjs", "wasm/vision_wasm_internal.js", "wasm/vision_wasm_internal.wasm",
                "wasm/vision_wasm_nosimd_internal.js", "wasm/vision_wasm_nosimd_internal.wasm")
COOKIE = "mindmove_device"
COOKIE_MAX_AGE_S = 365 * 24 * 3600   # a patient's device stays connected until revoked
MAX_JOIN_BODY_BYTES = 4096
JOIN_PER_MIN, JOIN_BURST = 10.0, 10.0      # link openings per client address
API_PER_MIN, API_BURST = 60.0, 30.0         # page loads per device or address
REVOCATION_POLL_S = 0.5                      # revoked devices lose their connection within this
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
                           "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
                           "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "
                           "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = {"content-security-policy": CONTENT_SECURITY_POLICY, "x-content-type-options": "nosniff",
                    "referrer-policy": "no-referrer", "x-frame-options": "DENY",
                    "permissions-policy": "camera=(self), microphone=(), geolocation=()",
                    "cache-control": "no-store"}


@dataclass(frozen=True)
class AppConfig:
    store_url: str
    data_dir: Path
    exercises_dir: Path | None = None
    web_dir: Path = WEB_DIR
    model_path: Path | None = None   # None: the offline bundle built from the mediapipe wheel
    workers: int = 0                 # 0: sessions run in the server process
    secure_cookies: bool = False     # True behind HTTPS
    resume_window_s: float = RESUME_WINDOW_S


class _SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every HTTP response."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(event):
            if event["type"] == "http.response.start":
                names = {k.lower() for k, _ in event.get("headers", [])}
                event["headers"] = list(event.get("headers", [])) + [
                    (k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in names]
            await send(event)

        return await self.app(scope, receive, send_with_headers)


class Telehealth:
    """The server's state: the store (access checks), the session host, the connections."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self.store = open_store(config.store_url)
        host_config = HostConfig(store_url=config.store_url, data_dir=config.data_dir,
                                 exercises_dir=config.exercises_dir, resume_window_s=config.resume_window_s)
        if config.workers > 0:
            from mindmove.telehealth.workers import WorkerPoolHost

            self.host = WorkerPoolHost(host_config, count=config.workers)
        else:
            self.host = InProcessHost(host_config)
        self.connections = Connections()
        self.join_limiter = KeyedLimiter(JOIN_BURST, JOIN_PER_MIN / 60.0)
        self.api_limiter = KeyedLimiter(API_BURST, API_PER_MIN / 60.0)
        self.model_path = config.model_path

    async def start(self) -> None:
        if self.model_path is None:
            from sensing.pose import offline_task_bundle

            self.model_path = await anyio.to_thread.run_sync(lambda: offline_task_bundle(self.config.data_dir))
        await self.host.start()

    async def identity(self, token: str | None, *, client: str = ""):
        """The patient a device token names; a refused token (not a missing one) is audited."""
        try:
            return await anyio.to_thread.run_sync(lambda: authenticate_device(self.store, token))
        except AccessDenied:
            if token:
                await anyio.to_thread.run_sync(lambda: audit(self.store, "device:unknown", "device_refused",
                                                             success=False, client=client,
                                                             detail="unknown or revoked device token"))
            raise

    async def poll_revocations(self) -> None:
        while True:
            await asyncio.sleep(REVOCATION_POLL_S)
            ids = set(self.connections.by_device)
            try:
                revoked = await anyio.to_thread.run_sync(lambda: revoked_device_ids(self.store, ids))
            except MindMoveError as exc:
                log.warning("revocation check failed (connections kept until the next check): %s", exc)
                continue
            if revoked:
                log.info("devices revoked while connected: %s", sorted(revoked))
                await self.connections.revoke(revoked)

    async def reap(self) -> None:
        while True:
            await asyncio.sleep(REAP_INTERVAL_S)
            try:
                await self.host.reap()
            except MindMoveError as exc:
                log.warning("reaping home sessions failed: %s", exc)


def _client(request) -> str:
    return request.client.host if request.client else ""


def _refused(text: str, status: int = 403) -> JSONResponse:
    return JSONResponse({"text": text}, status_code=status)


async def page(request: Request) -> Response:
    return FileResponse(request.app.state.tele.config.web_dir / "index.html", media_type="text/html")


async def texts(request: Request) -> Response:
    return JSONResponse(load_page_texts())


async def join(request: Request) -> Response:
    tele: Telehealth = request.app.state.tele
    client = _client(request)
    if not tele.join_limiter.take(f"join:{client}"):
        log.warning("join: too many attempts from %s", client)
        return _refused(message("home.server_busy"), 429)
    body = await request.body()
    if len(body) > MAX_JOIN_BODY_BYTES:
        return _refused(message("home.link_refused"), 413)
    try:
        data = await request.json()
        token, label = str(data["token"]), str(data.get("label", ""))
    except (ValueError, KeyError, TypeError):
        return _refused(message("home.link_refused"), 400)
    try:
        grant = await anyio.to_thread.run_sync(
            lambda: redeem_invitation(tele.store, token, label=label, client=client))
    except AccessDenied as exc:
        return _refused(str(exc))
    response = JSONResponse({"text": message("home.connected")})
    response.set_cookie(COOKIE, grant.token, max_age=COOKIE_MAX_AGE_S, httponly=True, samesite="strict",
                        secure=tele.config.secure_cookies, path="/")
    return response


async def _device(request: Request):
    tele: Telehealth = request.app.state.tele
    if not tele.api_limiter.take(f"api:{_client(request)}"):
        return None, _refused(message("home.server_busy"), 429)
    try:
        return await tele.identity(request.cookies.get(COOKIE), client=_client(request)), None
    except AccessDenied as exc:
        return None, _refused(str(exc), 401)


async def me(request: Request) -> Response:
    tele: Telehealth = request.app.state.tele
    identity, refused = await _device(request)
    if refused is not None:
        return refused
    page_data = await anyio.to_thread.run_sync(
        lambda: load_patient_page(tele.store, identity, exercises_dir=tele.config.exercises_dir))
    return JSONResponse(page_data)


async def model(request: Request) -> Response:
    identity, refused = await _device(request)
    if refused is not None:
        return refused
    return FileResponse(request.app.state.tele.model_path, media_type="application/octet-stream",
                        headers={"cache-control": "private, max-age=86400"})


async def vendor(request: Request) -> Response:
    path = request.path_params["path"]
    if path not in VENDOR_FILES:
        return Response(status_code=404)
    root = request.app.state.tele.config.web_dir / VENDOR_DIR
    media = {"mjs": "text/javascript", "js": "text/javascript", "wasm": "application/wasm"}[path.rsplit(".", 1)[1]]
    return FileResponse(root / path, media_type=media, headers={"cache-control": "public, max-age=86400"})


def _origin_ok(websocket: WebSocket) -> bool:
    """A browser always sends Origin: it must be this server's own (no page of another site)."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser (a command-line client); the device cookie still decides
    host = websocket.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") == host


async def websocket_endpoint(websocket: WebSocket) -> None:
    tele: Telehealth = websocket.app.state.tele
    if not _origin_ok(websocket):
        log.warning("websocket from another site's page refused (origin %s)", websocket.headers.get("origin"))
        await websocket.close(code=CLOSE_UNAUTHORISED)
        return
    try:
        identity = await tele.identity(websocket.cookies.get(COOKIE), client=_client(websocket))
    except AccessDenied as exc:
        await websocket.accept()
        await websocket.send_json({"type": "error", "code": "device_refused", "text": str(exc)})
        await websocket.close(code=CLOSE_UNAUTHORISED)
        return
    if identity.device_id in tele.connections.revoked:
        tele.connections.revoked.discard(identity.device_id)  # authenticated again: not revoked (a new binding)
    await websocket.accept()
    await serve_connection(websocket, identity, connections=tele.connections, host=tele.host)


def create_app(config: AppConfig, /) -> Starlette:
    """The application for ``config`` (see the module docstring)."""
    if not (config.web_dir / "index.html").is_file():
        raise MindMoveError(f"Expected the home practice page at {config.web_dir / 'index.html'}, but it is "
                            "missing. Reinstall MindMove.")
    vendor_root = config.web_dir / VENDOR_DIR
    if not (vendor_root / VENDOR_FILES[0]).is_file():
        raise MindMoveError(f"MediaPipe's web build is not installed ({vendor_root} is missing). "
                            "Run `npm ci` in the web folder (`make install` does it), then start again.")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        tele = Telehealth(config)
        app.state.tele = tele
        await tele.start()
        tasks = [asyncio.create_task(tele.poll_revocations())]
        if config.workers <= 0:
            tasks.append(asyncio.create_task(tele.reap()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await tele.host.stop()
            tele.store.dispose()

    routes = [
        Route("/", page), Route("/join", page),
        Route("/api/texts", texts), Route("/api/me", me), Route("/api/join", join, methods=["POST"]),
        Route("/model/pose_landmarker.task", model),
        Route("/vendor/tasks-vision/{path:path}", vendor),
        Mount("/js", StaticFiles(directory=config.web_dir / "js")),
        Mount("/css", StaticFiles(directory=config.web_dir / "css")),
        WebSocketRoute("/ws", websocket_endpoint),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(_SecurityHeaders)
    return app
