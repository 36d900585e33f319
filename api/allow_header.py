"""Correct `Allow` on OPTIONS responses.

Litestar 2's automatic OPTIONS handler lists only the methods of the first handler registered
for a path (litestar-org/litestar#4169, fixed in 3.0), so a path with GET, PATCH and DELETE
would advertise GET alone. This middleware rewrites the header from the app's route map.
"""

import re
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send


class AllowHeaderMiddleware(ASGIMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            await next_app(scope, receive, send)
            return
        methods = allowed_methods(scope)

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and methods:
                MutableScopeHeaders(message)["Allow"] = ", ".join(methods)
            await send(message)

        await next_app(scope, receive, send_with_allow)


_PARAMETER_TYPE = re.compile(r"\{(\w+):\w+\}")


def allowed_methods(scope: Scope) -> list[str]:
    app: Any = scope["litestar_app"]
    # The scope's template omits parameter types (`{actor_id}`); the route map keeps them.
    by_template = {_PARAMETER_TYPE.sub(r"{\1}", path): methods for path, methods in app.route_handler_method_map.items()}
    handlers = by_template.get(scope.get("path_template", ""), {})
    return sorted({*handlers.keys(), "OPTIONS"}) if handlers else []
