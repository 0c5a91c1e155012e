"""OCR of one frame: PP-OCRv4 (rapidocr) finds and reads the lines; Tesseract re-reads them for Cyrillic.

PP-OCRv4's recognizer knows Latin and Chinese only: a Russian line comes out as Latin look-alikes
('OTKpbITneeKapHn'). Each detected line PP-OCR did not already read as confident Latin is cut out of the
frame and read again by Tesseract (``tesseract_languages``, Debian's models in ``tessdata_dir``); that
reading replaces PP-OCR's when it is Cyrillic and confident. Latin lines keep PP-OCR's reading (Tesseract
reads stylised Latin text worse). ``min_confidence`` applies to the reading kept, so a Russian line PP-OCR
scored low survives when Tesseract reads it confidently.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import numpy as np

LINE_BORDER = 0.25  # of the line's height: its edge pixels repeated around it (Tesseract misreads text at the edge)


def script_share(text: str, script: str) -> float:
    """The share of ``text``'s letters whose Unicode name starts with ``script`` ("CYRILLIC", "LATIN"); 0 without
    letters."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(unicodedata.name(c, "").startswith(script) for c in letters) / len(letters)


def is_cyrillic(text: str) -> bool:
    """Most of the letters are Cyrillic."""
    return script_share(text, "CYRILLIC") > 0.5


def is_latin(text: str) -> bool:
    """Most of the letters are Latin."""
    return script_share(text, "LATIN") > 0.5


def rereads(text: str, score: float, latin_skip_confidence: float) -> bool:
    """Whether Tesseract reads the line again: PP-OCR did not read it as Latin scoring ``latin_skip_confidence``."""
    return not (is_latin(text) and score >= latin_skip_confidence)


def kept_reading(first: tuple[str, float], second: tuple[str, float], min_cyrillic_confidence: float
                 ) -> tuple[str, float]:
    """Of PP-OCR's reading and Tesseract's, each (text, confidence): Tesseract's when it is Cyrillic with at
    least ``min_cyrillic_confidence``, else PP-OCR's."""
    text, confidence = second
    return second if is_cyrillic(text) and confidence >= min_cyrillic_confidence else first


def line_image(rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The line inside ``box`` (4 corners clockwise from top left) as an upright grey image, dark text on a
    light ground (Tesseract's best case), with a LINE_BORDER around it; a skewed box is rotated upright."""
    import cv2

    top_left, top_right, bottom_right, bottom_left = box
    width = max(1, round(max(np.linalg.norm(top_right - top_left), np.linalg.norm(bottom_right - bottom_left))))
    height = max(1, round(max(np.linalg.norm(bottom_left - top_left), np.linalg.norm(bottom_right - top_right))))
    upright = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    transform = cv2.getPerspectiveTransform(box.astype(np.float32), upright)
    crop = cv2.warpPerspective(rgb, transform, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    _threshold, binary = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if np.count_nonzero(binary) < binary.size / 2:  # mostly dark: light text on a dark ground
        grey = 255 - grey
    border = round(LINE_BORDER * height)
    return cv2.copyMakeBorder(grey, border, border, border, border, cv2.BORDER_REPLICATE)


class TesseractLines:
    """Tesseract, loaded once, reading single-line images."""

    def __init__(self, tessdata_dir: str, languages: str) -> None:
        from tesserocr import PSM, PyTessBaseAPI

        self.api = PyTessBaseAPI(path=tessdata_dir, lang=languages, psm=PSM.SINGLE_LINE)

    def read(self, grey: np.ndarray) -> tuple[str, float]:
        """The text of a grey line image (whitespace collapsed) and Tesseract's mean word confidence, 0..1."""
        height, width = grey.shape
        pixels = np.ascontiguousarray(grey).tobytes()  # held until Tesseract has read it
        self.api.SetImageBytes(pixels, width, height, 1, width)
        text = " ".join(self.api.GetUTF8Text().split())
        return text, self.api.MeanTextConf() / 100


class FrameReader:
    """PP-OCRv4 detection and reading, with Tesseract's reading for Cyrillic lines when ``tesseract_languages``
    is set (empty: PP-OCR alone, Tesseract not loaded)."""

    def __init__(self, parameters: dict[str, str]) -> None:
        from rapidocr_onnxruntime import RapidOCR

        self.min_confidence = float(parameters["min_confidence"])
        self.tesseract_min_confidence = float(parameters["tesseract_min_confidence"])
        self.latin_skip_confidence = float(parameters["latin_skip_confidence"])
        # text_score 0: rapidocr drops nothing itself, min_confidence applies to the reading kept
        self.engine = RapidOCR(intra_op_num_threads=int(parameters["cpu_threads"]), inter_op_num_threads=1,
                               det_limit_type=parameters["det_limit_type"],
                               det_limit_side_len=int(parameters["det_limit_side_len"]), text_score=0.0)
        languages = parameters["tesseract_languages"]
        self.tesseract = TesseractLines(parameters["tessdata_dir"], languages) if languages else None

    def reading(self, rgb: np.ndarray, box: np.ndarray, text: str, score: float) -> tuple[str, float]:
        """The line's reading and its confidence: Tesseract's when it is confident Cyrillic, else PP-OCR's."""
        if self.tesseract is None or not rereads(text, score, self.latin_skip_confidence):
            return text, score
        return kept_reading((text, score), self.tesseract.read(line_image(rgb, box)), self.tesseract_min_confidence)

    def read(self, rgb: np.ndarray) -> list[dict[str, Any]]:
        """The lines of an RGB frame: ``{"text", "confidence", "box"}`` in reading order, those whose reading
        scored at least ``min_confidence``."""
        result, _elapsed = self.engine(np.ascontiguousarray(rgb[:, :, ::-1]))  # rapidocr expects BGR
        lines = []
        for box, pp_text, pp_score in result or []:
            corners = np.array(box, dtype=np.float32)
            text, confidence = self.reading(rgb, corners, pp_text.strip(), float(pp_score))
            if text and confidence >= self.min_confidence:
                lines.append({"text": text, "confidence": round(confidence, 3),
                              "box": [[round(float(x), 1), round(float(y), 1)] for x, y in corners]})
        return lines
