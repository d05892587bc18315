"""Errors of review actions, each with the HTTP status a web layer should answer."""

from __future__ import annotations

from heaters.errors import HeatersError


class ReviewError(HeatersError):
    """A review action that cannot apply; ``status`` is the HTTP status to answer with."""

    status: int = 400

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        if status is not None:
            self.status = status


class ClipNotFound(ReviewError):
    """No clip with that id (404)."""

    status = 404


class ReviewConflict(ReviewError):
    """The clip is no longer in a state the action applies to: someone acted first, a stale
    page, a double click (409)."""

    status = 409


class InvalidEdit(ReviewError):
    """A merge or split that makes no sense: a split frame outside the clip, no previous clip,
    merging across videos (422)."""

    status = 422
