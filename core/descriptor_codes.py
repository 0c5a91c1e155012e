"""The compact forms a frame descriptor (the image_features model's 1280-d unit vector) is kept and compared in,
learned from nothing: both come from one fixed set of random hyperplanes (a seeded Gaussian matrix), so no
training job, no fitted projection to version, and every worker computes the same forms.

- **KNN vector** (KNN_DIMS float16, unit length): the descriptor projected on the first KNN_DIMS hyperplanes.
  Random projection keeps cosines on average (Johnson-Lindenstrauss), with noise of about 0.1 at 128 dimensions:
  good enough to bring the right video among a frame's nearest neighbours, which is all the KNN index is for.
- **Code** (CODE_BITS bits, packed): the side of each hyperplane the descriptor lies on (SimHash). The share of
  differing bits estimates the angle between two descriptors (Charikar 2002): ``cos(pi * differing / CODE_BITS)``
  recovers their cosine with a deviation of about 0.02 at cosine 0.9 and 0.07 near 0 at 512 bits, from 64 bytes a
  picture instead of 2,560 (1280 float16).
  Verification compares codes.

Changing SEED, KNN_DIMS or CODE_BITS changes what the descriptor index stores: a new index layout (replay the
``publish-video`` topic into a new index generation).
"""

from __future__ import annotations

import numpy as np

from core.bits import hamming_matrix

DESCRIPTOR_DIMS = 1280  # the image_features model's output
KNN_DIMS = 128
CODE_BITS = 512
CODE_BYTES = CODE_BITS // 8
SEED = 36
# numpy's legacy RandomState: its stream is frozen across numpy versions (Generator's may change).
HYPERPLANES = np.random.RandomState(SEED).standard_normal((DESCRIPTOR_DIMS, CODE_BITS)).astype(np.float32)


def knn_vectors(descriptors: np.ndarray) -> np.ndarray:
    """(n, DESCRIPTOR_DIMS) descriptors -> (n, KNN_DIMS) float16 unit vectors for the KNN index."""
    projected = descriptors @ HYPERPLANES[:, :KNN_DIMS]
    return (projected / np.maximum(np.linalg.norm(projected, axis=-1, keepdims=True), 1e-12)).astype(np.float16)


def codes(descriptors: np.ndarray) -> np.ndarray:
    """(..., DESCRIPTOR_DIMS) descriptors -> (..., CODE_BYTES) packed SimHash codes."""
    return np.packbits(descriptors @ HYPERPLANES > 0, axis=-1)


def code_similarities(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Estimated cosines between (q, CODE_BYTES) and (r, CODE_BYTES) codes, as a (q, r) matrix."""
    return np.cos(np.pi * hamming_matrix(query, reference) / CODE_BITS).astype(np.float32)
