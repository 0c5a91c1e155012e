"""Computing the copy-detection signature (core/signature.py) of a decoded video: weight-free, in the worker.

Per sampled frame, PDQ hashes of the picture *inside its black borders* (so letterboxed and pillarboxed
copies hash like the original) at several centred crops: a copy cropped to 80-100% of the original
then matches one of the original's crops within a few bits, although PDQ alone moves by ~45 of 256
bits for a 5% change of framing. Crops of one side only are there for copies of letterboxed videos,
whose crop eats into the black bars and so narrows the picture without shortening it. Then the whole
frame bars included (where bars are hard to tell from dark picture, two copies with the same bars still
match on it), the mirrored hash (flipped copies) and the chromaprint audio fingerprint. A video showing
another one as a picture-in-picture inset also gets the hashes of the inset, to look that up too. A
handful of *index frames* (the first frame, scene changes and frames whose picture changed) go into the
Redis KNN index; the whole signature is what verification aligns.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.bits import select_key_frames
from core.signature import CROPS, CopySignature
from features.audio_fingerprint import audio_fingerprint
from features.media import DecodedVideo
from features.pdq import packed_pdq, shrink
from settings import Settings

# Black bars: rows/columns of which less than BORDER_MIN_LIT_SHARE is brighter than BORDER_MAX_GREY (0..255).
BORDER_MAX_GREY = 40
BORDER_MIN_LIT_SHARE = 0.02
# A picture-in-picture inset shows as rows and columns whose mean step to the next one is this many times
# the median, in the median over frames (its borders stay put while the picture moves). Measured: inset
# borders 8-60x, ordinary videos up to 2.2x.
INSET_EDGE_RATIO = 6.0
INSET_MIN_SIDE_SHARE = 0.3
# A frame's own content box replaces the video's median box when an edge moved by more than this share.
BOX_JITTER_SHARE = 0.08
# Audio quieter than this RMS (about -60 dBFS) counts as silent: a muted copy gets no fingerprint.
SILENT_RMS = 1e-3


def content_box(frame: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the picture inside black bars. Decided per frame, so a letterboxed
    segment inside another video is found too; a row or column belongs to the picture when at least
    BORDER_MIN_LIT_SHARE of it is brighter than BORDER_MAX_GREY, so a logo laid over a bar does not count."""
    height, width = frame.shape[:2]
    lit = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) > BORDER_MAX_GREY
    rows = np.flatnonzero(lit.mean(axis=1) >= BORDER_MIN_LIT_SHARE)
    cols = np.flatnonzero(lit.mean(axis=0) >= BORDER_MIN_LIT_SHARE)
    if rows.size == 0 or cols.size == 0:
        return 0, height, 0, width
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    if bottom - top < height * 0.3 or right - left < width * 0.3:  # a dark frame, not bars
        return 0, height, 0, width
    return top, bottom, left, right


def steady_content_boxes(frames: list[np.ndarray]) -> list[tuple[int, int, int, int]]:
    """Per frame, the video's median content box, unless the frame's own box is far from it (a segment
    with other bars, e.g. a letterboxed clip inserted into another video): then its own. The median keeps
    every frame of one shot on the same box, where per-frame boxes jitter by a row or two."""
    boxes = np.array([content_box(frame) for frame in frames])
    median = np.median(boxes, axis=0).round().astype(int)
    steady = []
    for frame, box in zip(frames, boxes, strict=True):
        height, width = frame.shape[:2]
        own_box_differs = np.abs(box - median).max() > BOX_JITTER_SHARE * max(height, width) or median[1] > height
        steady.append(tuple(int(v) for v in (box if own_box_differs else median)))
    return steady


def _two_edges(step: np.ndarray, min_gap: int) -> tuple[int, int] | None:
    """Positions of the two strongest persistent edges at least ``min_gap`` apart, if both are strong."""
    threshold = INSET_EDGE_RATIO * max(float(np.median(step)), 1e-3)
    strong = [int(i) for i in np.argsort(step)[::-1] if step[i] >= threshold]
    for first in strong:
        for second in strong:
            if abs(second - first) >= min_gap:
                return min(first, second) + 1, max(first, second) + 1
    return None


def inset_box(frames: list[np.ndarray]) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of a picture-in-picture inset with persistent borders on all four sides,
    or None. ``frames`` are the shrunk frames of one video, all the same size."""
    greys = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32) for f in frames]
    height, width = greys[0].shape
    if height < 8 or width < 8:
        return None
    row_step = np.median([np.abs(np.diff(g, axis=0)).mean(axis=1) for g in greys], axis=0)
    col_step = np.median([np.abs(np.diff(g, axis=1)).mean(axis=0) for g in greys], axis=0)
    rows = _two_edges(row_step, int(height * INSET_MIN_SIDE_SHARE))
    cols = _two_edges(col_step, int(width * INSET_MIN_SIDE_SHARE))
    if rows is None or cols is None or (rows[1] - rows[0]) * (cols[1] - cols[0]) > 0.95 * height * width:
        return None
    return rows[0], rows[1], cols[0], cols[1]


def _centre_crop(image: np.ndarray, width_share: float, height_share: float) -> np.ndarray:
    height, width = image.shape[:2]
    crop_h, crop_w = max(1, round(height * height_share)), max(1, round(width * width_share))
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return image[top:top + crop_h, left:left + crop_w]


def copy_signature(video: DecodedVideo, cfg: Settings) -> CopySignature:
    """The signature of a decoded video (10 PDQ hashes per frame, ~0.3 ms each on a <= 320 px copy)."""
    scaled, mirrored, quality = [], [], []
    smalls = [shrink(frame) for frame in video.frames]
    for small, (top, bottom, left, right) in zip(smalls, steady_content_boxes(smalls), strict=True):
        picture = small[top:bottom, left:right]
        per_scale = [packed_pdq(_centre_crop(picture, *crop)) for crop in CROPS]
        whole_frame = per_scale[0][0] if picture.shape == small.shape else packed_pdq(small)[0]
        scaled.append([bits for bits, _ in per_scale] + [whole_frame])
        quality.append(per_scale[0][1])
        mirrored.append(packed_pdq(picture[:, ::-1])[0])
    # An inset is only looked for while the picture keeps one size (a stream can change resolution).
    inset = inset_box(smalls) if all(small.shape == smalls[0].shape for small in smalls) else None
    inset_bits = [packed_pdq(small[inset[0]:inset[1], inset[2]:inset[3]])[0] for small in smalls] if inset else []
    bits = np.array(scaled, dtype=np.uint8).transpose(1, 0, 2)  # (framings, frames, 32)
    quality_array = np.array(quality, dtype=np.int16)
    audio = video.audio
    audible = audio is not None and audio.size > 0 and float(np.sqrt(np.mean(np.square(audio)))) > SILENT_RMS
    return CopySignature(
        times_s=np.array(video.frame_times_s, dtype=np.float32),
        cuts=np.array(video.scene_changes, dtype=bool),
        quality=quality_array,
        bits=bits,
        mirrored_bits=np.array(mirrored, dtype=np.uint8),
        inset_bits=np.array(inset_bits, dtype=np.uint8).reshape(-1, 32),
        index_frames=select_key_frames(bits[0], quality_array, video.scene_changes, cfg.pdq_min_quality,
                                       cfg.index_frame_min_change, cfg.index_frames_max),
        audio_fingerprint=audio_fingerprint(audio, video.audio_sample_rate) if audible else np.zeros(0, np.int32),
        duration_s=float(video.duration_s),
    )
