"""Spoken-language detection on speech published without a language hint, through the real asr model.

The corpus (fixed seeds, made under FOLDER once): for each of en, ru, de, es, fr, it, pt three clips of 15 s or
more, two passages read by espeak-ng voices (a seeded voice variant and speed each, and both passages in one
longer clip), English also as LibriVox recordings and Russian as recorded telephone prompts (real speakers), and
two clips that switch language half-way (Russian then English, German then Spanish). Each clip is sent with no hint
four ways: as main did (whisper's own guess from the first 30 s among all its languages), and with the prior over
the served languages (SPOKEN_LANGUAGES, default the text encoder's) from no metadata, from a title in the clip's
language, and from a misleading English title. Prints per language how many clips came out right, and what the
wrong ones came out as.

    python -m bench.language_eval [FOLDER] [--port 19600]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.bench_stack import own_triton
from core.languages import served_languages
from inference.language_prior import language_prior
from inference.triton_client import TritonModels
from loadgen.media_kit import ASTERISK_RU_DIR, espeak_clip, librivox_clips, recorded_ru_clip
from settings import REPO_ROOT, Settings

SAMPLE_RATE = 16000
GAP = np.zeros(SAMPLE_RATE // 2, np.float32)  # half a second between the parts of a clip
VARIANTS = ("m1", "m2", "m3", "m4", "m7", "f1", "f2", "f3", "f4")  # espeak-ng voice variants
MISLEADING_TITLE = "Watch till the end and subscribe for more videos"  # py3langid: English, p 1.0
PASSAGES = {
    "en": ("The old lighthouse on the northern cliff was closed for repairs last winter, and the town council has "
           "finally agreed to open it again in the spring. Visitors will be able to climb the stairs to the top "
           "and look out over the harbour, where fishing boats come in every morning.",
           "Making bread at home is easier than most people think. You only need flour, water, salt and a little "
           "yeast. Mix everything together, let the dough rest for a few hours, fold it a couple of times, and bake "
           "it in a very hot oven until the crust is deep brown."),
    "ru": ("Старый маяк на северном утёсе закрыли на ремонт прошлой зимой, и городской совет наконец решил открыть "
           "его снова весной. Посетители смогут подняться по лестнице на самый верх и посмотреть на гавань, куда "
           "каждое утро возвращаются рыбацкие лодки.",
           "Испечь хлеб дома проще, чем думает большинство людей. Нужны только мука, вода, соль и немного дрожжей. "
           "Смешайте всё вместе, дайте тесту отдохнуть несколько часов, сложите его пару раз и выпекайте в очень "
           "горячей духовке, пока корочка не станет тёмной."),
    "de": ("Der alte Leuchtturm auf der nördlichen Klippe wurde im letzten Winter wegen Reparaturen geschlossen, und "
           "der Stadtrat hat endlich beschlossen, ihn im Frühling wieder zu öffnen. Besucher können dann die Treppe "
           "bis ganz nach oben steigen und auf den Hafen blicken, in den jeden Morgen die Fischerboote einlaufen.",
           "Brot zu Hause zu backen ist einfacher, als die meisten Leute denken. Man braucht nur Mehl, Wasser, Salz "
           "und ein wenig Hefe. Alles vermischen, den Teig ein paar Stunden ruhen lassen, ihn zweimal falten und in "
           "einem sehr heißen Ofen backen, bis die Kruste dunkelbraun ist."),
    "es": ("El viejo faro del acantilado norte se cerró por reparaciones el invierno pasado, y el ayuntamiento por "
           "fin ha decidido abrirlo de nuevo en primavera. Los visitantes podrán subir las escaleras hasta lo más "
           "alto y mirar el puerto, donde cada mañana llegan los barcos de pesca.",
           "Hacer pan en casa es más fácil de lo que la mayoría de la gente piensa. Solo se necesita harina, agua, "
           "sal y un poco de levadura. Se mezcla todo, se deja reposar la masa unas horas, se dobla un par de veces "
           "y se hornea en un horno muy caliente hasta que la corteza esté bien dorada."),
    "fr": ("Le vieux phare sur la falaise nord a été fermé pour travaux l'hiver dernier, et le conseil municipal a "
           "enfin décidé de le rouvrir au printemps. Les visiteurs pourront monter l'escalier jusqu'en haut et "
           "regarder le port, où les bateaux de pêche rentrent chaque matin.",
           "Faire du pain à la maison est plus facile que la plupart des gens ne le pensent. Il suffit de farine, "
           "d'eau, de sel et d'un peu de levure. On mélange le tout, on laisse reposer la pâte quelques heures, on "
           "la plie deux fois et on la cuit dans un four très chaud jusqu'à ce que la croûte soit bien dorée."),
    "it": ("Il vecchio faro sulla scogliera a nord è stato chiuso per lavori lo scorso inverno, e il consiglio "
           "comunale ha finalmente deciso di riaprirlo in primavera. I visitatori potranno salire le scale fino in "
           "cima e guardare il porto, dove ogni mattina rientrano le barche dei pescatori.",
           "Fare il pane in casa è più facile di quanto pensi la maggior parte delle persone. Servono solo farina, "
           "acqua, sale e un po' di lievito. Si mescola tutto, si lascia riposare l'impasto per qualche ora, lo si "
           "piega un paio di volte e lo si cuoce in un forno molto caldo finché la crosta non è ben dorata."),
    "pt": ("O velho farol no penhasco do norte foi fechado para reparos no inverno passado, e a câmara municipal "
           "finalmente decidiu reabri-lo na primavera. Os visitantes poderão subir as escadas até ao topo e olhar "
           "para o porto, onde todas as manhãs chegam os barcos de pesca.",
           "Fazer pão em casa é mais fácil do que a maioria das pessoas pensa. Só é preciso farinha, água, sal e um "
           "pouco de fermento. Mistura-se tudo, deixa-se a massa descansar algumas horas, dobra-se duas vezes e "
           "coze-se num forno muito quente até a côdea ficar bem dourada."),
}
TITLES = {"en": "The lighthouse opens again", "ru": "Маяк снова открывается", "de": "Der Leuchtturm öffnet wieder",
          "es": "El faro vuelve a abrir", "fr": "Le phare rouvre ses portes", "it": "Il faro riapre",
          "pt": "O farol reabre"}
ESPEAK_VOICES = {"en": "en-gb", "ru": "ru", "de": "de", "es": "es", "fr": "fr-fr", "it": "it", "pt": "pt"}
WAYS = ("whisper alone (main)", "served, no metadata", "served + title", "served + English title")


@dataclass(frozen=True)
class Clip:
    name: str
    language: str  # what it speaks ("ru>en": Russian, then English)
    audio: np.ndarray
    title: str


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([x for part in parts for x in (part, GAP)])


def _load(path: Path) -> np.ndarray:
    from faster_whisper.audio import decode_audio

    return decode_audio(str(path), SAMPLE_RATE)


def _espeak(language: str, passage: int, folder: Path, rng: random.Random) -> np.ndarray:
    voice = f"{ESPEAK_VOICES[language]}+{rng.choice(VARIANTS)}"
    clip = espeak_clip(f"{language}-{passage}", PASSAGES[language][passage], folder, voice, rng.randrange(125, 156))
    return _load(clip.wav)


def corpus(folder: Path, seed: int = 7) -> list[Clip]:
    """The clips, made under ``folder`` once (the same ones for the same seed)."""
    rng = random.Random(seed)
    clips = []
    for language in PASSAGES:
        first, second = _espeak(language, 0, folder, rng), _espeak(language, 1, folder, rng)
        both = _joined([_espeak(language, 1, folder, rng), _espeak(language, 0, folder, rng)])
        for n, audio in enumerate((first, second, both)):
            clips.append(Clip(f"espeak-{language}-{n}", language, audio, TITLES[language]))
    librivox = [_load(clip.wav) for clip in librivox_clips()]
    for n in range(2):
        clips.append(Clip(f"librivox-{n}", "en", _joined(rng.sample(librivox, len(librivox))), TITLES["en"]))
    prompts = sorted(path.stem for path in ASTERISK_RU_DIR.glob("*.gsm"))
    for n in range(2):
        parts: list[np.ndarray] = []
        while sum(p.size for p in parts) < 16 * SAMPLE_RATE:
            parts.append(_load(recorded_ru_clip(rng.choice(prompts), "", folder / "recorded").wav))
        clips.append(Clip(f"recorded-ru-{n}", "ru", _joined(parts), TITLES["ru"]))
    for first, then in (("ru", "en"), ("de", "es")):
        audio = _joined([_espeak(first, 0, folder, rng), _espeak(first, 1, folder, rng),
                         _espeak(then, 0, folder, rng), _espeak(then, 1, folder, rng)])
        clips.append(Clip(f"switch-{first}-{then}", f"{first}>{then}", audio, TITLES[first]))
    return clips


def _heard(transcript: Mapping) -> str:
    """The clip's language as the asr model took it: the languages its windows were decoded in (in order, repeats
    merged), else (whisper alone) the language whisper detected; "-" when whisper kept no words."""
    codes = [w["language"] for w in transcript.get("language_windows", [])] or [transcript["language"] or "-"]
    return ">".join(c for n, c in enumerate(codes) if n == 0 or c != codes[n - 1])


def _posteriors(transcript: Mapping) -> str:
    return " | ".join(" ".join(f"{c} {p:.2f}" for c, p in w["posteriors"].items())
                      for w in transcript.get("language_windows", []))


async def measure(cfg: Settings, clips: list[Clip]) -> dict[str, list[tuple[str, str, float]]]:
    """Per way, (spoken, heard, seconds the asr call took) for each clip."""
    served = served_languages(cfg.spoken_languages)
    models = TritonModels(cfg)
    results: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    try:
        for clip in clips:
            priors = (None, language_prior(served, "", []), language_prior(served, clip.title, []),
                      language_prior(served, MISLEADING_TITLE, []))
            for way, prior in zip(WAYS, priors, strict=True):
                started = time.perf_counter()
                transcript = await models.transcribe(clip.audio, SAMPLE_RATE, None, prior)
                results[way].append((clip.language, _heard(transcript), time.perf_counter() - started))
                print(f"{clip.name:<18} {clip.audio.size / SAMPLE_RATE:5.1f}s  {way:<24} {_heard(transcript):<6} "
                      f"words {len(transcript['segments']):>2}  {_posteriors(transcript)}", flush=True)
    finally:
        await models.close()
    return results


def report(results: Mapping[str, list[tuple[str, str, float]]]) -> None:
    for way, pairs in results.items():
        right = sum(spoken == heard for spoken, heard, _ in pairs)
        single = [(spoken, heard) for spoken, heard, _ in pairs if ">" not in spoken]
        print(f"\n{way}: {right}/{len(pairs)} right ({sum(s == h for s, h in single)}/{len(single)} of the clips in "
              f"one language), asr {sum(s for _, _, s in pairs):.0f} s in all")
        by_language: dict[str, list[str]] = defaultdict(list)
        for spoken, heard, _ in pairs:
            by_language[spoken].append(heard)
        for spoken, heard in by_language.items():
            wrong = Counter(h for h in heard if h != spoken)
            print(f"  {spoken:<6} {len(heard) - sum(wrong.values())}/{len(heard)}"
                  + (f"  wrong: {dict(wrong)}" if wrong else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, nargs="?", default=REPO_ROOT / ".stack" / "bench" / "language_eval")
    parser.add_argument("--port", type=int, default=19600, help="HTTP port of the benchmark's own tritonserver")
    args = parser.parse_args()
    clips = corpus(args.folder)
    with own_triton(Settings.from_env(), args.port, ("asr",)) as cfg:
        report(asyncio.run(measure(cfg, clips)))


if __name__ == "__main__":
    main()
