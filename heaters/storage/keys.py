"""Storage keys: where each stage writes its objects (docs/architecture.md, "Storage"), and
the parser of that layout (:func:`object_kind`).

The objects a stage makes carry the token of the claim that wrote them
(``videos/12/proxy-1a2b3c4d5e6f.mp4``): a stale worker whose claim was taken over writes
beside the new owner's objects, never over them, and the finish records the key in the
row (docs/architecture.md, "The fence"). Readers take keys from the rows only, so objects
stored under the older fixed keys (``videos/12/proxy.mp4``) keep working. Pure functions:
ids, names and a token in, a key (``str``, ``/``-separated) out.
"""

from __future__ import annotations

import re
import uuid
from uuid import UUID

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


def claim_tag(token: UUID) -> str:
    """The part of a key that names the claim which wrote it: ``-`` and 12 hex digits."""
    return f"-{token.hex[:12]}"


def original_key(video_id: int, suffix: str, token: UUID) -> str:
    """Storage key of a video's original (downloaded or copied) file."""
    return f"videos/{video_id}/original{claim_tag(token)}{suffix.lower() or '.bin'}"


def master_key(video_id: int, token: UUID) -> str:
    """Storage key of an FFV1/MKV master (a video whose master is its original has none:
    its ``master_path`` is its original's key)."""
    return f"videos/{video_id}/master{claim_tag(token)}.mkv"


def proxy_key(video_id: int, token: UUID) -> str:
    """Storage key of the all-I-frame H.264 proxy."""
    return f"videos/{video_id}/proxy{claim_tag(token)}.mp4"


def segment_keys(video_id: int, index: int, token: UUID) -> tuple[str, str]:
    """Storage keys of segment ``index``'s pieces: (proxy part MP4, small frames RGB24)."""
    stem = f"videos/{video_id}/segments/{index:05d}{claim_tag(token)}"
    return f"{stem}.mp4", f"{stem}.rgb"


def sprite_key(clip_id: int, token: UUID) -> str:
    """Storage key of a clip's sprite sheet (JPEG)."""
    return f"clips/{clip_id}/sprite{claim_tag(token)}.jpg"


def clip_key(clip_id: int, token: UUID) -> str:
    """Storage key of an exported clip file."""
    return f"clips/{clip_id}/clip{claim_tag(token)}.mp4"


def keyframe_key(clip_id: int, strategy: str, tag: str, fmt: str) -> str:
    """Storage key of one keyframe image (fixed: the images are deterministic, see
    docs/architecture.md, "The fence")."""
    return f"clips/{clip_id}/keyframes/{strategy}_{tag}.{fmt}"


OBJECT_KINDS = ("original", "master", "proxy", "clip", "keyframe", "sprite", "other")
"""Kinds of stored objects, for per-kind settings such as the S3 storage class."""


def object_kind(key: str) -> str:
    """The kind of the object ``key`` (one of :data:`OBJECT_KINDS`), from Heaters' key
    layout: ``videos/{id}/original.*`` → ``original`` (the master too, by default),
    ``videos/{id}/master.mkv`` → ``master`` (an FFV1 master), ``videos/{id}/proxy.mp4`` →
    ``proxy``, ``clips/{id}/clip.mp4`` → ``clip``, ``clips/{id}/keyframes/…`` → ``keyframe``,
    ``clips/{id}/sprite.jpg`` → ``sprite``, each also with the claim's tag before the
    suffix (``proxy-1a2b3c4d5e6f.mp4``, the builders above); anything else →
    ``other``."""
    parts = key.split("/")
    if len(parts) == 3 and parts[0] == "videos":
        name = parts[2]
        if name.startswith("original"):
            return "original"
        if name.startswith("master"):
            return "master"
        if name.startswith("proxy"):
            return "proxy"
    if len(parts) >= 3 and parts[0] == "clips":
        if parts[2].startswith("clip"):  # clip.mp4, or clip-<claim>.mp4
            return "clip"
        if parts[2] == "keyframes":
            return "keyframe"
        if parts[2].startswith("sprite"):
            return "sprite"
    return "other"
