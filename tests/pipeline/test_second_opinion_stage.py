"""The detect stage's opt-in TransNetV2 second opinion (HEATERS_DETECT_SECOND_OPINION, issue 19
item 4): a suggestion the network confirms on the proxy becomes a cut, so a clip boundary."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from heaters.config import get_settings
from heaters.media import transnet
from heaters.media.boundaries import SceneResult, Suggestion
from heaters.pipeline import preprocess_stages, video_stages
from heaters.pipeline.runtime import open_runtime
from heaters.pipeline.submit import submit

pytestmark = pytest.mark.skipif(not transnet.available(), reason="needs the neural extra")


async def test_second_opinion_promotes_a_confirmed_suggestion(
    db: Any, small_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from heaters.media import scenes

    real = scenes.result_from_features
    demoted: list[int] = []

    def without_first_cut(*args: Any, **kw: Any) -> SceneResult:
        """The detector's result with its first cut turned into a suggestion."""
        r = real(*args, **kw)
        k = r.cuts[0]
        demoted.append(k)
        return dataclasses.replace(
            r, cuts=r.cuts[1:], cut_confidence=r.cut_confidence[1:],
            suggestions=(Suggestion(k, 0.4, "weak"),),
        )  # fmt: skip

    monkeypatch.setattr(scenes, "result_from_features", without_first_cut)
    monkeypatch.setenv("HEATERS_DETECT_SECOND_OPINION", "1")
    get_settings.cache_clear()
    vid = (await submit(db, str(small_video))).video_id
    async with open_runtime() as rt:
        assert rt.settings.detect_second_opinion
        for fn in (video_stages.download_video, preprocess_stages.preprocess_video,
                   video_stages.detect_video):  # fmt: skip
            assert await fn(rt, vid) == "done"
    async with db.acquire() as conn:
        starts = [r[0] for r in await conn.fetch(
            "SELECT start_frame FROM clips WHERE source_video_id = $1 ORDER BY start_frame", vid
        )]  # fmt: skip
        stored = await conn.fetchval(
            "SELECT count(*) FROM boundary_suggestions WHERE source_video_id = $1", vid
        )
    assert demoted and demoted[0] in starts  # the network confirmed the real cut
    assert stored == 0  # it is a cut now, no suggestion
