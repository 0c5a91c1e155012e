"""Triton python-backend model: speech to text with timestamps and language (faster-whisper).

Input AUDIO: float32 mono PCM at 16 kHz, one track per request (a batch of one); optional LANGUAGE: the language
the publisher says the video speaks (an ISO 639-1 code, the event's language_hint). Whisper then decodes in that
language instead of guessing it from the first 30 s (it took synthetic Russian for Norwegian or German, and its
decodes failed); a code whisper does not know is ignored and the language detected. Optional LANGUAGES (without a
usable hint): a JSON object ``{code: prior weight}`` of the languages the deployment serves; whisper's language
probabilities are then taken on every 30 s window with speech (at most ``language_windows``, spread over the track),
restricted to those languages and weighted by the prior, and each stretch is decoded in the language chosen for it
(model_helpers/spoken_language.py): a video may change language between windows. Without either, whisper detects
from the first 30 s among all its languages. Output TRANSCRIPT: one JSON document ``{"language",
"language_probability", "no_speech", "speech_s", "language_windows": [{"start_s", "end_s", "language",
"posteriors"}], "segments": [{"start_s", "end_s", "text", "language", "avg_logprob", "no_speech_prob"}]}``
(language: the hint when one was used, else the language of the most speech; language_windows: the windows
asked, with LANGUAGES only, each with its three likeliest languages' probabilities once restricted and weighted).
``no_speech`` is true when voice-activity detection finds no speech (silence, music only): then no decoding runs at
all and language is null.
"""

import json
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[3] / "model_helpers"))  # beside model_repository/: shared helpers

import numpy as np  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402
from model_parameters import model_parameters, required  # noqa: E402
from spoken_language import choose_languages, detection_windows, language_spans, posterior  # noqa: E402

SAMPLE_RATE = 16000
# Whisper's own rule for dropping hallucinated segments over non-speech.
NO_SPEECH_PROB = 0.6
LOW_AVG_LOGPROB = -1.0


class TritonPythonModel:
    def initialize(self, args):
        from faster_whisper import WhisperModel
        from whisper_weights import whisper_model_dir  # beside this model's config.pbtxt

        parameters = model_parameters(args)
        self.beam_size = int(parameters["beam_size"])
        self.temperatures = [float(t) for t in parameters["temperatures"].split()]
        self.language_windows = int(parameters["language_windows"])
        model_dir = whisper_model_dir(parameters["model_dir"], Path(required(parameters, "cache_dir")))
        self.model = WhisperModel(str(model_dir), device="cpu", compute_type="int8",
                                  cpu_threads=int(parameters["cpu_threads"]))

    def choose(self, audio, prior):
        """The windows of ``audio`` with speech, the language chosen for each and the three likeliest languages'
        posteriors there: ``[(start_s, end_s, language, {code: posterior})]`` (empty without enough speech)."""
        from faster_whisper.vad import get_speech_timestamps

        speech = [(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE) for c in get_speech_timestamps(audio)]
        windows = detection_windows(audio.size / SAMPLE_RATE, speech, self.language_windows)
        probabilities = []
        for start, end in windows:
            voiced = [audio[round(max(s, start) * SAMPLE_RATE):round(min(e, end) * SAMPLE_RATE)]
                      for s, e in speech if s < end and e > start]
            _, _, ranked = self.model.detect_language(audio=np.concatenate(voiced))
            probabilities.append(dict(ranked))
        languages = choose_languages(probabilities, prior)
        return [(start, end, code, {c: round(posterior(window, prior, c), 3)
                                    for c in sorted(prior, key=lambda c: -window.get(c, 0.0) * prior[c])[:3]})
                for (start, end), window, code in zip(windows, probabilities, languages, strict=True)]

    def transcribe(self, audio, language, prior, request):
        """The transcript document, or None if the client cancelled the request meanwhile (checked between
        segments: whisper decodes lazily, so an abandoned request stops costing at once)."""
        supported = set(self.model.supported_languages)
        hinted = language in supported
        prior = {code: float(w) for code, w in (prior or {}).items() if code in supported and float(w) > 0}
        chosen = self.choose(audio, prior) if prior and not hinted else []
        duration_s = audio.size / SAMPLE_RATE
        spans = (language_spans([(s, e) for s, e, _, _ in chosen], [c for _, _, c, _ in chosen], duration_s)
                 or [(0.0, duration_s, language if hinted else None)])
        kept, speech_s, detected = [], 0.0, None
        for start_s, end_s, code in spans:
            offset = round(start_s * SAMPLE_RATE)
            segments, info = self.model.transcribe(audio[offset:round(end_s * SAMPLE_RATE)], language=code,
                                                   beam_size=self.beam_size, vad_filter=True,
                                                   condition_on_previous_text=False, temperature=self.temperatures)
            detected = detected or info
            speech_s += float(info.duration_after_vad or 0.0)
            for s in segments:
                if request.is_cancelled():
                    return None
                if s.text.strip() and not (s.no_speech_prob > NO_SPEECH_PROB and s.avg_logprob < LOW_AVG_LOGPROB):
                    kept.append((start_s + s.start, start_s + s.end, info.language, s))
        no_speech = not kept
        spoken = {}
        for start, end, code, _ in kept:
            spoken[code] = spoken.get(code, 0.0) + end - start
        main = max(spoken, key=spoken.__getitem__) if spoken else None
        in_main = [top.get(code, 0.0) for _, _, code, top in chosen if code == main]
        probability = sum(in_main) / len(in_main) if in_main else float(detected.language_probability)
        return {
            "language": main,
            "language_probability": None if no_speech else round(probability, 3),
            "no_speech": no_speech,
            "speech_s": round(speech_s, 2),
            "language_windows": [{"start_s": round(s, 2), "end_s": round(e, 2), "language": c, "posteriors": top}
                                 for s, e, c, top in chosen],
            "segments": [{"start_s": round(start, 2), "end_s": round(end, 2), "text": s.text.strip(), "language": code,
                          "avg_logprob": round(s.avg_logprob, 3), "no_speech_prob": round(s.no_speech_prob, 3)}
                         for start, end, code, s in kept],
        }

    def execute(self, requests):
        responses = []
        for request in requests:
            audio = pb_utils.get_input_tensor_by_name(request, "AUDIO").as_numpy()
            if audio.dtype != np.float32 or audio.ndim != 2 or audio.shape[0] != 1 or not np.isfinite(audio).all():
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(
                    f"asr takes one track of finite float32 samples, got {audio.dtype} {audio.shape}",
                    pb_utils.TritonError.INVALID_ARG)))
                continue
            hint = pb_utils.get_input_tensor_by_name(request, "LANGUAGE")  # optional
            language = hint.as_numpy().reshape(-1)[0].decode("utf-8", "replace").strip().lower() if hint else None
            languages = pb_utils.get_input_tensor_by_name(request, "LANGUAGES")  # optional
            try:
                prior = json.loads(languages.as_numpy().reshape(-1)[0]) if languages else None
                if prior is not None and not isinstance(prior, dict):
                    raise ValueError("LANGUAGES must be a JSON object of language codes and prior weights")
            except ValueError as exc:
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(
                    f"asr: {exc}", pb_utils.TritonError.INVALID_ARG)))
                continue
            try:
                document = self.transcribe(audio[0], language, prior, request)
            except Exception as exc:  # one bad request must not fail the others
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(f"asr failed: {exc}")))
                continue
            if document is None:
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(
                    "asr: cancelled by the client", pb_utils.TritonError.CANCELLED)))
                continue
            out = pb_utils.Tensor("TRANSCRIPT", np.array([[json.dumps(document).encode("utf-8")]], dtype=object))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses
