"""The history's HTTP routes on a real ledger (SQLite and PostgreSQL), through the server's
router: who may see what (admin token, signed cookie, a coach's join token), and bad input —
forged or expired tokens and cookies, another room's coach, a token in a query string, a
session id that is not one, a deleted session, a cross-origin POST: 4xx, nothing shown,
nothing deleted."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from signaling_core import CoreConfig
from signaling_core.join_tokens import mint_token
from trio_server.history import COOKIE, Access, HistoryAuth, register
from trio_server.http import HttpRequest, HttpResponse, Router, text_response
from trio_server.ledger import LedgerReader, backend_from_url

from .driver import WALL0, CoreDriver
from .test_records import play

ADMIN = "admin-token-of-the-history-test"
SECRET = "join-secret-of-the-history-test-0123456789"
HOST = "127.0.0.1:8080"
ORIGIN = f"http://{HOST}"
T0 = 1_750_000_000.0


def line(n: int, speaker: str, role: str, text: str) -> dict[str, Any]:
    return {"type": "ai_transcript", "utteranceId": f"u-{n}", "speakerId": speaker,
            "speakerRole": role, "text": text, "startedAt": T0 + 10 * n,
            "endedAt": T0 + 10 * n + 2}


def two_rooms(d: CoreDriver) -> None:
    """s1 in room-1 (ended, transcript, summary), s2 in room-2 (ended), s3 in room-3 (live)."""
    coach = d.at(0).join("room-1", "coach-1", "coach", "Coach Carol")
    orb = d.at(1).join("room-1", "ai-orb-s1", "ai", "AI Assistant")
    client = d.at(2).join("room-1", "client-1", "client", "Client Chris")
    d.at(3).status(orb, "listening", "s1")
    d.at(4).send(orb, line(2, "coach-1", "coach", "How are your evenings?"))
    d.at(5).send(orb, line(1, "client-1", "client", "I want more time for my family."))
    d.at(6).send(orb, {"type": "ai_summary", "text": "Key topics: more time for my family\n"
                       "Client's stated goals:\n- I want more time for my family.",
                       "method": "extractive"})
    d.at(7).send(client, {"type": "leave"})
    d.at(8).send(orb, {"type": "leave"})
    d.at(9).send(coach, {"type": "leave"})
    other = d.at(10).join("room-2", "coach-2", "coach", "Coach Dana")
    d.at(11).send(other, {"type": "leave"})
    d.at(12).join("room-3", "coach-3", "coach", "Coach Eve")  # still live


class Site:
    """The history routes over one ledger, called as the HTTP front would call them."""

    def __init__(self, db: str, *, clock: float | None = None) -> None:
        self.backend = backend_from_url(db)
        self.now = clock if clock is not None else time.time()
        self.auth = HistoryAuth(ADMIN, SECRET, tls=False, clock=lambda: self.now)
        self.router = Router()
        register(self.router, self.auth, self.backend,
                 lambda request: text_response(200, "the history page"))

    async def call(self, method: str, target: str, headers: dict[str, str] | None = None
                   ) -> HttpResponse:
        path, _, qs = target.partition("?")
        query = dict(part.split("=", 1) for part in qs.split("&") if "=" in part)
        request = HttpRequest(method, path, query, {"host": HOST, **(headers or {})},
                              "127.0.0.1")
        return await self.router.dispatch(request)

    async def json(self, target: str, headers: dict[str, str]) -> Any:
        response = await self.call("GET", target, headers)
        assert response.status == 200, response
        return orjson.loads(response.body)

    def exists(self, session_id: str) -> bool:
        return LedgerReader(self.backend).session(session_id) is not None


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def coach_token(room: str, *, role: str = "coach", ttl: float = 3600,
                secret: str = SECRET, now: float | None = None) -> str:
    return mint_token(secret, room_id=room, user_id=f"{role}-x", user_role=role, ttl=ttl,
                      now=time.time() if now is None else now)


async def login_cookie(site: Site, token: str) -> dict[str, str]:
    response = await site.call("POST", "/api/history/login", {**bearer(token), "origin": ORIGIN})
    assert response.status == 200, response
    set_cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
    return {"cookie": set_cookie.split(";", 1)[0]}


@pytest.fixture
async def site(db: str) -> Site:
    await play(db, CoreConfig(orbs_enabled=True), two_rooms)
    return Site(db)


async def test_the_admin_token_lists_every_session_with_its_summary(site: Site) -> None:
    page = await site.json("/api/history/sessions", bearer(ADMIN))
    rows = {s["sessionId"]: s for s in page["sessions"]}
    assert list(rows) == ["s3", "s2", "s1"]  # newest first
    assert rows["s1"]["summaryFirstLine"] == "Key topics: more time for my family"
    assert [p["userName"] for p in rows["s1"]["participants"]] == [
        "Coach Carol", "AI Assistant", "Client Chris"]
    assert rows["s1"]["durationSeconds"] == 9 and rows["s3"]["durationSeconds"] is None
    assert page["more"] is False


async def test_filters_and_pages(site: Site) -> None:
    page = await site.json("/api/history/sessions?room=room-1", bearer(ADMIN))
    assert [s["sessionId"] for s in page["sessions"]] == ["s1"]
    first = await site.json("/api/history/sessions?limit=2", bearer(ADMIN))
    assert [s["sessionId"] for s in first["sessions"]] == ["s3", "s2"] and first["more"]
    rest = await site.json("/api/history/sessions?limit=2&offset=2", bearer(ADMIN))
    assert [s["sessionId"] for s in rest["sessions"]] == ["s1"] and not rest["more"]
    day = time.strftime("%Y-%m-%d", time.gmtime(WALL0))
    assert len((await site.json(f"/api/history/sessions?from={day}&to={day}",
                                bearer(ADMIN)))["sessions"]) == 3
    assert (await site.json("/api/history/sessions?from=2030-01-01",
                            bearer(ADMIN)))["sessions"] == []
    for bad in ("from=yesterday", "to=2024-13-45", "room=a%20b", "room=../x", "limit=0",
                "limit=x", "offset=-1"):
        response = await site.call("GET", f"/api/history/sessions?{bad}", bearer(ADMIN))
        assert response.status == 400, bad


async def test_one_session_in_full_and_its_exports(site: Site) -> None:
    body = await site.json("/api/history/sessions/s1", bearer(ADMIN))
    assert [t["text"] for t in body["transcript"]] == [
        "I want more time for my family.", "How are your evenings?"]  # spoken order
    assert body["summary"]["text"].startswith("Key topics:")
    assert [s["status"] for s in body["statusTimeline"]] == ["listening"]
    md = await site.call("GET", "/api/history/sessions/s1/export?format=md", bearer(ADMIN))
    assert md.status == 200 and md.content_type.startswith("text/markdown")
    assert 'filename="session-s1.md"' in md.headers["Content-Disposition"]
    text = md.body.decode()
    assert "**Client Chris**" in text and "I want more time for my family." in text
    assert text.index("Client Chris**") < text.index("How are your evenings?")
    js = await site.call("GET", "/api/history/sessions/s1/export?format=json", bearer(ADMIN))
    assert orjson.loads(js.body)["transcript"][1]["text"] == "How are your evenings?"
    assert (await site.call("GET", "/api/history/sessions/s1/export?format=pdf",
                            bearer(ADMIN))).status == 400


async def test_login_sets_a_signed_cookie_that_opens_the_history(site: Site) -> None:
    cookie = await login_cookie(site, ADMIN)
    assert (await site.json("/api/history/me", cookie)) == {"room": None}
    assert len((await site.json("/api/history/sessions", cookie))["sessions"]) == 3


async def test_forged_expired_and_foreign_cookies_are_refused(site: Site) -> None:
    value = (await login_cookie(site, ADMIN))["cookie"].split("=", 1)[1]
    version, expiry, scope, mac = value.split(".")
    other = HistoryAuth("another-servers-token", SECRET, tls=False).cookie_value(Access(None))
    forged = [
        f"{version}.{int(expiry) + 999}.{scope}.{mac}",      # longer life, same MAC
        f"{version}.{expiry}.{scope}.{mac[:-2]}AA",           # another MAC
        other,                                                # signed by another admin token
        "v1.9999999999.Kg.",                                  # no MAC at all
        "garbage",
    ]
    for bad in forged:
        response = await site.call("GET", "/api/history/sessions", {"cookie": f"{COOKIE}={bad}"})
        assert response.status == 401, bad
        assert b"sessionId" not in response.body
    site.now += 13 * 3600  # past the cookie's 12 h
    response = await site.call("GET", "/api/history/sessions", {"cookie": f"{COOKIE}={value}"})
    assert response.status == 401


async def test_a_token_in_the_query_string_is_refused_even_when_valid(site: Site) -> None:
    for target in (f"/api/history/sessions?token={ADMIN}",
                   f"/api/history/sessions/s1?token={ADMIN}",
                   f"/api/history/sessions?access_token={coach_token('room-1')}"):
        response = await site.call("GET", target, bearer(ADMIN))
        assert response.status == 400 and b"query string" in response.body
        assert b"family" not in response.body


async def test_nothing_without_credentials_or_with_bad_tokens(site: Site) -> None:
    expired = coach_token("room-1", ttl=60, now=time.time() - 3600)
    forged = coach_token("room-1", secret="another-secret-0123456789-0123456789")
    for headers in ({}, bearer("wrong-admin-token"), bearer(forged), bearer(expired),
                    {"authorization": f"Basic {ADMIN}"}):
        for target in ("/api/history/sessions", "/api/history/sessions/s1",
                       "/api/history/sessions/s1/export?format=md"):
            response = await site.call("GET", target, headers)
            assert response.status == 401, (headers, target)
            assert b"family" not in response.body and b"sessionId" not in response.body
        response = await site.call("POST", "/api/history/login", {**headers, "origin": ORIGIN})
        assert response.status == 401 and "Set-Cookie" not in response.headers


async def test_a_clients_token_never_opens_the_history(site: Site) -> None:
    token = coach_token("room-1", role="client")
    for target in ("/api/history/sessions", "/api/history/sessions/s1"):
        response = await site.call("GET", target, bearer(token))
        assert response.status == 403 and b"family" not in response.body
    response = await site.call("POST", "/api/history/login", {**bearer(token), "origin": ORIGIN})
    assert response.status == 403 and "Set-Cookie" not in response.headers


async def test_a_coachs_token_opens_its_own_room_only(site: Site) -> None:
    token = coach_token("room-2")
    for headers in (bearer(token), await login_cookie(site, token)):
        page = await site.json("/api/history/sessions", headers)
        assert [s["sessionId"] for s in page["sessions"]] == ["s2"]
        assert (await site.call("GET", "/api/history/sessions?room=room-1", headers)).status \
            == 403
        for target in ("/api/history/sessions/s1", "/api/history/sessions/s1/export?format=md"):
            response = await site.call("GET", target, headers)
            assert response.status == 404 and b"family" not in response.body
        response = await site.call("DELETE", "/api/history/sessions/s1",
                                   {**headers, "origin": ORIGIN})
        assert response.status == 404
        assert site.exists("s1")
        assert (await site.json("/api/history/sessions/s2", headers))["roomId"] == "room-2"


async def test_session_ids_that_are_not_ones(site: Site) -> None:
    for sid in ("nope", "..%2F..%2Fetc", "a" * 129, "s1/../s2", "s1/transcript", "%00"):
        response = await site.call("GET", f"/api/history/sessions/{sid}", bearer(ADMIN))
        assert response.status == 404, sid
        assert b"family" not in response.body
    assert (await site.call("GET", "/history/" + "x" * 200, {})).status == 404
    assert (await site.call("GET", "/history/s1", {})).status == 200  # the page shell only


async def test_delete_is_csrf_safe_and_removes_the_session(site: Site) -> None:
    cookie = await login_cookie(site, ADMIN)
    for headers in ({**cookie, "origin": "https://evil.example"}, cookie,
                    {**cookie, "origin": "null"}):
        response = await site.call("DELETE", "/api/history/sessions/s1", headers)
        assert response.status == 403, headers
        assert site.exists("s1")
    response = await site.call("POST", "/api/history/login",
                               {**bearer(ADMIN), "origin": "https://evil.example"})
    assert response.status == 403 and "Set-Cookie" not in response.headers
    # A POST (a form's method) to the session is no way to delete it.
    assert (await site.call("POST", "/api/history/sessions/s1",
                            {**cookie, "origin": ORIGIN})).status == 405
    assert site.exists("s1")
    assert (await site.call("DELETE", "/api/history/sessions/s1/export",
                            {**cookie, "origin": ORIGIN})).status == 404
    assert site.exists("s1")
    response = await site.call("DELETE", "/api/history/sessions/s1", {**cookie, "origin": ORIGIN})
    assert response.status == 204
    assert not site.exists("s1")
    for target in ("/api/history/sessions/s1", "/api/history/sessions/s1/export?format=json"):
        assert (await site.call("GET", target, bearer(ADMIN))).status == 404
    assert (await site.call("DELETE", "/api/history/sessions/s1",
                            {**cookie, "origin": ORIGIN})).status == 404
    page = await site.json("/api/history/sessions", bearer(ADMIN))
    assert [s["sessionId"] for s in page["sessions"]] == ["s3", "s2"]


async def test_a_live_session_is_not_deleted(site: Site) -> None:
    response = await site.call("DELETE", "/api/history/sessions/s3", bearer(ADMIN))
    assert response.status == 409
    assert site.exists("s3")


async def test_a_cookie_from_one_node_opens_the_history_on_another(db: str) -> None:
    """Several nodes share one ledger and one --admin-token: the cookie is stateless, so the
    node that did not issue it accepts it; a room-scoped one cannot be widened."""
    await play(db, CoreConfig(orbs_enabled=True), two_rooms)
    node_a, node_b = Site(db), Site(db)
    cookie = await login_cookie(node_a, coach_token("room-2"))
    page = await node_b.json("/api/history/sessions", cookie)
    assert [s["sessionId"] for s in page["sessions"]] == ["s2"]
    version, expiry, _scope, mac = cookie["cookie"].split("=", 1)[1].split(".")
    widened = Access(None)  # the admin scope, with the room cookie's MAC
    other_scope = node_a.auth.cookie_value(widened).split(".")[2]
    response = await node_b.call("GET", "/api/history/sessions",
                                 {"cookie": f"{COOKIE}={version}.{expiry}.{other_scope}.{mac}"})
    assert response.status == 401
