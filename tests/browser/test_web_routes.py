"""The browser routes through the real router: pages, modules, content types, caching, and
that no path (dots, slashes, encodings) reaches outside the static table."""

from __future__ import annotations

import re

import pytest

from trio_server import web
from trio_server.http import HttpRequest, HttpResponse, Router


def _router() -> Router:
    router = Router()
    web.register(router)
    return router


async def _get(path: str, headers: dict[str, str] | None = None) -> HttpResponse:
    request = HttpRequest("GET", path, {}, headers or {"host": "127.0.0.1:3000"})
    return await _router().dispatch(request)


async def test_lobby_is_html_with_a_policy() -> None:
    response = await _get("/")
    assert response.status == 200
    assert response.content_type == "text/html; charset=utf-8"
    assert b'<form id="join-form"' in response.body
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "ws://127.0.0.1:3000" in csp


async def test_call_page_for_a_valid_room_id() -> None:
    response = await _get("/room/coaching-42.a_b~c")
    assert response.status == 200
    assert b'src="/static/room.js"' in response.body


@pytest.mark.parametrize(
    "path", ["/room/", "/room/a/b", "/room/a b", "/room/a%2Fb", "/room/" + "x" * 129, "/room/<b>"]
)
async def test_call_page_refuses_invalid_room_ids(path: str) -> None:
    response = await _get(path)
    assert response.status == 404


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("tri-party.js", "text/javascript; charset=utf-8"),
        ("peer-link.js", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
    ],
)
async def test_static_content_types(name: str, content_type: str) -> None:
    response = await _get(f"/static/{name}")
    assert response.status == 200
    assert response.content_type == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.body


async def test_etag_revalidation_answers_304() -> None:
    first = await _get("/static/tri-party.js")
    again = await _get("/static/tri-party.js", {"if-none-match": first.headers["ETag"]})
    assert again.status == 304
    assert again.body == b""
    stale = await _get("/static/tri-party.js", {"if-none-match": '"0000"'})
    assert stale.status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/static/../web.py",
        "/static/..%2fweb.py",
        "/static/%2e%2e/web.py",
        "/static/%2e%2e%2fweb.py",
        "/static//etc/passwd",
        "/static/..\\web.py",
        "/static/",
        "/static/./tri-party.js",
        "/static/web.py",
        "/static/__init__.py",
    ],
)
async def test_no_path_leaves_the_static_table(path: str) -> None:
    response = await _get(path)
    assert response.status == 404
    assert b"import" not in response.body


async def test_only_known_suffixes_are_served() -> None:
    files = web.load_static()
    assert "tri-party.js" in files
    assert all(name.rsplit(".", 1)[-1] in {"html", "js", "css", "svg"} for name in files)


async def test_call_page_preloads_its_whole_module_graph() -> None:
    """Every module room.js reaches is named in a modulepreload link, so a new import cannot
    silently add a round trip to joining a call."""
    files = web.load_static()
    reached: set[str] = set()
    todo = ["room.js"]
    while todo:
        name = todo.pop()
        for imported in re.findall(r"from '\./([\w.-]+\.js)'", files[name].body.decode()):
            if imported not in reached:
                reached.add(imported)
                todo.append(imported)
    page = files["room.html"].body.decode()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/static/([\w.-]+)">', page))
    assert reached and reached == preloaded
