"""Which language each stretch of a track is spoken in (the asr model's choice; pure, no whisper here).

Whisper guesses a language from the first 30 s alone, among its ~100, and synthetic or accented speech in a served
language often comes out as a neighbour it has no use for (German as Latin, Russian as Czech or Polish). Here the
choice is made over several windows of the track, among the languages the deployment serves only, each weighted by
a prior (the client's: the title's language, the channel's history), and a track may change language between
windows, at a cost (``SWITCH_PROBABILITY``), so one doubtful window does not split a video in two.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

WINDOW_S = 30.0  # whisper's own window: one encoder pass per window
MIN_WINDOW_SPEECH_S = 2.0  # a window with less speech says too little of its language to be asked
# A priori chance that neighbouring windows are in different languages: a change must be worth 1/0.05 = 20x in
# likelihood (one window whisper is ~95 % sure of against the prior; a lone doubtful window is not enough).
SWITCH_PROBABILITY = 0.05
FLOOR = 1e-6  # whisper's probability for a language it ranks nowhere


def detection_windows(duration_s: float, speech: Sequence[tuple[float, float]], max_windows: int,
                      window_s: float = WINDOW_S) -> list[tuple[float, float]]:
    """The ``window_s`` stretches of a track that hold at least MIN_WINDOW_SPEECH_S of ``speech`` (start, end
    seconds), at most ``max_windows`` of them spread evenly over the track."""
    count = max(1, math.ceil(duration_s / window_s))
    windows = [(k * window_s, min((k + 1) * window_s, duration_s)) for k in range(count)]
    spoken = [(start, end) for start, end in windows
              if sum(max(0.0, min(end, e) - max(start, s)) for s, e in speech) >= MIN_WINDOW_SPEECH_S]
    if len(spoken) <= max_windows:
        return spoken
    step = (len(spoken) - 1) / max(1, max_windows - 1)
    return [spoken[round(i * step)] for i in range(max_windows)]


def choose_languages(windows: Sequence[Mapping[str, float]], prior: Mapping[str, float]) -> list[str]:
    """The language of each window: whisper's probabilities (language -> probability) restricted to the prior's
    languages and multiplied by the prior, over the most likely sequence of languages, where each change between
    neighbouring windows costs SWITCH_PROBABILITY (Viterbi). Empty without windows or languages."""
    codes = [code for code, weight in prior.items() if weight > 0]
    if not windows or not codes:
        return []

    def score(window: Mapping[str, float], code: str) -> float:
        return math.log(max(window.get(code, 0.0), FLOOR) * prior[code])

    switch = math.log(SWITCH_PROBABILITY)
    best = {code: score(windows[0], code) for code in codes}
    back: list[dict[str, str]] = []
    for window in windows[1:]:
        leader = max(codes, key=best.__getitem__)
        came = {code: code if best[code] >= best[leader] + switch else leader for code in codes}
        best = {code: best[came[code]] + (0.0 if came[code] == code else switch) + score(window, code)
                for code in codes}
        back.append(came)
    path = [max(codes, key=best.__getitem__)]
    for came in reversed(back):
        path.append(came[path[-1]])
    return path[::-1]


def posterior(window: Mapping[str, float], prior: Mapping[str, float], code: str) -> float:
    """The probability of ``code`` in one window once restricted to the prior's languages and weighted by it."""
    weights = {c: max(window.get(c, 0.0), FLOOR) * w for c, w in prior.items() if w > 0}
    return weights.get(code, 0.0) / sum(weights.values())


def language_spans(windows: Sequence[tuple[float, float]], languages: Sequence[str],
                   duration_s: float) -> list[tuple[float, float, str]]:
    """(start_s, end_s, language) stretches covering the whole track: a new one where a window's language differs
    from the window before (from that window's start); the first starts at 0, the last ends at ``duration_s``."""
    spans: list[tuple[float, float, str]] = []
    for (start, _), language in zip(windows, languages, strict=True):
        if not spans:
            spans.append((0.0, duration_s, language))
        elif language != spans[-1][2]:
            spans[-1] = (spans[-1][0], start, spans[-1][2])
            spans.append((start, duration_s, language))
    return spans
