"""model_repository/ocr/line_reader.py: the script rule, which reading is kept, the line image Tesseract reads
(pure, but with Debian's real Tesseract models and DejaVu Sans)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench.ocr_languages import CONFIG
from model_helpers.model_parameters import config_file_parameters
from model_repository.ocr.line_reader import (
    FrameReader,
    TesseractLines,
    is_cyrillic,
    is_latin,
    kept_reading,
    line_image,
    rereads,
    script_share,
)

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def test_a_line_is_cyrillic_or_latin_by_most_of_its_letters() -> None:
    assert is_cyrillic("Ночное открытие пекарни") and not is_latin("Ночное открытие пекарни")
    assert is_latin("OTKpbITneeKapHn") and not is_cyrillic("OTKpbITneeKapHn")  # PP-OCR's look-alikes
    assert is_cyrillic("Выпуск 12: Tesla")  # digits and punctuation are not letters; 6 of 11 letters Cyrillic
    assert not is_cyrillic("Tickets оп sale")  # 2 of 13 letters Cyrillic
    assert script_share("2026 !", "CYRILLIC") == 0.0 and not is_cyrillic("") and not is_latin("店")
    assert is_latin("Café déjà vu")


def test_only_confident_latin_readings_skip_tesseract() -> None:
    assert not rereads("Fresh bread every morning", 0.96, 0.93)
    assert rereads("HoyHoe oTKpbITNe", 0.88, 0.93)  # Latin look-alikes of a Russian line score lower
    assert rereads("店", 0.99, 0.93) and rereads("", 0.0, 0.93)


def test_tesseract_replaces_pp_ocr_only_with_confident_cyrillic() -> None:
    first = ("HoyHoe", 0.55)
    assert kept_reading(first, ("Ночное", 0.9), 0.75) == ("Ночное", 0.9)
    assert kept_reading(first, ("Ночное", 0.6), 0.75) == first
    assert kept_reading(first, ("Hoynoe", 0.95), 0.75) == first  # Latin from Tesseract: PP-OCR's stays


def rendered_line(text: str, skew_degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """White ``text`` on a dark frame, rotated by ``skew_degrees`` about the frame centre, and its box."""
    frame = Image.new("RGB", (640, 240), (30, 40, 50))
    draw = ImageDraw.Draw(frame)
    font = ImageFont.truetype(FONT, 32)
    left, top, right, bottom = draw.textbbox((80, 100), text, font=font)
    draw.text((80, 100), text, font=font, fill=(255, 255, 255))
    box = np.array([[left - 6, top - 6], [right + 6, top - 6], [right + 6, bottom + 6], [left - 6, bottom + 6]],
                   dtype=np.float32)
    angle = np.radians(skew_degrees)
    centre = np.array([320, 120], dtype=np.float32)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], dtype=np.float32)
    rotated = frame.rotate(-skew_degrees, resample=Image.BICUBIC, center=(320, 120), fillcolor=(30, 40, 50))
    return np.asarray(rotated), (box - centre) @ rotation.T + centre


def test_tesseract_reads_an_upright_and_a_skewed_russian_line() -> None:
    parameters = config_file_parameters(CONFIG)
    tesseract = TesseractLines(parameters["tessdata_dir"], parameters["tesseract_languages"])
    for skew in (0.0, 8.0):
        rgb, box = rendered_line("Ночное открытие пекарни", skew)
        grey = line_image(rgb, box)
        assert grey.ndim == 2 and grey[0, 0] > 128  # light ground: the white text was turned dark
        text, confidence = tesseract.read(grey)
        assert text == "Ночное открытие пекарни" and 0.75 <= confidence <= 1.0, (skew, text, confidence)


def test_empty_languages_load_no_tesseract() -> None:
    assert FrameReader({**config_file_parameters(CONFIG), "tesseract_languages": ""}).tesseract is None
