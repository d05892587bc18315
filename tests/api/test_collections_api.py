"""The API's ``collection`` field (issue 22): JSON and multipart submissions put a new video in
a collection; an invalid name is a 400; a video submitted again keeps its collection."""

from __future__ import annotations

import re
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
        for empty in ("", None):  # absent means default; empty or null is refused
            r = c.post("/api/videos", json={"url": f"{http_server}/page.html", "collection": empty})
            assert r.status_code == 400, r.text

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


def test_dashboard_shows_the_profiles(api: Api) -> None:
    from tests.api.test_dashboard import _login

    figures = (
        '{"before": {"f1": 0.8, "precision": 0.9, "recall": 0.72}, "after": {"f1": 0.9412,'
        ' "precision": 0.96, "recall": 0.923}, "changed": {"threshold": 2.5}}'
    )
    with psycopg.connect(api.env["DATABASE_URL"]) as conn:
        conn.execute(
            "INSERT INTO detector_profiles (collection, version, detector, figures, active,"
            " training_video_ids) VALUES ('films', 1, 'heaters-fast/3', %s, true, '{1,2}'),"
            " ('films', 2, 'heaters-fast/3', '{}', false, '{}')",
            (figures,),
        )
    page = _login(api).get("/dashboard").text  # type: ignore[attr-defined]
    assert 'id="detector-profiles"' in page
    assert re.search(
        r'<tr class="active"><td>films</td><td class="num">1</td><td>active</td>'
        r'<td class="num">0.800</td><td class="num">0.941</td><td class="num">0.960 / 0.923</td>'
        r'<td class="num">2</td><td>threshold=2.5</td>',
        page,
    )
    assert '<tr><td>films</td><td class="num">2</td><td></td>' in page
