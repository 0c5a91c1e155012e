"""What a video's text looks like once found: OCR lines with when they were seen, and searchable chunks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# universal-sentence-encoder-multilingual v3 (Triton's text_encoder): the width of every text embedding stored or
# searched. The worker checks Triton's text_encoder against it when it starts (inference/triton_client.py).
TEXT_EMBEDDING_DIMS = 512


@dataclass(frozen=True)
class OcrText:
    """One distinct line of overlaid text (EnrichedVideo.ocr)."""

    text: str
    confidence: float
    first_s: float  # first key frame where it was read
    last_s: float  # last key frame where it was read


@dataclass(frozen=True)
class TextChunk:
    """A searchable piece of a video's text and where it is: the title (with description and tags, the whole
    video), a transcript segment, or an OCR line (from the first to the last key frame it was read on). Also the
    Avro record ArchivedVideo.chunks holds."""

    kind: str  # "title", "transcript", "ocr" or "seen" (an ImageNet concept, core/visual_concepts.py)
    start_s: float
    end_s: float
    text: str
    embedding: np.ndarray  # unit norm, TEXT_EMBEDDING_DIMS


def merge_ocr_lines(frame_times_s: list[float], lines_per_frame: list[list[dict[str, Any]]]) -> list[OcrText]:
    """One entry per distinct line (case and spacing folded), its best reading and when it was seen."""
    merged: dict[str, OcrText] = {}
    for time_s, lines in zip(frame_times_s, lines_per_frame, strict=True):
        for line in lines:
            key = " ".join(line["text"].lower().split())
            seen = merged.get(key)
            if seen is None:
                merged[key] = OcrText(line["text"], line["confidence"], time_s, time_s)
            else:
                best = line if line["confidence"] > seen.confidence else {"text": seen.text,
                                                                         "confidence": seen.confidence}
                merged[key] = OcrText(best["text"], best["confidence"], seen.first_s, time_s)
    return sorted(merged.values(), key=lambda o: (o.first_s, o.text))
