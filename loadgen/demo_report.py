"""The demo's report as one self-contained HTML file: the matched frames of each copy side by side, a timeline of
the ranges that matched, what was said and shown, clusters, series parts, search hits and dead letters. Pictures
are embedded (JPEG thumbnails made with ffmpeg), so the file can be mailed or opened anywhere."""

from __future__ import annotations

import base64
import subprocess
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from settings import Settings

if TYPE_CHECKING:
    from loadgen.demo import DemoRun

THUMB_WIDTH = 240
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
.copy { display: grid; grid-template-columns: 250px 250px 1fr; gap: 12px; margin: 1em 0; align-items: start; }
figure { margin: 0; } figcaption { font-size: 12px; color: #555; } img { width: 240px; border-radius: 4px; }
.bar { position: relative; height: 16px; background: #eee; border-radius: 3px; margin: 2px 0 8px; }
.bar span { position: absolute; top: 0; bottom: 0; background: #3a7bd5; border-radius: 3px; opacity: .85; }
.bar span.intro { background: #e67e22; } .bar span.credits { background: #8e44ad; }
.label { font-size: 12px; color: #444; } .bad { color: #b00; font-weight: bold; } .ok { color: #070; }
pre { background: #f6f6f6; padding: .6em; white-space: pre-wrap; }
"""


def thumbnail(path: Path, at_s: float) -> str:
    """A JPEG of the frame at ``at_s`` as a data: URI ("" if ffmpeg cannot make one)."""
    command = ["ffmpeg", "-nostdin", "-v", "error", "-ss", f"{max(at_s, 0.0):.2f}", "-i", str(path),
               "-frames:v", "1", "-vf", f"scale={THUMB_WIDTH}:-2", "-f", "image2pipe", "-c:v", "mjpeg",
               "-q:v", "5", "pipe:1"]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0 or not result.stdout:
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(result.stdout).decode()


def figure(path: Path, at_s: float, caption: str) -> str:
    source = thumbnail(path, at_s)
    picture = f'<img src="{source}" alt="">' if source else "<p>(no picture)</p>"
    return f"<figure>{picture}<figcaption>{escape(caption)}</figcaption></figure>"


def timeline(label: str, duration_s: float, spans: list[tuple[float, float, str]]) -> str:
    """A bar for a video of ``duration_s`` with its ``spans`` (start, end, css class) marked."""
    marks = "".join(f'<span class="{kind}" style="left:{100 * start / duration_s:.2f}%;'
                    f'width:{100 * max(end - start, 0.0) / duration_s:.2f}%" title="{start:.1f}-{end:.1f} s">'
                    "</span>" for start, end, kind in spans) if duration_s > 0 else ""
    return f'<div class="label">{escape(label)}</div><div class="bar">{marks}</div>'


def media_path(cfg: Settings, run: DemoRun, video_id: str) -> Path:
    video = next(v for v in run.videos if v.video_id == video_id)
    return cfg.media_root / video.event["media_uri"]


def duration(run: DemoRun, video_id: str) -> float:
    return float((run.enriched(video_id) or {}).get("duration_s") or 0.0)


def copies_html(cfg: Settings, run: DemoRun) -> str:
    parts = []
    for video in run.part("copies"):
        verdict = run.verdict(video.video_id)
        if not verdict or not verdict["matches"]:
            parts.append(f"<p><b>{escape(video.video_id)}</b>: {escape(verdict['verdict'] if verdict else 'none')}"
                         f" [{escape(video.note)}]</p>")
            continue
        match = verdict["matches"][0]
        middle = (match["query_start_s"] + match["query_end_s"]) / 2
        reference_at = match["reference_start_s"] + (middle - match["query_start_s"]) * (match["speed"] or 1.0)
        original = match["video_id"]
        parts.append(
            '<div class="copy">'
            + figure(media_path(cfg, run, video.video_id), middle, f"{video.video_id} at {middle:.1f} s")
            + figure(media_path(cfg, run, original), reference_at, f"{original} at {reference_at:.1f} s")
            + f"<div><b>{escape(video.video_id)}</b>: {escape(verdict['verdict'])} of {escape(original)}, score "
            f"{match['score']:.2f} <i>[{escape(video.note)}]</i><br>"
            + timeline(f"{video.video_id}: {match['query_start_s']:.1f}-{match['query_end_s']:.1f} s matched",
                       duration(run, video.video_id), [(match["query_start_s"], match["query_end_s"], "")])
            + timeline(f"{original}: {match['reference_start_s']:.1f}-{match['reference_end_s']:.1f} s",
                       duration(run, original), [(match["reference_start_s"], match["reference_end_s"], "")])
            + f'<div class="label">{escape(verdict["reason"])}</div></div></div>')
    return "".join(parts)


def said_html(cfg: Settings, run: DemoRun) -> str:
    parts = []
    for video in run.part("said"):
        enriched = run.enriched(video.video_id) or {}
        texts = enriched.get("ocr", [])
        at = texts[0]["first_s"] if texts else 0.0
        rows = [f"{s['start_s']:.1f}-{s['end_s']:.1f} s said: {s['text'].strip()}"
                for s in (enriched.get("transcript") or {}).get("segments", [])]
        rows += [f"{t['first_s']:.1f}-{t['last_s']:.1f} s on screen: {t['text']}" for t in texts]
        parts.append('<div class="copy">' + figure(media_path(cfg, run, video.video_id), at, f"at {at:.1f} s")
                     + f"<div></div><pre>{escape(chr(10).join(rows) or 'nothing said or shown')}</pre></div>")
    return "".join(parts)


def series_html(run: DemoRun) -> str:
    parts = []
    for video in run.part("series"):
        segments = (run.enriched(video.video_id) or {}).get("recurring_segments", [])
        found = ", ".join(f"{s['kind']} {s['start_s']:.1f}-{s['end_s']:.1f} s" for s in segments) or "none"
        parts.append(timeline(f"{video.video_id}: {found} (built: {video.note})", duration(run, video.video_id),
                              [(s["start_s"], s["end_s"], s["kind"]) for s in segments]))
    return "".join(parts)


def lines_html(lines: list[str]) -> str:
    return f"<pre>{escape(chr(10).join(lines))}</pre>"


def write_report(path: Path, cfg: Settings, run: DemoRun, sections: list[tuple[str, list[str]]]) -> None:
    """The HTML report: pictures and timelines where they say more than the text, the text report for the rest."""
    text = dict(sections)
    titles = [title for title, _ in sections]
    body = [f"<h1>Video understanding: what the pipeline did with {len(run.videos)} videos</h1>",
            f"<h2>{escape(titles[0])}</h2>", copies_html(cfg, run),
            f"<h2>{escape(titles[1])}</h2>", said_html(cfg, run),
            f"<h2>{escape(titles[2])}</h2>", lines_html(text[titles[2]]),
            f"<h2>{escape(titles[3])}</h2>", series_html(run),
            f"<h2>{escape(titles[4])}</h2>", search_html(run),
            f"<h2>{escape(titles[5])}</h2>", lines_html(text[titles[5]])]
    path.write_text("<!doctype html><html lang=en><head><meta charset=utf-8><title>Video understanding demo"
                    f"</title><style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")


def search_html(run: DemoRun) -> str:
    parts = []
    for query, url, hits in run.searches:
        items = "".join(f"<li><b>{escape(hit['video']['video_id'])}</b> {escape(hit['video'].get('title') or '')}: "
                        + "; ".join(moment_text(m) for m in hit["moments"][:3]) + "</li>" for hit in hits)
        parts.append(f'<p>“{escape(query)}” (<a href="{escape(url)}">open on the search page</a>)</p>'
                     f"<ol>{items or '<li>no hits</li>'}</ol>")
    return "".join(parts)


def moment_text(moment: dict[str, Any]) -> str:
    return escape(f"{moment['kind']} {moment['start_s']:.1f}-{moment['end_s']:.1f} s “{moment['text'][:60]}”")
