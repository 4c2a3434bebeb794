"""Plain HTTP answered on the WebSocket port: health, metrics, the landing page."""

from __future__ import annotations

import html
import json
from http import HTTPStatus

from websockets.datastructures import Headers
from websockets.http11 import Response


def response(status: HTTPStatus, body: bytes, content_type: str) -> Response:
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ]
    )
    return Response(status.value, status.phrase, headers, body)


def json_response(status: HTTPStatus, payload: object) -> Response:
    return response(status, json.dumps(payload).encode(), "application/json")


def text_response(status: HTTPStatus, text: str) -> Response:
    return response(status, text.encode(), "text/plain; charset=utf-8")


def landing_page(open_rooms: int, ws_base: str) -> Response:
    # Only a count: room names are customers' business and this page asks for no token.
    rooms = f"{open_rooms} room{'' if open_rooms == 1 else 's'} open"
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wealthroom</title></head>
<body>
<h1>Wealthroom server</h1>
<p>{rooms}. Join one at <code>{html.escape(ws_base)}/ws/ROOM</code> with a token from
<code>run_server.py token</code>.</p>
<p>In a browser: <code>/room.html#room=ROOM&amp;token=TOKEN</code> for a room,
<code>/console.html#token=TOKEN</code> for the advisor console (<code>run_server.py serve</code>
prints both links with demo tokens). Tokens go after <code>#</code>, so no server log sees them.</p>
<p>Health: <a href="/healthz">/healthz</a> &middot; Metrics: <a href="/metrics">/metrics</a></p>
</body></html>
"""
    return response(HTTPStatus.OK, body.encode(), "text/html; charset=utf-8")
