"""Computing the copy-detection signature (core/signature.py) of a decoded video: weight-free, in the worker.

Per sampled frame, PDQ hashes of the picture *inside its black borders* (so letterboxed and pillarboxed
copies hash like the original) at several centred crops: a copy cropped to 80-100% of the original
then matches one of the original's crops within a few bits, although PDQ alone moves by ~45 of 256
bits for a 5% change of framing. Crops of one side only are there for copies of letterboxed videos,
whose crop eats into the black bars and so narrows the picture without shortening it. Then the whole
frame bars included (where bars are hard to tell from dark picture, two copies with the same bars still
match on it), the picture turned each of the seven other ways of the square (mirrored, rotated, flipped,
transposed: copies turned any of these ways) and the chromaprint audio fingerprint. A video split into tiles
(a 2 x 2 grid, a split screen, a picture-in-picture inset over a background) also gets the hashes of each
tile, to look those up too. A handful of *index frames* (the first frame, scene changes and frames whose
picture changed) go into the Redis KNN index; the whole signature is what verification aligns.
"""

from __future__ import annotations

import functools
import itertools

import cv2
import numpy as np

from core.bits import select_key_frames
from core.signature import CROPS, PITCH_SHIFTS, TURNS, CopySignature
from features.audio_fingerprint import audio_fingerprint
from features.media import DecodedVideo
from features.pdq import packed_pdq, shrink
from settings import Settings

# Black bars: rows/columns of which less than BORDER_MIN_LIT_SHARE is brighter than BORDER_MAX_GREY (0..255).
BORDER_MAX_GREY = 40
BORDER_MIN_LIT_SHARE = 0.02
# Tiles (a grid of videos, a split screen, a picture-in-picture inset) are rectangles whose every border (other
# than the frame's own edges) is a persistent edge along its whole length: in the median over frames, the mean
# step across the border is TILE_EDGE_RATIO times the steps across the lines just beside it (a tile's borders
# stay put while the pictures on both sides move).
TILE_EDGE_RATIO = 6.0
TILE_BORDER_CANDIDATES = 6  # strongest lines per axis tried as tile borders
TILE_MIN_SIDE_SHARE = 0.3  # a tile spans at least this share of the frame's width and of its height
TILES_MAX = 4  # the largest tiles are looked up; each is one more view to look up
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


class _Steps:
    """Grey-level steps across every row and column line of a video's frames, with running sums along each line
    so that the mean step across any segment of a line is two lookups."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        greys = np.array([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames], dtype=np.float32)
        # across_rows[f, y, x]: step between rows y-1 and y (y = 1..H-1); across_cols likewise, transposed.
        self.across_rows = np.cumsum(np.abs(np.diff(greys, axis=1)), axis=2)
        self.across_cols = np.cumsum(np.abs(np.diff(greys, axis=2)), axis=1).transpose(0, 2, 1)

    @staticmethod
    def _segment(sums: np.ndarray, line: int, start: int, end: int) -> np.ndarray:
        """Per frame, the mean step across ``line`` (1-based: between line-1 and line) over [start, end)."""
        row = sums[:, line - 1]
        before = row[:, start - 1] if start > 0 else 0.0
        return (row[:, end - 1] - before) / (end - start)

    def border_strength(self, horizontal: bool, line: int, start: int, end: int) -> float:
        """Median over frames of the step across the border against the median step across the lines 2-5
        away on either side, over the same segment."""
        sums = self.across_rows if horizontal else self.across_cols
        across = self._segment(sums, line, start, end)
        beside = [self._segment(sums, other, start, end) for offset in (2, 3, 4, 5) for other in (line - offset,
                  line + offset) if 1 <= other <= sums.shape[1]]
        if not beside:
            return 0.0
        return float(np.median(across / np.maximum(np.median(beside, axis=0), 1.0)))

    def candidate_lines(self, horizontal: bool) -> list[int]:
        """The TILE_BORDER_CANDIDATES lines with the strongest whole-length step, away from the frame's edges."""
        sums = self.across_rows if horizontal else self.across_cols
        length = sums.shape[1] + 1
        whole = np.median(sums[:, :, -1], axis=0)
        order = [int(i) + 1 for i in np.argsort(whole)[::-1] if 2 < int(i) + 1 < length - 2]
        return sorted(order[:TILE_BORDER_CANDIDATES])


def tile_boxes(frames: list[np.ndarray]) -> list[tuple[int, int, int, int]]:
    """(top, bottom, left, right) of each tile the picture is split into, largest first, at most TILES_MAX: the
    four quadrants of a 2 x 2 grid, the two halves of a split screen, the inset of a picture-in-picture. A tile
    is a rectangle bounded by persistent edges along its sides (or the frame's edges), at least
    TILE_MIN_SIDE_SHARE of the frame on both sides, not (almost) the whole frame, and not holding a smaller
    such rectangle. ``frames`` are the shrunk frames of one video, all the same size."""
    height, width = frames[0].shape[:2]
    if height < 16 or width < 16:
        return []
    steps = _Steps(frames)
    rows = [0, *steps.candidate_lines(horizontal=True), height]
    cols = [0, *steps.candidate_lines(horizontal=False), width]

    @functools.cache
    def is_border(horizontal: bool, line: int, start: int, end: int) -> bool:
        """The frame's edge, or a persistent edge along this segment or along the whole frame (a line that
        splits the whole picture bounds every tile it runs along, whatever shows on either side there)."""
        edge, across = (height, width) if horizontal else (width, height)
        if line in (0, edge):
            return True
        if (start, end) != (0, across) and is_border(horizontal, line, 0, across):
            return True
        return steps.border_strength(horizontal, line, start, end) >= TILE_EDGE_RATIO

    tiles = []
    for top, bottom in itertools.combinations(rows, 2):
        if bottom - top < TILE_MIN_SIDE_SHARE * height:
            continue
        for left, right in itertools.combinations(cols, 2):
            if (right - left < TILE_MIN_SIDE_SHARE * width or (bottom - top) * (right - left) > 0.95 * height * width
                    or not all(is_border(True, line, left, right) for line in (top, bottom))
                    or not all(is_border(False, line, top, bottom) for line in (left, right))):
                continue
            tiles.append((top, bottom, left, right))
    inner = [t for t in tiles if not any(o != t and t[0] <= o[0] and o[1] <= t[1] and t[2] <= o[2] and o[3] <= t[3]
                                         for o in tiles)]
    return sorted(inner, key=lambda t: -(t[1] - t[0]) * (t[3] - t[2]))[:TILES_MAX]


def _turned(picture: np.ndarray) -> list[np.ndarray]:
    """The picture turned each way of TURNS, in that order."""
    return [picture[:, ::-1], np.rot90(picture, 1), np.rot90(picture, 2), np.rot90(picture, -1), picture[::-1],
            picture.transpose(1, 0, 2), np.rot90(picture, 2).transpose(1, 0, 2)]


def _centre_crop(image: np.ndarray, width_share: float, height_share: float) -> np.ndarray:
    height, width = image.shape[:2]
    crop_h, crop_w = max(1, round(height * height_share)), max(1, round(width * width_share))
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return image[top:top + crop_h, left:left + crop_w]


def _tile_hashes(smalls: list[np.ndarray]) -> np.ndarray:
    """(tiles, frames, 32) packed PDQ of each tile's picture inside its own black bars; a tile is only looked
    for while the picture keeps one size (a stream can change resolution)."""
    if not all(small.shape == smalls[0].shape for small in smalls):
        return np.zeros((0, len(smalls), 32), np.uint8)
    hashes = []
    for top, bottom, left, right in tile_boxes(smalls):
        tiles = [small[top:bottom, left:right] for small in smalls]
        hashes.append([packed_pdq(tile[t:b, lt:rt])[0]
                       for tile, (t, b, lt, rt) in zip(tiles, steady_content_boxes(tiles), strict=True)])
    return np.array(hashes, dtype=np.uint8).reshape(-1, len(smalls), 32)


def copy_signature(video: DecodedVideo, cfg: Settings) -> CopySignature:
    """The signature of a decoded video (~17 PDQ hashes per frame, ~0.3-0.5 ms each on a <= 320 px copy)."""
    scaled, turned, quality = [], [], []
    smalls = [shrink(frame) for frame in video.frames]
    for small, (top, bottom, left, right) in zip(smalls, steady_content_boxes(smalls), strict=True):
        picture = small[top:bottom, left:right]
        per_scale = [packed_pdq(_centre_crop(picture, *crop)) for crop in CROPS]
        whole_frame = per_scale[0][0] if picture.shape == small.shape else packed_pdq(small)[0]
        scaled.append([bits for bits, _ in per_scale] + [whole_frame])
        quality.append(per_scale[0][1])
        turned.append([packed_pdq(view)[0] for view in _turned(picture)])
    bits = np.array(scaled, dtype=np.uint8).transpose(1, 0, 2)  # (framings, frames, 32)
    quality_array = np.array(quality, dtype=np.int16)
    audio = video.audio
    audible = audio is not None and audio.size > 0 and float(np.sqrt(np.mean(np.square(audio)))) > SILENT_RMS
    return CopySignature(
        times_s=np.array(video.frame_times_s, dtype=np.float32),
        cuts=np.array(video.scene_changes, dtype=bool),
        quality=quality_array,
        bits=bits,
        turned_bits=np.array(turned, dtype=np.uint8).reshape(-1, len(TURNS), 32).transpose(1, 0, 2),
        tile_bits=_tile_hashes(smalls),
        index_frames=select_key_frames(bits[0], quality_array, video.scene_changes, cfg.pdq_min_quality,
                                       cfg.index_frame_min_change, cfg.index_frames_max),
        audio_fingerprint=audio_fingerprint(audio, video.audio_sample_rate) if audible else np.zeros(0, np.int32),
        duration_s=float(video.duration_s),
        pitch_fingerprints=tuple(audio_fingerprint(audio, video.audio_sample_rate, shift) for shift in PITCH_SHIFTS)
        if audible else (),
    )
