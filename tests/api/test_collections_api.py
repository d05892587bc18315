"""The API's ``collection`` field (issue 22): JSON and multipart submissions put a new video in
a collection; an invalid name is a 400; a video submitted again keeps its collection."""

from __future__ import annotations

from pathlib import Path

import psycopg

from tests.api.conftest import Api


def _collection(api: Api, video_id: int) -> str:
    with psycopg.connect(api.env["DATABASE_URL"]) as conn:
        row = conn.execute("SELECT collection FROM source_videos WHERE id = %s", (video_id,))
        return str(row.fetchone()[0])  # type: ignore[index]


def test_submissions_join_the_collection_given(
    api: Api, http_server: str, small_video: Path
) -> None:
    with api.client() as c:
        r = c.post("/api/videos", json={"url": f"{http_server}/clip.mp4", "collection": "films"})
        assert r.status_code == 201, r.text
        assert _collection(api, r.json()["id"]) == "films"
        again = c.post("/api/videos", json={"url": f"{http_server}/clip.mp4", "collection": "x"})
        assert again.status_code == 200 and _collection(api, again.json()["id"]) == "films"

        bad = c.post("/api/videos", json={"url": f"{http_server}/page.html", "collection": "a b"})
        assert bad.status_code == 400 and "invalid collection name" in bad.text

        with small_video.open("rb") as f:
            up = c.post(
                "/api/videos",
                files={"file": ("clip.mp4", f, "video/mp4")},
                data={"collection": "news-2026"},
            )
        assert up.status_code in (200, 201), up.text
        if up.status_code == 201:
            assert _collection(api, up.json()["id"]) == "news-2026"
        plain = c.post("/api/videos", json={"url": f"{http_server}/page.html"})
        assert plain.status_code == 201 and _collection(api, plain.json()["id"]) == "default"
