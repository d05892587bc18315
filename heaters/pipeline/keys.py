"""Storage keys: where each stage writes its objects (docs/architecture.md, "Storage").

Keys are fixed per item, so a redo of a stage replaces its objects instead of adding new
ones. Pure functions: ids and names in, a key (``str``, ``/``-separated) out.
"""

from __future__ import annotations


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
