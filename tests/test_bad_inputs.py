"""Every kind of bad input gets a one-line reason a person understands, and breaks nothing."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ffmpeg, json_lines, run_heaters


def _make_bad_inputs(tmp: Path, good: Path) -> dict[str, Path]:
    empty = tmp / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp / "notes.mp4"
    text.write_text("These are my notes, not a video.\n" * 50)
    audio = tmp / "audio_only.m4a"
    ffmpeg("-i", str(good), "-vn", "-c:a", "aac", str(audio))
    # A plain (not faststart) MP4 cut in half loses its index (moov atom) at the end.
    plain = tmp / "plain.mp4"
    ffmpeg("-i", str(good), "-c", "copy", "-movflags", "-faststart", str(plain))
    truncated = tmp / "truncated.mp4"
    data = plain.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    # A faststart MP4 (index first) cut in half: it probes, but half its frames are missing.
    fast = tmp / "fast.mp4"
    ffmpeg("-i", str(good), "-c", "copy", "-movflags", "+faststart", str(fast))
    cut_fast = tmp / "truncated_faststart.mp4"
    data = fast.read_bytes()
    cut_fast.write_bytes(data[: len(data) // 2])
    return {"empty": empty, "text": text, "audio": audio, "truncated": truncated,
            "truncated_faststart": cut_fast}  # fmt: skip


def test_bad_inputs_fail_with_reasons_and_good_work_goes_on(
    heaters_env: dict[str, str], small_video: Path, other_video: Path, tmp_path: Path,
    http_server: str,
) -> None:  # fmt: skip
    bad = _make_bad_inputs(tmp_path, small_video)
    missing = tmp_path / "does_not_exist.mp4"
    sources = [
        str(bad["empty"]), str(bad["text"]), str(bad["audio"]), str(bad["truncated"]),
        str(bad["truncated_faststart"]), str(missing), f"{http_server}/missing.mp4", f"{http_server}/page.html",
        str(other_video),
    ]  # fmt: skip
    proc = run_heaters(heaters_env, "ingest", *sources, "--wait", "--json")
    assert proc.returncode == 1, "a failed source makes the exit status non-zero"
    out = {r["source"]: r for r in json_lines(proc.stdout)}
    expected = {
        str(bad["empty"]): ("download_failed", r"empty \(0 bytes\)"),
        str(bad["text"]): ("download_failed", r"not a (video|media) file"),
        str(bad["audio"]): ("download_failed", r"no video stream \(audio only\)"),
        str(bad["truncated"]): ("download_failed", r"truncated|corrupt"),
        str(bad["truncated_faststart"]): ("download_failed", r"truncated"),
        str(missing): ("rejected", r"file not found"),
        f"{http_server}/missing.mp4": ("download_failed", r"404"),
        f"{http_server}/page.html": ("download_failed", r"no video"),
    }
    for source, (state, pattern) in expected.items():
        r = out[str(source)]
        assert r["state"] == state, (source, r)
        assert re.search(pattern, r["error"]), (source, r["error"])
        assert "\n" not in r["error"] and "Traceback" not in r["error"]
        assert r["clips"] == []
    good = out[str(other_video)]
    assert good["state"] == "detected" and good["clips"], good
    # Permanent failures are not retried by themselves: they wait for an operator.
    status = run_heaters(heaters_env, "status", "--json")
    (s,) = json_lines(status.stdout)
    assert s["videos"] == {"detected": 1, "download_failed": 7}
