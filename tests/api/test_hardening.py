"""Web hardening (issue 15, item 4): malformed paths and out-of-range ids answer 400/404,
never 500; API responses show no server paths; a duplicate upload leaves no object behind
in the storage."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.api.conftest import Api
from tests.api.test_dashboard import _login

BIG = "9223372036854775808"  # one past the largest bigint


def test_out_of_range_ids_and_nul_bytes_are_refused_not_500(api: Api) -> None:
    api_routes = [("GET", f"/api/videos/{BIG}"), ("GET", f"/api/clips/{BIG}"),
                  ("POST", f"/api/videos/{BIG}/retry"), ("DELETE", f"/api/videos/{BIG}"),
                  ("POST", f"/api/clips/{BIG}/approve"), ("POST", f"/api/review/undo/{BIG}"),
                  ("GET", f"/api/videos/{BIG}/cuts"),
                  ("GET", f"/api/datasets/x/versions/{BIG}/manifest")]  # fmt: skip
    with api.client() as c:
        for method, path in api_routes:
            r = c.request(method, path, json={})
            assert r.status_code in (400, 404), (method, path, r.status_code, r.text)
            assert r.json()["detail"], (method, path)
        r = c.post(f"/api/review/undo/{BIG}")
        assert r.status_code == 400 and BIG in r.json()["detail"], r.text
    pages = [("GET", f"/videos/{BIG}"), ("GET", f"/review/clips/{BIG}"),
             ("GET", f"/review/clips/{BIG}/panel"), ("GET", f"/review/videos/{BIG}/timeline"),
             ("GET", f"/datasets/x/versions/{BIG}/dataset.json"), ("GET", "/videos/-1"),
             ("GET", "/media/videos/1/a%00b.mp4"), ("GET", "/media/%00"),
             ("GET", "/media/videos%00/1/proxy.mp4")]  # fmt: skip
    c = _login(api)
    assert isinstance(c, httpx.Client)
    try:
        csrf = c.cookies["heaters_csrf"]
        for method, path in pages:
            r = c.request(method, path)
            assert r.status_code in (400, 404), (method, path, r.status_code, r.text[:300])
            assert "internal error" not in r.text, path
        r = c.get("/media/videos/1/a%00b.mp4", headers={"Accept": "application/json"})
        assert r.status_code == 400 and "NUL" in r.json()["detail"], r.text
        r = c.get(f"/review/clips/{BIG}", headers={"Accept": "application/json"})
        assert r.status_code == 400 and "out of range" in r.json()["detail"], r.text
        posts = [
            f"/review/clips/{BIG}/approve",
            f"/dashboard/retry/video/{BIG}",
            f"/dashboard/jobs/{BIG}/cancel",
        ]
        for path in posts:
            r = c.post(path, headers={"X-CSRFToken": csrf})
            assert r.status_code in (400, 404), (path, r.status_code, r.text[:300])
    finally:
        c.close()


def test_uploads_show_no_server_path_and_duplicates_leave_no_file(
    api: Api, small_video: Path
) -> None:
    # Uploads go into the storage at once (the local storage root by default), never into a
    # spool folder of the web host.
    uploads = Path(api.env["HEATERS_HOME"]) / "storage" / "uploads"
    home = api.env["HEATERS_HOME"]
    with api.client() as c:
        bodies = []
        for i in range(6):
            with small_video.open("rb") as f:
                r = c.post("/api/videos", files={"file": (f"my clip {i}.mp4", f, "video/mp4")})
            assert r.status_code == (201 if i == 0 else 200), r.text
            bodies.append(r.json())
        assert {b["id"] for b in bodies} == {bodies[0]["id"]}
        assert bodies[0]["source"] == "myclip0.mp4", bodies[0]["source"]
        assert bodies[0]["title"] == "my clip 0", bodies[0]["title"]
        assert len(list(uploads.iterdir())) == 1, sorted(uploads.iterdir())
        for text in (r.text, c.get(f"/api/videos/{bodies[0]['id']}").text,
                     c.get("/api/videos").text):  # fmt: skip
            assert home not in text and "/uploads/" not in text, text
        other = small_video.read_bytes() + b"\0"  # other bytes: a new video, a new title
        odd = c.post("/api/videos", files={"file": ("a\x00b\n.mp4", other, "video/mp4")})
        # httpx escapes the NUL as %00; no control character reaches the title.
        assert odd.status_code == 201 and odd.json()["title"] == "a%00b", odd.text
        assert len(list(uploads.iterdir())) == 2
        assert not (Path(home) / "uploads").exists()
        url = c.post("/api/videos", json={"url": "http://127.0.0.1:9/x.mp4"}).json()
        assert url["source"] == "http://127.0.0.1:9/x.mp4"


def test_every_response_carries_the_security_headers(api: Api) -> None:
    """Pages, the API, static files, the schema page and errors: no sniffing, no framing."""
    for path in ("/login", "/api/videos", "/static/review.js", "/schema/swagger", "/nope"):
        r = httpx.get(f"{api.url}{path}", headers={"Authorization": f"Bearer {api.token}"})
        assert r.headers.get("x-content-type-options") == "nosniff", path
        assert r.headers.get("x-frame-options") == "DENY", path
        assert "frame-ancestors 'none'" in r.headers.get("content-security-policy", ""), path


def test_review_page_modules_are_served_as_javascript(api: Api) -> None:
    """review.js is an ES module that imports the others under /static/review/: the browser
    runs a module only when it comes with a JavaScript MIME type (nosniff is on), and the CSP
    must not restrict scripts to something that leaves them out."""
    seen: set[str] = set()
    todo = ["/static/review.js", "/static/review_batch.js"]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        r = httpx.get(f"{api.url}{path}")
        assert r.status_code == 200, path
        mime = r.headers["content-type"].split(";")[0]
        assert mime in ("text/javascript", "application/javascript"), (path, mime)
        assert "script-src" not in r.headers.get("content-security-policy", ""), path
        base = path.rsplit("/", 1)[0]
        for spec in re.findall(r'^import [^;]*? from "(\./[^"]+)";', r.text, re.M):
            parts = [*base.split("/"), *spec[2:].split("/")]
            todo.append("/".join(parts))
    assert len(seen) >= 12, seen  # the entry, its modules and review_batch.js


def test_static_files_are_revalidated_and_unchanged_ones_answer_304(api: Api) -> None:
    """/static files carry ``Cache-Control: no-cache`` and an ETag; asking again with that
    ETag gets ``304`` and no body (an upgrade is seen on the next page load, an unchanged
    file costs no bytes); another ETag, or none, gets the whole file."""
    url = f"{api.url}/static/review.js"
    first = httpx.get(url)
    assert first.status_code == 200 and first.content
    assert first.headers["cache-control"] == "no-cache"
    etag = first.headers["etag"]
    for asked in (etag, f'W/{etag}', f'"other", {etag}', "*"):
        again = httpx.get(url, headers={"If-None-Match": asked})
        assert again.status_code == 304, (asked, again.status_code)
        assert again.content == b"" and again.headers["etag"] == etag
        assert again.headers["cache-control"] == "no-cache"
        assert again.headers["x-content-type-options"] == "nosniff"
    head = httpx.head(url, headers={"If-None-Match": etag})
    assert head.status_code == 304
    changed = httpx.get(url, headers={"If-None-Match": '"an-older-version"'})
    assert changed.status_code == 200 and changed.content == first.content
    missing = httpx.get(f"{api.url}/static/no-such-file.js", headers={"If-None-Match": "*"})
    assert missing.status_code == 404
