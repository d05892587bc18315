"""What a tag and a note are (issue 21): the one definition review, delivery and the API
check names against."""

from __future__ import annotations

import re

TAG_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
"""A tag's name: 1–40 characters, lower-case letters, digits, ``-`` and ``_``, starting with a
letter or a digit (it goes into captions, CSV cells and EDL comments as it is)."""
NOTE_MAX = 2000
"""The longest note on a clip, in characters."""

__all__ = ["NOTE_MAX", "TAG_NAME"]
