"""The JSON API: tokens, submissions (URL and upload), listing, retry, archive, URL checks,
upload limits, and the OpenAPI schema."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.api.conftest import Api
from tests.conftest import run_heaters


def test_every_route_refuses_a_missing_or_wrong_token(api: Api) -> None:
    routes = [("GET", "/api/videos"), ("GET", "/api/videos/1"), ("GET", "/api/clips/1"),
              ("POST", "/api/videos"), ("POST", "/api/videos/1/retry"), ("DELETE", "/api/videos/1"),
              ("GET", "/api/review/queue"), ("POST", "/api/clips/1/approve"),
              ("POST", "/api/review/undo/1"), ("POST", "/api/review/undo"),
              ("POST", "/api/clips/retry-failed")]  # fmt: skip
    for token in (None, "hk_wrong", "nonsense"):
        with api.client(token) as c:
            for method, path in routes:
                r = c.request(method, path, json={"url": "http://example.com/x.mp4"})
                assert r.status_code == 401, (token, method, path, r.text)
    revoked = run_heaters(api.env, "token", "create", "gone", "--json")
    token = revoked.stdout.split('"token": "')[1].split('"')[0]
    assert run_heaters(api.env, "token", "revoke", "gone").returncode == 0
    with api.client(token) as c:
        assert c.get("/api/videos").status_code == 401


def test_submit_by_url_and_upload_then_inspect(
    api: Api, http_server: str, small_video: Path
) -> None:
    with api.client() as c:
        r = c.post("/api/videos", json={"url": f"{http_server}/clip.mp4"})
        assert r.status_code == 201, r.text
        v = r.json()
        assert v["state"] == "new" and v["existing"] is False and v["source"].endswith("/clip.mp4")
        again = c.post("/api/videos", json={"url": f"{http_server}/clip.mp4"})
        assert (
            again.status_code == 200 and again.json()["id"] == v["id"] and again.json()["existing"]
        )

        with small_video.open("rb") as f:
            up = c.post("/api/videos", files={"file": ("my clip.mp4", f, "video/mp4")})
        assert up.status_code == 201, up.text
        u = up.json()
        with small_video.open("rb") as f:
            dup = c.post("/api/videos", files={"file": ("again.mp4", f, "video/mp4")})
        assert dup.status_code == 200 and dup.json()["id"] == u["id"], "same sha256: existing"

        page = c.get("/api/videos", params={"limit": 1})
        assert page.status_code == 200
        body = page.json()
        assert body["total"] == 2 and len(body["items"]) == 1 and body["items"][0]["id"] == u["id"]
        assert c.get("/api/videos", params={"state": "new"}).json()["total"] == 2
        assert c.get("/api/videos", params={"state": "detected"}).json()["total"] == 0
        assert c.get("/api/videos", params={"state": "bogus"}).status_code == 400
        assert c.get(f"/api/videos/{v['id']}").json()["id"] == v["id"]
        assert c.get("/api/videos/999999").status_code == 404
        assert c.get("/api/clips/999999").status_code == 404
        assert c.post(f"/api/videos/{v['id']}/retry").status_code == 409, "not failed"
        assert c.post("/api/videos/999999/retry").status_code == 404


def test_processed_video_clips_retry_and_archive(api: Api, small_video: Path) -> None:
    done = run_heaters(api.env, "ingest", str(small_video), "--wait", "--json")
    assert done.returncode == 0, done.stderr
    with api.client() as c:
        videos = c.get("/api/videos", params={"state": "detected"}).json()["items"]
        (v,) = videos
        assert v["clips"] and v["frame_count"] == 192
        clip = c.get(f"/api/clips/{v['clips'][0]['id']}").json()
        assert clip["source_video_id"] == v["id"] and clip["state"] == "pending_review"
        gone = c.delete(f"/api/videos/{v['id']}")
        assert gone.status_code == 200 and gone.json()["archived_clips"] == len(v["clips"])
        states = {c_["state"] for c_ in c.get(f"/api/videos/{v['id']}").json()["clips"]}
        assert states <= {"review_archived", "archiving", "archived"}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/v.mp4", "only http(s)"),
        ("file:///etc/passwd", "only http(s)"),
        ("http:///nohost", "no host"),
    ],
)
@pytest.mark.slow  # one submission per refused address (~6 s)
def test_refused_urls_get_a_clear_4xx(api: Api, url: str, reason: str) -> None:
    with api.client() as c:
        r = c.post("/api/videos", json={"url": url})
    assert r.status_code == 400 and reason in r.text


def test_private_addresses_are_refused_unless_allowed(heaters_env: dict[str, str]) -> None:
    import asyncio

    from heaters.pipeline.submit import SubmitError
    from heaters.pipeline.url_check import check_url

    for url in ("http://127.0.0.1/v.mp4", "http://169.254.169.254/latest", "http://10.1.2.3/v",
                "http://[::1]/v", "http://192.168.0.5/v"):  # fmt: skip
        with pytest.raises(SubmitError, match="refused"):
            asyncio.run(check_url(url))
        asyncio.run(check_url(url, allow_private=True))


def test_uploads_past_the_limit_get_413_and_leave_nothing(api: Api, tmp_path: Path) -> None:
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * (5 * 1024 * 1024))
    with api.client() as c, big.open("rb") as f:
        r = c.post("/api/videos", files={"file": ("big.mp4", f, "video/mp4")})
        assert r.status_code == 413, r.text
        assert c.get("/api/videos").json()["total"] == 0
        empty = c.post("/api/videos", files={"file": ("e.mp4", b"", "video/mp4")})
        assert empty.status_code == 400 and "empty" in empty.text
    home = Path(api.env["HEATERS_HOME"])
    for uploads in (home / "uploads", home / "storage" / "uploads"):
        assert not uploads.exists() or not any(uploads.iterdir()), uploads
    assert not any(p.is_file() for p in (home / "tmp").rglob("*")), "no temp file left"


def test_openapi_schema_documents_the_api(api: Api) -> None:
    schema = httpx.get(f"{api.url}/schema/openapi.json").json()
    paths = schema["paths"]
    for p in ("/api/videos", "/api/videos/{video_id}", "/api/clips/{clip_id}",
              "/api/videos/{video_id}/retry", "/api/review/queue", "/api/clips/{clip_id}/{action}",
              "/api/review/undo/{event_id}", "/api/review/undo", "/api/clips/retry-failed"):  # fmt: skip
        assert p in paths, p
    action = paths["/api/clips/{clip_id}/{action}"]["post"]
    (param,) = [p for p in action["parameters"] if p["name"] == "action"]
    assert set(param["schema"]["enum"]) == {"approve", "skip", "archive", "group", "merge",
                                            "split", "move_boundary", "reopen"}  # fmt: skip
    assert {"200", "404", "409", "422"} <= set(action["responses"])
    queue = {p["name"] for p in paths["/api/review/queue"]["get"]["parameters"]}
    assert {"video_id", "include_transitions", "order", "limit"} <= queue
    body = paths["/api/videos"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    assert "delete" in paths["/api/videos/{video_id}"]
