"""Storage keys: where each stage writes its objects (docs/architecture.md, "Storage").

Keys are fixed per item, so a redo of a stage replaces its objects instead of adding new
ones. Pure functions: ids and names in, a key (``str``, ``/``-separated) out.
"""

from __future__ import annotations

import re
import uuid

UPLOADS = "uploads/"
"""Prefix of the keys of API uploads waiting for their download stage."""
_UPLOAD_KEY = re.compile(r"^uploads/[0-9a-f]{32}_")


def upload_key(filename: str) -> str:
    """A fresh storage key for an upload sent as ``filename``:
    ``uploads/{uuid}_{name}``, the name cut to its last 80 letters, digits and ``._-``
    (``upload`` when none is left), so its suffix is kept."""
    name = "".join(c for c in filename if c.isascii() and (c.isalnum() or c in "._-"))[-80:]
    return f"{UPLOADS}{uuid.uuid4().hex}_{name or 'upload'}"


def upload_name(key: str) -> str:
    """The name an upload was sent as (as :func:`upload_key` kept it), from its key."""
    return _UPLOAD_KEY.sub("", key)


def original_key(video_id: int, suffix: str) -> str:
    """Storage key of a video's original (downloaded or copied) file."""
    return f"videos/{video_id}/original{suffix.lower() or '.bin'}"


def master_key(video_id: int) -> str:
    """Storage key of an FFV1/MKV master (a video whose master is its original has none:
    its ``master_path`` is its original's key)."""
    return f"videos/{video_id}/master.mkv"


def proxy_key(video_id: int) -> str:
    """Storage key of the all-I-frame H.264 proxy."""
    return f"videos/{video_id}/proxy.mp4"


def sprite_key(clip_id: int) -> str:
    """Storage key of a clip's sprite sheet (JPEG)."""
    return f"clips/{clip_id}/sprite.jpg"


def clip_key(clip_id: int) -> str:
    """Storage key of an exported clip file."""
    return f"clips/{clip_id}/clip.mp4"


def keyframe_key(clip_id: int, strategy: str, tag: str, fmt: str) -> str:
    """Storage key of one keyframe image."""
    return f"clips/{clip_id}/keyframes/{strategy}_{tag}.{fmt}"
