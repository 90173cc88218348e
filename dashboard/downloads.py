"""Exports that only the signed-in user who prepared them can fetch: once, for a short time.

Why not ``st.download_button``: Streamlit keeps the file in its media file manager and serves
it at ``/media/<hash>.<ext>``, a URL anyone can fetch without a cookie, after sign-out and for
minutes afterwards, and the app never hears of the fetch (streamlit/streamlit#8148; a
callable ``data`` only defers making the file, which then goes to ``/media/`` all the same).

Instead the Exports page registers the prepared bytes here (:data:`GRANTS`, one register per
dashboard process) under a random 256-bit token bound to the signed-in user and to the hash of
the browser's ``mindmove_device`` cookie, and links to ``/mindmove/download/<token>``, a route
of the dashboard's own server (``dashboard/server.py``). A fetch is served only when:

- the browser sends the cookie of the browser that prepared it (the cookie is ``HttpOnly``
  and ``SameSite=Strict``: scripts cannot read it, other sites cannot send it);
- the grant is unused (the first fetch consumes it) and younger than :data:`LINK_TTL_S`;
- the user has not signed out in that browser (sign-out revokes their grants there) and is
  still active with the same role in the database.

Every fetch, served or refused, is written to the audit log (``export_csv`` /
``export_pdf``, ``success`` false for a refusal, with why). Responses carry
``Cache-Control: no-store``.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

from core.errors import AccessDenied
from mindmove.auth import SignedInUser, audit, hash_device, refresh_user

log = logging.getLogger(__name__)

DEVICE_COOKIE = "mindmove_device"
DEVICE_COOKIE_MAX_AGE_S = 365 * 24 * 3600  # a known browser stays known for a year of disuse
ROUTE = "/mindmove/download/{token}"
URL_PREFIX = "/mindmove/download/"
LINK_TTL_S = 120.0          # a download link works for two minutes after the page drew it
TOMBSTONE_S = 3600.0        # a used or expired link is remembered this long, to audit who it was
MAX_GRANTS_PER_BROWSER = 64  # the oldest are dropped beyond this (a page offers about a dozen)


class DownloadRefused(AccessDenied):
    """A download link that may not be served; ``status`` is the HTTP status to answer with,
    ``owner`` whose link it was (``None`` when never known)."""

    def __init__(self, message: str, *, status: int, reason: str, owner: "Spent | Grant | None" = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.owner = owner


@dataclass(frozen=True)
class Spent:
    """What is remembered of a used, expired or withdrawn link, to audit a later fetch."""

    username: str
    action: str
    patient_code: str | None
    why: str
    forget_at: float


@dataclass(frozen=True)
class Grant:
    """One prepared file, for one user in one browser."""

    user: SignedInUser
    data: bytes = field(repr=False)
    file_name: str
    mime: str
    action: str               # the audit action of a fetch: export_csv | export_pdf
    patient_code: str | None
    detail: str
    expires_at: float         # on the register's clock


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class DownloadGrants:
    """The register of download grants of one dashboard process (thread-safe).

    ``clock`` (seconds, monotonic) is injectable so tests never sleep.
    """

    def __init__(self, *, ttl_s: float = LINK_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._grants: dict[str, Grant] = {}  # sha256(token) -> grant
        self._gone: dict[str, Spent] = {}    # sha256(token) -> what it was
        self._lock = threading.Lock()

    def issue(self, user: SignedInUser, data: bytes, /, *, file_name: str, mime: str, action: str,
              patient_code: str | None = None, detail: str = "") -> str:
        """A new token for ``data``, fetchable once by ``user`` in the browser it signed in from."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        grant = Grant(user=user, data=bytes(data), file_name=file_name, mime=mime, action=action,
                      patient_code=patient_code, detail=detail, expires_at=now + self.ttl_s)
        with self._lock:
            self._purge(now)
            mine = [k for k, g in self._grants.items() if (g.user.id, g.user.device) == (user.id, user.device)]
            for key in mine[:max(0, len(mine) - MAX_GRANTS_PER_BROWSER + 1)]:
                self._retire(key, "replaced by newer links", now)
            self._grants[_digest(token)] = grant
        return token

    def remaining_s(self, token: str, /) -> float:
        """Seconds the unused ``token`` still works (0 when used, expired, revoked or unknown)."""
        with self._lock:
            grant = self._grants.get(_digest(token))
            return max(0.0, grant.expires_at - self.clock()) if grant is not None else 0.0

    def redeem(self, token: str, /, *, device_id: str) -> Grant:
        """The grant of ``token``, consumed; :class:`DownloadRefused` when it may not be served.

        A fetch from another browser (or none) is refused without consuming the grant, so a
        leaked link neither works nor spoils the user's own download.
        """
        key = _digest(token)
        now = self.clock()
        with self._lock:
            self._purge(now)
            grant = self._grants.get(key)
            if grant is None:
                gone = self._gone.get(key)
                if gone is not None:
                    raise DownloadRefused(f"This download link was {gone.why}.", status=410,
                                          reason=f"link {gone.why}", owner=gone)
                raise DownloadRefused("This download link is not known.", status=404, reason="unknown link")
            if not grant.user.device or hash_device(device_id) != grant.user.device:
                raise DownloadRefused("This download link belongs to another browser's signed-in session.",
                                      status=403, reason="not the browser that prepared it", owner=grant)
            self._retire(key, "already used", now)
        return grant

    def who(self, token: str, /) -> str:
        """The username ``token`` belongs or belonged to ('' when never known)."""
        key = _digest(token)
        with self._lock:
            grant = self._grants.get(key)
            if grant is not None:
                return grant.user.username
            gone = self._gone.get(key)
            return gone.username if gone is not None else ""

    def revoke(self, user: SignedInUser, /) -> int:
        """Withdraw every grant of ``user`` in its browser (at sign-out); returns how many."""
        now = self.clock()
        with self._lock:
            keys = [k for k, g in self._grants.items() if (g.user.id, g.user.device) == (user.id, user.device)]
            for key in keys:
                self._retire(key, "withdrawn at sign-out", now)
        return len(keys)

    def _retire(self, key: str, why: str, now: float) -> None:
        grant = self._grants.pop(key)
        self._gone[key] = Spent(username=grant.user.username, action=grant.action, patient_code=grant.patient_code,
                                why=why, forget_at=now + TOMBSTONE_S)

    def _purge(self, now: float) -> None:
        for key in [k for k, g in self._grants.items() if g.expires_at <= now]:
            self._retire(key, "expired", now)
        for key in [k for k, spent in self._gone.items() if spent.forget_at <= now]:
            del self._gone[key]


GRANTS = DownloadGrants()


def download_url(token: str, /) -> str:
    """The link the page shows for ``token`` (served by :func:`serve_download`)."""
    return URL_PREFIX + token


# --- the server side (dashboard/server.py) ---------------------------------------------------

@lru_cache(maxsize=2)
def _store_for(url: str):
    from mindmove.store import open_store

    return open_store(url)


def _store():
    from mindmove.settings import load_settings

    return _store_for(load_settings().db_url)


REFUSED_PAGE = ("<!doctype html><meta charset='utf-8'><title>MindMove download</title>"
                "<p style='font:18px sans-serif;margin:2em'>{text} Go back to the MindMove dashboard "
                "and click the download again (sign in first if you were signed out).</p>")


def fetch_download(token: str, *, device_id: str, client: str, grants: DownloadGrants | None = None) -> Grant:
    """Serve one download fetch (blocking: runs in a worker thread): the grant, or
    :class:`DownloadRefused`. Either way the fetch is audited."""
    grants = grants or GRANTS
    store = _store()
    try:
        grant = grants.redeem(token, device_id=device_id)
        fresh = refresh_user(store, grant.user)
        if fresh is None or fresh.role != grant.user.role:
            raise DownloadRefused("This account is no longer active, or its role has changed.", status=403,
                                  reason="user inactive or role changed since sign-in", owner=grant)
    except DownloadRefused as exc:
        owner = exc.owner
        if isinstance(owner, Grant):
            username, action, code = owner.user.username, owner.action, owner.patient_code
        elif isinstance(owner, Spent):
            username, action, code = owner.username, owner.action, owner.patient_code
        else:
            username, action, code = "-", "export_download", None
        audit(store, username, action, patient_code=code, success=False, client=client,
              detail=f"download refused: {exc.reason}")
        raise
    audit(store, grant.user.username, grant.action, patient_code=grant.patient_code, client=client,
          detail=f"downloaded {grant.file_name}; {grant.detail}")
    return grant


async def serve_download(request):
    """The Starlette endpoint of :data:`ROUTE`."""
    from html import escape
    from urllib.parse import quote

    from starlette.concurrency import run_in_threadpool
    from starlette.responses import HTMLResponse, Response

    token = request.path_params.get("token", "")
    client = request.client.host if request.client else ""
    try:
        grant = await run_in_threadpool(fetch_download, token, device_id=request.cookies.get(DEVICE_COOKIE, ""),
                                        client=client)
    except DownloadRefused as exc:
        return HTMLResponse(REFUSED_PAGE.format(text=escape(str(exc))), status_code=exc.status,
                            headers={"Cache-Control": "no-store"})
    headers = {"Content-Disposition": f"attachment; filename*=utf-8''{quote(grant.file_name)}",
               "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    return Response(grant.data, media_type=grant.mime, headers=headers)


class DeviceCookieMiddleware:
    """ASGI middleware: every browser gets a random ``mindmove_device`` cookie (256 bits,
    ``HttpOnly``, ``SameSite=Strict``, ``Secure`` over HTTPS) with the first page it loads.

    It names the browser, never the person: sign-in remembers the browsers a user signed in
    on (known devices, :mod:`mindmove.auth`) and downloads are bound to it.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or _has_device_cookie(scope):
            await self.app(scope, receive, send)
            return
        cookie = (f"{DEVICE_COOKIE}={secrets.token_urlsafe(32)}; Path=/; Max-Age={DEVICE_COOKIE_MAX_AGE_S}; "
                  "HttpOnly; SameSite=Strict" + ("; Secure" if scope.get("scheme") == "https" else ""))

        async def send_with_cookie(message) -> None:
            # on the page itself only: its scripts and styles, fetched alongside, must not each
            # hand the browser a different cookie
            if message["type"] == "http.response.start" and _is_html(message.get("headers", [])):
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _is_html(headers) -> bool:
    return any(name.lower() == b"content-type" and value.lower().startswith(b"text/html") for name, value in headers)


def _has_device_cookie(scope) -> bool:
    from http.cookies import CookieError, SimpleCookie

    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                jar = SimpleCookie(value.decode("latin-1"))
            except CookieError:
                return False
            morsel = jar.get(DEVICE_COOKIE)
            return morsel is not None and bool(hash_device(morsel.value))
    return False
