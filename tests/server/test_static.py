"""The browser client's files on the server's port: what is served, with which type, and that
no spelling of a path reaches anything else."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from server import static
from server.app import WealthroomServer
from server.static import CLIENT_DIR, resolve, static_response


def _served(path: str, layout: str = "private_room") -> tuple[str, bytes]:
    response = static_response(path, layout=layout)
    assert response is not None, path
    assert response.status_code == 200
    return response.headers["Content-Type"], bytes(response.body)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/room.html", "text/html; charset=utf-8"),
        ("/console.html", "text/html; charset=utf-8"),
        ("/js/codec.js", "text/javascript; charset=utf-8"),
        ("/css/wealthroom.css", "text/css; charset=utf-8"),
        ("/img/icon.svg", "image/svg+xml"),
        ("/vendor/three/build/three.module.js", "text/javascript; charset=utf-8"),
        ("/vendor/three/build/three.core.js", "text/javascript; charset=utf-8"),
        ("/vendor/three/examples/jsm/loaders/GLTFLoader.js", "text/javascript; charset=utf-8"),
        ("/scenes/assets/private_room.glb", "model/gltf-binary"),
        ("/scenes/layouts/seminar_room.json", "application/json"),
    ],
)
def test_the_client_and_its_assets_are_served_with_their_types(
    path: str, content_type: str
) -> None:
    served_type, body = _served(path)
    assert served_type == content_type
    assert body


def test_the_layout_in_use_has_a_fixed_address() -> None:
    _, body = _served("/layout.json", layout="branch_lobby")
    assert json.loads(body)["name"] == "branch_lobby"


def test_pages_carry_a_policy_that_admits_their_import_map_alone() -> None:
    response = static_response("/room.html", layout="private_room")
    assert response is not None
    policy = response.headers["Content-Security-Policy"]
    body = bytes(response.body)
    import_map = re.search(rb'<script type="importmap">(.*?)</script>', body, re.DOTALL)
    assert import_map is not None
    digest = base64.b64encode(hashlib.sha256(import_map.group(1)).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Everything else is not a page: no policy needed, the type is enough (nosniff).
    js = static_response("/js/codec.js", layout="private_room")
    assert js is not None
    assert "Content-Security-Policy" not in js.headers


@pytest.mark.parametrize(
    "path",
    [
        # Not ours: the gateway's own routes and 404.
        "/nothing-here.html",
        "/ws/demo",
        # Private parts of client_web/: packages, tests, npm files, the install script.
        "/node_modules/three/build/three.module.js",
        "/test/codec.test.js",
        "/package.json",
        "/package-lock.json",
        "/node_modules.sh",
        "/.gitignore",
        # Of the vendor package only the builds and the add-ons; no other package at all.
        "/vendor/three/package.json",
        "/vendor/three/src/Three.js",
        "/vendor/three/build/three.cjs",
        "/vendor/@msgpack/msgpack/dist.esm/index.mjs",
        "/vendor/msgpack/index.js",
        # Climbing out, in every spelling.
        "/js/../../server/app.py",
        "/js/../room.html",
        "/js/%2e%2e/%2e%2e/run_server.py",
        "/js/..%2f..%2fserver/app.py",
        "/js/%2E%2E%2F%2E%2E%2Fpyproject.toml",
        "/scenes/assets/..%2flayouts/private_room.json",
        "/scenes/assets/../../server/keys.py",
        "/vendor/three/build/../../../../server/app.py",
        "/vendor/three/examples/jsm/../../package.json",
        "/css/%252e%252e/%252e%252e/server/app.py",
        "//etc/passwd",
        "/js//codec.js",
        "/js/./codec.js",
        "/js\\..\\..\\server\\app.py",
        "/js/codec.js%00.html",
        "/.git/config",
        "/js/.hidden.js",
        "/%ff%fe.js",
    ],
)
def test_nothing_else_is_reachable(path: str) -> None:
    assert static_response(path, layout="private_room") is None


def test_a_layout_name_cannot_climb_either() -> None:
    assert static_response("/layout.json", layout="../../server/app") is None


def test_a_symlink_out_of_a_tree_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tmp_path / "client"
    (tree / "js").mkdir(parents=True)
    (tree / "js" / "ok.js").write_text("export {};\n")
    secret = tmp_path / "secret.js"
    secret.write_text("the key\n")
    (tree / "js" / "leak.js").symlink_to(secret)
    (tree / "js" / "dir").symlink_to(tmp_path)
    monkeypatch.setattr(static, "_TREES", (("/", tree, ("js/",), frozenset({".js"})),))
    assert resolve("/js/ok.js") == (tree / "js" / "ok.js").resolve()
    assert resolve("/js/leak.js") is None
    assert resolve("/js/dir/secret.js") is None


def test_every_module_the_pages_import_is_served() -> None:
    """Relative imports between the client's modules all resolve to served files."""
    for module in sorted((CLIENT_DIR / "js").glob("*.js")):
        for target in re.findall(r'from "(\./[^"]+)"', module.read_text("utf-8")):
            assert resolve("/js/" + target.removeprefix("./")) is not None, (module, target)


async def _raw_get(server: WealthroomServer, path: str) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request exactly as written: no client library to tidy the path first."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


async def test_the_server_serves_the_client_and_refuses_climbing(
    server: WealthroomServer,
) -> None:
    status, headers, body = await _raw_get(server, "/room.html")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<canvas id="scene"' in body
    status, headers, _ = await _raw_get(server, "/vendor/three/build/three.module.js")
    assert status == 200
    assert headers["Content-Type"] == "text/javascript; charset=utf-8"
    for path in ("/js/../../server/app.py", "/js/%2e%2e/%2e%2e/run_server.py", "/../var"):
        status, _, body = await _raw_get(server, path)
        assert status == 404, path
        assert b"import" not in body
    # The gateway's own pages are untouched.
    status, _, body = await _raw_get(server, "/healthz")
    assert status == 200
    assert json.loads(body)["status"] == "ok"
