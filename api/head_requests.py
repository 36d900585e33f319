"""HEAD on every GET route (RFC 9110 §9.3.2): the GET's status and headers, without its body.

Litestar 2 routes HEAD only to handlers declared for it, and refuses a HEAD handler that returns
a body, so every GET route would answer HEAD with 405. This wrapper sits outside Litestar's
router: it routes a HEAD request as GET and drops the body on the way out, so the headers
(Content-Length, ETag, Link, Cache-Control) are exactly those of the GET. It also adds HEAD to
any `Allow` header that lists GET (the OPTIONS answer and 405s).
"""

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope["method"] = "GET"
        body_sent = False

        async def send_headers_only(message: Message) -> None:
            nonlocal body_sent
            if message["type"] == "http.response.start":
                allow = MutableScopeHeaders(message).get("allow")
                if allow:
                    methods = [m.strip() for m in allow.split(",") if m.strip()]
                    if "GET" in methods and "HEAD" not in methods:
                        MutableScopeHeaders(message)["allow"] = ", ".join(sorted({*methods, "HEAD"}))
            elif head and message["type"] == "http.response.body":
                if body_sent:
                    return  # the rest of a streamed GET body: HEAD ended at its first chunk
                body_sent = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app(scope, receive, send_headers_only)
