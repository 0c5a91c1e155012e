"""Triton python-backend model: speech to text with timestamps and language (faster-whisper).

Input AUDIO: float32 mono PCM at 16 kHz, one track per request (a batch of one); optional LANGUAGE: the language
the publisher says the video speaks (an ISO 639-1 code, the event's language_hint). Whisper then decodes in that
language instead of guessing it from the first 30 s (it took synthetic Russian for Norwegian or German, and its
decodes failed); a code whisper does not know is ignored and the language detected. Output TRANSCRIPT: one JSON
document ``{"language", "language_probability", "no_speech", "speech_s", "segments": [{"start_s", "end_s",
"text", "avg_logprob", "no_speech_prob"}]}`` (language: the hint when one was used). ``no_speech`` is true when
voice-activity detection finds no speech (silence, music only): then no decoding runs at all and language is null.
"""

import json
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[3] / "model_helpers"))  # beside model_repository/: shared helpers

import numpy as np  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402
from model_parameters import model_parameters, required  # noqa: E402

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
        model_dir = whisper_model_dir(parameters["model_dir"], Path(required(parameters, "cache_dir")))
        self.model = WhisperModel(str(model_dir), device="cpu", compute_type="int8",
                                  cpu_threads=int(parameters["cpu_threads"]))

    def transcribe(self, audio, language, request):
        """The transcript document, or None if the client cancelled the request meanwhile (checked between
        segments: whisper decodes lazily, so an abandoned request stops costing at once)."""
        hinted = language in self.model.supported_languages
        segments, info = self.model.transcribe(audio, language=language if hinted else None,
                                               beam_size=self.beam_size, vad_filter=True,
                                               condition_on_previous_text=False, temperature=self.temperatures)
        kept = []
        for s in segments:
            if request.is_cancelled():
                return None
            if s.text.strip() and not (s.no_speech_prob > NO_SPEECH_PROB and s.avg_logprob < LOW_AVG_LOGPROB):
                kept.append(s)
        speech_s = float(info.duration_after_vad or 0.0)
        no_speech = not kept
        return {
            "language": None if no_speech else info.language,
            "language_probability": None if no_speech else round(float(info.language_probability), 3),
            "no_speech": no_speech,
            "speech_s": round(speech_s, 2),
            "segments": [{"start_s": round(s.start, 2), "end_s": round(s.end, 2), "text": s.text.strip(),
                          "avg_logprob": round(s.avg_logprob, 3), "no_speech_prob": round(s.no_speech_prob, 3)}
                         for s in kept],
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
            try:
                document = self.transcribe(audio[0], language, request)
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
