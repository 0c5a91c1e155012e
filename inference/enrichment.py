"""The enrichment pass over one decoded video: every model, run concurrently, each timed.

Enrichment calls Triton: asr on the audio track, ocr (and frame_encoder when CLIP weights are configured, faces
when FACES_ENABLED) on key frames only (features/media.decode_key_frames), then text_encoder on the
title/description/tags and on every transcript segment, OCR line and concept seen (image_features' ImageNet
classes on the key frames, core/visual_concepts.py). A video's faces are grouped into the
distinct people it shows (core/faces.py). (The copy-detection signature needs no model server:
features/copy_signature.py.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import cv2
import numpy as np

from core.faces import DLIB_SAME_PERSON_DISTANCE, Person, group_people
from core.text import TEXT_EMBEDDING_DIMS, OcrText, TextChunk, merge_ocr_lines
from core.visual_concepts import ConceptMoment, seen_moments
from features.descriptor_views import WHOLE_SIDE, content_pictures
from features.media import KeyFrames
from inference.triton_client import TritonModels
from storage.search_index import EnrichmentSummary, StoredEnrichment

T = TypeVar("T")

NO_AUDIO_TRANSCRIPT: dict[str, Any] = {"language": None, "language_probability": None, "no_speech": True,
                                       "speech_s": 0.0, "segments": []}


@dataclass(frozen=True)
class Enrichment:
    key_times_s: list[float]  # the key frames the image models saw
    transcript: dict[str, Any]  # the asr model's document (see model_repository/asr/1/model.py)
    ocr: list[OcrText]
    clip_embeddings: np.ndarray | None  # one row per key frame; None without CLIP weights
    metadata_embedding: np.ndarray  # text_encoder's of title/description/tags (zeros when there is none)
    chunk_texts: list[str]  # transcript segments, then OCR lines, then concepts seen
    chunk_embeddings: np.ndarray  # text_encoder's, one row per chunk text
    model_seconds: dict[str, float]  # wall time per model call (they overlap; see total_s)
    total_s: float
    people: list[Person] = field(default_factory=list)  # empty when faces are off
    seen: list[ConceptMoment] = field(default_factory=list)  # ImageNet concepts per moment

    def text_chunks(self, metadata_text: str, duration_s: float) -> list[TextChunk]:
        """The title chunk (if there is metadata text), then transcript segments, then OCR lines, then concepts
        seen."""
        places = [("transcript", s["start_s"], s["end_s"]) for s in self.transcript["segments"]]
        places += [("ocr", line.first_s, line.last_s) for line in self.ocr]
        places += [("seen", seen.start_s, seen.end_s) for seen in self.seen]
        chunks = [TextChunk("title", 0.0, duration_s, metadata_text, self.metadata_embedding)] if metadata_text else []
        return chunks + [TextChunk(kind, float(start), float(end), text, embedding)
                         for (kind, start, end), text, embedding
                         in zip(places, self.chunk_texts, self.chunk_embeddings, strict=True)]


async def classify_key_frames(models: TritonModels, frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """image_features' ImageNet classes of each key frame, cut to its content inside black bars and squeezed to the
    network's 224 x 224 (the whole picture: an object at its side counts too)."""
    pictures = [cv2.resize(p, (WHOLE_SIDE, WHOLE_SIDE), interpolation=cv2.INTER_AREA)
                for p in content_pictures(frames)] if frames else []
    return await models.classify_images(pictures)


async def enrich(media: KeyFrames, metadata_text: str, models: TritonModels, use_clip: bool,
                 language_hint: str | None = None, use_faces: bool = False, duration_s: float = 0.0,
                 seen_min_confidence: float | None = None,
                 language_prior: Mapping[str, float] | None = None) -> Enrichment:
    """Run asr (in ``language_hint``, if the publisher gave one, else choosing among ``language_prior``'s languages
    with its weights, inference/language_prior.py), ocr, (if ``use_clip``) frame_encoder, (if ``use_faces``) faces
    and (if ``seen_min_confidence`` is given) image_features' ImageNet concepts concurrently, then text_encoder on
    what they found."""
    started = time.perf_counter()
    model_seconds: dict[str, float] = {}

    async def timed(name: str, call: Awaitable[T]) -> T:
        t0 = time.perf_counter()
        result = await call
        model_seconds[name] = round(time.perf_counter() - t0, 4)
        return result

    async def no_transcript() -> dict[str, Any]:
        return NO_AUDIO_TRANSCRIPT

    async def no_clip() -> None:
        return None

    async def no_faces() -> list[list[dict[str, Any]]]:
        return [[] for _ in media.frames]

    async def seen() -> list[ConceptMoment]:
        ids, scores = await classify_key_frames(models, media.frames)
        return seen_moments(media.times_s, ids, scores, duration_s, seen_min_confidence or 0.0)

    async def nothing_seen() -> list[ConceptMoment]:
        return []

    has_audio = media.audio is not None and media.audio.size > 0
    transcript, ocr_lines, clip_embeddings, faces, concepts = await asyncio.gather(
        timed("asr", models.transcribe(media.audio, media.audio_sample_rate, language_hint,
                                          language_prior)) if has_audio
        else no_transcript(),
        timed("ocr", models.read_text(media.frames)),
        timed("frame_encoder", models.embed_frames(media.frames)) if use_clip else no_clip(),
        timed("faces", models.detect_faces(media.frames)) if use_faces else no_faces(),
        timed("image_features", seen()) if seen_min_confidence is not None else nothing_seen(),
    )
    ocr = merge_ocr_lines(media.times_s, ocr_lines)
    chunk_texts = [s["text"] for s in transcript["segments"]] + [o.text for o in ocr] + [c.text for c in concepts]
    texts = ([metadata_text] if metadata_text else []) + chunk_texts
    embeddings = await timed("text_encoder", models.embed_texts(texts))
    metadata_embedding = embeddings[0] if metadata_text else np.zeros(embeddings.shape[1], np.float32)
    return Enrichment(
        key_times_s=media.times_s, transcript=transcript, ocr=ocr, clip_embeddings=clip_embeddings,
        metadata_embedding=metadata_embedding, chunk_texts=chunk_texts,
        chunk_embeddings=embeddings[1:] if metadata_text else embeddings,
        model_seconds=model_seconds, total_s=round(time.perf_counter() - started, 4),
        people=group_people(media.times_s, faces, DLIB_SAME_PERSON_DISTANCE), seen=concepts)


def enrichment_summary(enrichment: Enrichment, has_audio: bool) -> EnrichmentSummary:
    """What the search card keeps of an enrichment beyond its chunks (see reused_enrichment)."""
    transcript = enrichment.transcript
    return EnrichmentSummary(has_audio=has_audio, language=transcript["language"],
                             no_speech=transcript["no_speech"], speech_s=transcript["speech_s"],
                             ocr_confidence=tuple(o.confidence for o in enrichment.ocr),
                             people=tuple(enrichment.people),
                             seen=tuple((s.concept, s.imagenet_class, s.confidence) for s in enrichment.seen))


def reused_enrichment(stored: StoredEnrichment, metadata_embedding: np.ndarray | None, seconds: float) -> Enrichment:
    """An exact copy's enrichment from its original's (the search index's chunks and card), with the copy's own
    title embedding (None: it has no title, description or tags)."""
    summary = stored.summary
    segments = [{"start_s": c.start_s, "end_s": c.end_s, "text": c.text}
                for c in stored.chunks if c.kind == "transcript"]
    lines = [c for c in stored.chunks if c.kind == "ocr"]
    seen = [c for c in stored.chunks if c.kind == "seen"]
    texts = [c.text for c in stored.chunks]
    return Enrichment(
        key_times_s=stored.frame_times_s,
        transcript={"language": summary.language, "language_probability": None, "no_speech": summary.no_speech,
                    "speech_s": summary.speech_s, "segments": segments},
        ocr=[OcrText(c.text, confidence, c.start_s, c.end_s) for c, confidence in zip(lines, summary.ocr_confidence,
                                                                                     strict=True)],
        clip_embeddings=stored.frame_embeddings,
        metadata_embedding=metadata_embedding if metadata_embedding is not None
        else np.zeros(TEXT_EMBEDDING_DIMS, np.float32),
        chunk_texts=texts,
        chunk_embeddings=np.stack([c.embedding for c in stored.chunks]) if texts
        else np.zeros((0, TEXT_EMBEDDING_DIMS), np.float32),
        model_seconds={"text_encoder": round(seconds, 4)} if metadata_embedding is not None else {},
        total_s=round(seconds, 4), people=list(summary.people),
        seen=[ConceptMoment(concept, imagenet_class, c.start_s, c.end_s, confidence, c.text)
              for c, (concept, imagenet_class, confidence) in zip(seen, summary.seen, strict=True)])
