"""A browser's studio id: a random token in an HttpOnly cookie, so its films outlive a server restart.

Without a login, a browser's owner folder is keyed from this token (`Studio.owner_key(None, token)`). The cookie
is set by `BrowserCookie` on the first response to a browser that has none, and read back by the page's `load`
handler and by the file guard (`ui.files.OwnFilesOnly`). Scripts cannot read it, and other sites do not send it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui.session import new_browser_token

BROWSER_COOKIE = "director-browser"
MAX_AGE_SECONDS = 400 * 24 * 3600
_TOKEN = re.compile(r"[0-9a-f]{32}")


def browser_token(cookies: Mapping[str, str] | None) -> str | None:
    """The browser's token from its cookies, or None when it has none (or a malformed one)."""
    token = (cookies or {}).get(BROWSER_COOKIE)
    return token if isinstance(token, str) and _TOKEN.fullmatch(token) else None


def is_https(connection: HTTPConnection) -> bool:
    forwarded = connection.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return connection.url.scheme in ("https", "wss") or forwarded == "https"


def browser_cookie_header(token: str, secure: bool) -> str:
    cookie = SimpleCookie()
    cookie[BROWSER_COOKIE] = token
    morsel = cookie[BROWSER_COOKIE]
    morsel["path"] = "/"
    morsel["max-age"] = MAX_AGE_SECONDS
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    if secure:
        morsel["secure"] = True
    return morsel.OutputString()


class BrowserCookie:
    """ASGI middleware: a response to a request without a valid browser cookie sets a new one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        if browser_token(connection.cookies) is not None:
            await self.app(scope, receive, send)
            return
        header = browser_cookie_header(new_browser_token(), secure=is_https(connection))

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", header)
            await send(message)

        await self.app(scope, receive, send_with_cookie)
