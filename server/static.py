"""The browser client, served on the server's own port: ``client_web/``, the room assets and
the few vendor files the client imports.

One function, :func:`static_response`, maps a request path to a response or to ``None`` (not
ours: the gateway goes on to its own routes). Only known trees are served, read-only, each
from a fixed directory; a path is decoded, refused if any segment is empty, a dot-segment or
hidden, then resolved and checked to stay inside its directory (symlinks included), so that
no spelling of ``..`` reaches anything else. Of ``node_modules`` only the parts of the
packages the client imports are reachable.
"""

from __future__ import annotations

import base64
import hashlib
import re
from http import HTTPStatus
from pathlib import Path
from urllib.parse import unquote

from websockets.datastructures import Headers
from websockets.http11 import Response

from scenes.layout import known_layouts

ROOT = Path(__file__).resolve().parent.parent
CLIENT_DIR = ROOT / "client_web"
VENDOR_DIR = CLIENT_DIR / "node_modules"
SCENES_DIR = ROOT / "scenes"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".glb": "model/gltf-binary",
}

# URL prefix -> (directory, folders of it that may be served, file types allowed there).
# A folder is served at any depth; "" is the directory's top level alone. Of the vendor
# package, only the module build and the add-ons (the glTF loader) the client imports.
_TREES: tuple[tuple[str, Path, tuple[str, ...], frozenset[str]], ...] = (
    ("/vendor/three/", VENDOR_DIR / "three", ("build/", "examples/jsm/"), frozenset({".js"})),
    ("/scenes/assets/", SCENES_DIR / "assets", ("",), frozenset({".glb"})),
    ("/scenes/layouts/", SCENES_DIR / "layouts", ("",), frozenset({".json"})),
    # The client's own files, last: the rest of the URL space that is ours.
    (
        "/",
        CLIENT_DIR,
        ("css/", "js/", "img/", ""),
        frozenset({".html", ".js", ".css", ".svg", ".png", ".ico"}),
    ),
)
# Folders of client_web/ that hold no files for browsers.
_PRIVATE = frozenset({"node_modules", "test"})
# The server's default layout, under a fixed name: what clients that predate welcome.layout ask.
LAYOUT_PATH = "/layout.json"
# Any known layout by name (welcome.layout): /layouts/seminar_room.json. Its glTF asset is the
# layout's ``asset``, served under /scenes/ like every asset.
LAYOUTS_PREFIX = "/layouts/"
_LAYOUT_FILE = re.compile(r"/layouts/([a-z0-9_]{1,64})\.json")
_KNOWN_LAYOUTS = known_layouts()

_IMPORT_MAP = re.compile(rb'<script type="importmap">(.*?)</script>', re.DOTALL)


def static_response(path: str, *, layout: str) -> Response | None:
    """The file for URL ``path`` (no query), or ``None`` when the path is not one we serve.

    ``layout`` names the server's default layout, answered at :data:`LAYOUT_PATH`.
    """
    if path == LAYOUT_PATH:
        path = f"/scenes/layouts/{layout}.json"
    elif path.startswith(LAYOUTS_PREFIX):
        named = _LAYOUT_FILE.fullmatch(path)
        if named is None or named.group(1) not in _KNOWN_LAYOUTS:
            return None
        path = f"/scenes/layouts/{named.group(1)}.json"
    file = resolve(path)
    if file is None:
        return None
    try:
        body = file.read_bytes()
    except OSError:
        return None
    return _response(body, CONTENT_TYPES[file.suffix])


def resolve(path: str) -> Path | None:
    """The file behind URL ``path``, or ``None``: not found, not allowed, or outside its tree."""
    for prefix, base, folders, types in _TREES:
        if not path.startswith(prefix):
            continue
        rel = _clean(path[len(prefix) :])
        if rel is None:
            return None
        if base == CLIENT_DIR and rel.split("/", 1)[0] in _PRIVATE:
            return None
        if not _allowed(rel, folders):
            return None
        file = base / rel
        if file.suffix not in types:
            return None
        return _inside(file, base)
    return None


def _allowed(rel: str, folders: tuple[str, ...]) -> bool:
    """In a listed folder, at any depth; ``""`` stands for the tree's top level only."""
    return any(rel.startswith(f) if f else "/" not in rel for f in folders)


def _clean(rel: str) -> str | None:
    """Percent-decoded relative path, or ``None`` if any segment could climb or hide."""
    try:
        decoded = unquote(rel, errors="strict") if "%" in rel else rel
    except UnicodeDecodeError:
        return None  # %ff and friends: no file of ours is named so
    if not decoded or "\\" in decoded or "\x00" in decoded:
        return None
    segments = decoded.split("/")
    if any(not s or s.startswith(".") for s in segments):
        return None  # "", ".", "..", ".git", "//"
    return decoded


def _inside(file: Path, base: Path) -> Path | None:
    try:
        real = file.resolve(strict=True)
        root = base.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(root) or not real.is_file():
        return None
    return real


def _response(body: bytes, content_type: str) -> Response:
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            # Revalidate every time: the files change with the server, and are small on a LAN.
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
        ]
    )
    if content_type.startswith("text/html"):
        headers["Content-Security-Policy"] = _policy(body)
        headers["X-Frame-Options"] = "DENY"
    return Response(HTTPStatus.OK.value, HTTPStatus.OK.phrase, headers, body)


def _policy(page: bytes) -> str:
    """A strict policy for a page: its own files only, plus its inline import map by hash."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode()}'"
        for m in _IMPORT_MAP.finditer(page)
    )
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {hashes}".rstrip(),
            "style-src 'self'",
            "img-src 'self' data: blob:",
            # The room's WebSocket may be on another node of the cluster (accepted.url).
            "connect-src 'self' ws: wss:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
