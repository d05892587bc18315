"""Settings that cannot work are refused at start-up in one line (issue 20, item 3): a stall
timeout shorter than three heartbeats would make a worker cancel its own jobs in a loop."""

from __future__ import annotations

import os

import pytest

from heaters.config import Settings, get_settings, settings_problems
from tests.conftest import REPO, heaters_cmd


def test_a_stall_timeout_under_three_heartbeats_is_refused_with_the_minimum(
    tmp_path: os.PathLike[str],
) -> None:
    import subprocess

    env = {**os.environ, "HEATERS_HOME": str(tmp_path), "HEATERS_STALLED_AFTER_SECONDS": "10"}
    done = subprocess.run(heaters_cmd("worker"), env=env, capture_output=True, text=True,
                          timeout=60, cwd=REPO)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "invalid setting HEATERS_STALLED_AFTER_SECONDS=10 is too short for "
        "HEATERS_HEARTBEAT_SECONDS=5: use at least 15 (three heartbeats, so a worker whose "
        "heartbeat is late once keeps its jobs)"
    ]
    assert Settings(stalled_after_seconds=15, heartbeat_seconds=5).stalled_after_seconds == 15


def test_every_bad_setting_is_one_line_naming_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEATERS_CLAIM_SECONDS", "-1")
    monkeypatch.setenv("HEATERS_MAX_CRASHES", "many")
    get_settings.cache_clear()
    try:
        with pytest.raises(Exception) as err:
            get_settings()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert settings_problems(err.value) == [
        "invalid setting HEATERS_MAX_CRASHES='many': Input should be a valid integer, unable "
        "to parse string as an integer",
        "invalid setting HEATERS_CLAIM_SECONDS='-1': Input should be greater than 0",
    ]
    assert settings_problems(ValueError("x")) is None
