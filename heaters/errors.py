"""The exceptions Heaters raises.

Every error carries a one-line reason a person understands in ``str(err)``; that text is what
lands in ``last_error`` when a stage fails. ``transient`` says whether trying again later may
help (a network hiccup, a storage outage): transient failures are retried with exponential
backoff, permanent ones (a 404, a text file renamed ``.mp4``) wait for an operator.
"""

from __future__ import annotations


class HeatersError(Exception):
    """Base class of every error Heaters raises on purpose.

    Parameters
    ----------
    reason:
        One line, for people (it is stored as the item's ``last_error``).
    transient:
        True when the same attempt may succeed later; defaults to the class's ``transient``.
    """

    transient: bool = False

    def __init__(self, reason: str, *, transient: bool | None = None) -> None:
        super().__init__(reason)
        if transient is not None:
            self.transient = transient


class MediaError(HeatersError):
    """A media file or source cannot be used (the reason says why)."""


class ProbeError(MediaError):
    """Probing found no usable video: empty, not media, audio only, truncated or corrupt."""


class DownloadError(MediaError):
    """A source could not be fetched: HTTP error, no video at the URL, file not found."""


class PreprocessError(MediaError):
    """ffmpeg could not make the master or the proxy, or the frame index failed."""


class DetectError(MediaError):
    """Scene detection could not read the frames."""


class StorageError(HeatersError):
    """A storage backend could not read, write or delete an object (usually transient)."""

    transient = True


class ConfigError(HeatersError):
    """The settings are unusable (the reason names the setting)."""
