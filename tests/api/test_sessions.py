"""Sessions that end (issue 20, item 5): a session cookie stops working at once after the
reviewer signs out, gets a new password, is revoked or removed, on a real uvicorn server;
a removed reviewer's cookie records no decision."""

from __future__ import annotations

import json
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from heaters.pipeline.runtime import open_runtime
from heaters.pipeline.submit import submit
from tests.api.conftest import Api
from tests.api.test_dashboard import _login
from tests.conftest import REPO, heaters_cmd, run_to_detected

PASSWORD = "correct horse battery"


def _stolen(api: Api, signed_in: httpx.Client) -> httpx.Client:
    """Another client holding a copy of ``signed_in``'s cookies (a second browser, a copied
    cookie)."""
    other = httpx.Client(base_url=api.url, timeout=60, follow_redirects=False)
    for cookie in signed_in.cookies.jar:
        other.cookies.jar.set_cookie(cookie)
    return other


def _ended(c: httpx.Client) -> None:
    """``c``'s session no longer works: a page redirects to the sign-in, JSON gets 401, htmx
    is told to load the sign-in page."""
    r = c.get("/dashboard")
    assert r.status_code == 303 and r.headers["location"].startswith("/login"), r.status_code
    r = c.get("/dashboard", headers={"Accept": "application/json"})
    assert r.status_code == 401, r.text
    r = c.get("/dashboard", headers={"HX-Request": "true"})
    assert r.status_code == 401 and r.headers["HX-Redirect"] == "/login"
    # the sign-in page shows its form (no redirect loop back to a page that refuses)
    assert c.get("/login").status_code == 200


def _sign_in(api: Api) -> httpx.Client:
    c = httpx.Client(base_url=api.url, timeout=60, follow_redirects=False)
    c.get("/login")
    r = c.post("/login", data={"name": "ops", "password": PASSWORD, "next": "/dashboard",
                               "_csrf_token": c.cookies["heaters_csrf"]})  # fmt: skip
    assert r.status_code == 303, r.text
    assert c.get("/dashboard").status_code == 200
    return c


@pytest.mark.slow  # several sign-ins, each a password hash (~7 s)
def test_logout_new_password_and_revoke_end_every_session(api: Api) -> None:
    first = _login(api)
    assert isinstance(first, httpx.Client)
    with closing(first), _stolen(api, first) as copy, closing(_sign_in(api)) as other_browser:
        assert copy.get("/dashboard").status_code == 200
        r = first.post("/logout", headers={"X-CSRFToken": first.cookies["heaters_csrf"]})
        assert r.status_code == 303
        _ended(copy)  # the copied cookie, from before the sign-out
        _ended(other_browser)  # signing out ends the reviewer's other sessions too

    with closing(_sign_in(api)) as c:  # a new password (heaters user add on an existing name)
        changed = _user(api, "add", "ops", "--password-stdin", stdin=PASSWORD + "\n")
        assert changed.returncode == 0, changed.stderr
        _ended(c)

    with closing(_sign_in(api)) as c:
        revoked = _user(api, "revoke", "ops", "--json")
        assert revoked.returncode == 0, revoked.stderr
        assert json.loads(revoked.stdout) == {"user": "ops", "action": "revoke", "found": True}
        _ended(c)
    missing = _user(api, "revoke", "nobody")
    assert missing.returncode == 1 and "no user named 'nobody'" in missing.stderr


@pytest.mark.slow  # several sign-ins, each a password hash (~7 s)
async def test_a_removed_reviewer_records_no_decision(db: Any, api: Api, small_video: Path) -> None:
    vid = (await submit(db, str(small_video))).video_id
    async with open_runtime() as rt:
        await run_to_detected(rt, vid)
    clip_id = await _scalar(db, "SELECT min(id) FROM clips WHERE source_video_id=$1", vid)
    c = _login(api)
    assert isinstance(c, httpx.Client)
    with closing(c), _stolen(api, c) as kept:
        assert c.get(f"/review/clips/{clip_id}").status_code == 200
        removed = _user(api, "remove", "ops")
        assert removed.returncode == 0 and "user ops: removed" in removed.stdout, removed.stderr
        r = c.post(
            f"/review/clips/{clip_id}/approve",
            headers={"X-CSRFToken": c.cookies["heaters_csrf"], "HX-Request": "true"},
        )
        assert r.status_code == 401, r.text
        _ended(c)
        assert await _scalar(db, "SELECT count(*) FROM review_events") == 0
        assert await _scalar(db, "SELECT state FROM clips WHERE id=$1", clip_id) == "pending_review"
        with psycopg.connect(api.env["DATABASE_URL"]) as conn:
            assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
        # the same name added again is a new account: the old cookie stays dead
        again = _user(api, "add", "ops", "--password-stdin", stdin=PASSWORD + "\n")
        assert again.returncode == 0, again.stderr
        _ended(kept)


async def _scalar(db: Any, sql: str, *args: object) -> Any:
    async with db.acquire() as conn:
        return await conn.fetchval(sql, *args)


def _user(api: Api, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(heaters_cmd("user", *args), input=stdin, env=api.env,
                          capture_output=True, text=True, timeout=60, cwd=REPO)  # fmt: skip
