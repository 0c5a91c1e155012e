"""Clusters across the library: of videos by topic and of the people seen in them, re-clustered periodically.

Pure functions; the worker assigns each new item (a video's topic vector, or one person's face descriptor) to the
nearest cluster centroid within its radius, and the re-clustering job calls ``recluster`` over every archived
item. Topics and people go through the same code; what differs is their ``VectorSpace`` (topic vectors are
compared by cosine, dlib's face descriptors by euclidean distance) and their parameters (settings CLUSTER_*,
PEOPLE_*).

A video's topic vector mixes what it says about itself (the text embedding of title, description and tags)
with what it contains (the mean embedding of its transcript segments and OCR lines), half each.

Re-clustering, in order:
1. Inputs are sorted by video id, so the result never depends on their order.
2. PCA (fitted on the data, exact eigen-decomposition: deterministic) to ``reduced_dims``, then (cosine spaces)
   unit length again. HDBSCAN's density estimate degrades in 512 dimensions (all distances look alike) and its
   KD-tree search only stays fast in a few dozen; on unit vectors euclidean distance orders neighbours as
   cosine distance does.
3. HDBSCAN (the ``hdbscan`` package) finds clusters of any number and shape and leaves points in no dense
   region as noise, which suits an archive where many videos have no peers. Its time grows faster than the
   videos (4.4 / 32 / 112 s at 10k / 50k / 100k), so past ``fit_max`` videos PCA and HDBSCAN are fitted on
   an even sample of ``fit_max`` (by sorted id) with the smallest cluster scaled to the sample, and every
   video is then given the cluster HDBSCAN predicts for it (``approximate_predict``); a cluster with fewer
   than ``min_cluster_size`` videos in the end is noise.
4. Each cluster gets its centroid and radius in the full space (what the worker compares against: the radius is
   the RADIUS_PERCENTILE of its members' distances, kept within [``min_radius``, ``max_radius``]) and a label
   from its members' keywords, c-TF-IDF style (people have none: an empty label). A cluster whose median member
   lies farther than ``max_radius`` from its centroid is no topic (unrelated videos that look close only after
   the reduction, e.g. groups of 5 among uniformly spread vectors in bench/cluster_eval.py): its members count as
   noise.
5. Ids: new clusters are matched one-to-one to the previous run's by member Jaccard (Hungarian algorithm); a
   match at ``match_min_jaccard`` or above keeps the old id, other clusters get an id from their sorted
   members' hash after ``id_prefix`` (the same members always give the same id). Old ids left unmatched are
   retired.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import hdbscan
import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import PCA

from core.faces import FACE_DESCRIPTOR_DIMS
from core.text import TEXT_EMBEDDING_DIMS

# The radius is this percentile of the members' cosine distances to the centroid: a new video as close as
# nearly every member is assigned, the outlying few percent do not widen it.
RADIUS_PERCENTILE = 95
CLUSTER_KEYWORDS = 10
LABEL_KEYWORDS = 3


@dataclass(frozen=True)
class VectorSpace:
    """Where the clustered items live and how they are compared: by cosine distance between unit vectors (the
    centroid is the members' normalised mean), or by euclidean distance as they are (the centroid is their mean)."""

    dims: int
    metric: Literal["cosine", "euclidean"]

    def prepare(self, vectors: np.ndarray) -> np.ndarray:
        """float32 rows as this space compares them (unit length for cosine)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        return _unit(vectors) if self.metric == "cosine" else vectors

    def centroid(self, members: np.ndarray) -> np.ndarray:
        return self.prepare(members.mean(axis=0))

    def distances(self, vectors: np.ndarray, centroid: np.ndarray) -> np.ndarray:
        """Each prepared row's distance to the centroid."""
        if self.metric == "cosine":
            return 1 - vectors @ centroid
        return np.linalg.norm(vectors - centroid, axis=-1)


TOPIC_SPACE = VectorSpace(TEXT_EMBEDDING_DIMS, "cosine")
PEOPLE_SPACE = VectorSpace(FACE_DESCRIPTOR_DIMS, "euclidean")  # dlib's rule is euclidean (core/faces.py)


@dataclass(frozen=True)
class Cluster:
    cluster_id: str
    label: str
    centroid: np.ndarray  # float32 in the clustered space: the members' mean (normalised in a cosine space)
    radius: float  # distance within which a new item joins
    members: tuple[str, ...]  # sorted item ids
    keywords: tuple[str, ...]  # best first


@dataclass(frozen=True)
class ClusteringRun:
    clusters: list[Cluster]  # largest first
    noise: list[str]  # video ids in no cluster, sorted
    retired: list[str]  # previous cluster ids not carried over, sorted


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1)


def topic_embedding(metadata_embedding: np.ndarray | None, chunk_embeddings: np.ndarray) -> np.ndarray | None:
    """The video's unit-norm topic vector, or None when it has no text at all.

    ``metadata_embedding`` is zero or None when the video has no title, description or tags;
    ``chunk_embeddings`` (k rows, k may be 0) are its transcript segments and OCR lines.
    """
    parts = []
    if metadata_embedding is not None and np.any(metadata_embedding):
        parts.append(_unit(np.asarray(metadata_embedding, dtype=np.float32)))
    if len(chunk_embeddings):
        parts.append(_unit(np.asarray(chunk_embeddings, dtype=np.float32).mean(axis=0)))
    if not parts:
        return None
    return _unit(np.mean(parts, axis=0)).astype(np.float32)


def recluster(video_ids: Sequence[str], embeddings: np.ndarray, keywords: Sequence[Sequence[str]],
              previous: Mapping[str, Collection[str]], *, min_cluster_size: int, min_samples: int,
              reduced_dims: int, match_min_jaccard: float, max_radius: float, fit_max: int = 0,
              space: VectorSpace = TOPIC_SPACE, min_radius: float = 0.0, merge_within: float = 0.0,
              id_prefix: str = "c") -> ClusteringRun:
    """Clusters of the items' vectors (row i of ``embeddings`` and ``keywords[i]`` belong to item ``video_ids[i]``:
    a video, or one person seen in a video), with ids carried over from ``previous`` (cluster id -> member ids);
    fitted on an even sample of ``fit_max`` items when there are more (0: on all of them). ``merge_within``
    (hdbscan's cluster_selection_epsilon, in the reduced space): dense groups closer than that are one cluster."""
    if not len(video_ids) == len(embeddings) == len(keywords):
        raise ValueError("video_ids, embeddings and keywords must have one entry per item")
    if len(set(video_ids)) != len(video_ids):
        raise ValueError("item ids must be unique")
    if min_samples < 1:
        raise ValueError("min_samples must be 1 or more")
    if not 0 < match_min_jaccard <= 1:
        raise ValueError("match_min_jaccard must be in (0, 1]")
    if not 0 <= min_radius <= max_radius:
        raise ValueError("min_radius must be in [0, max_radius]")
    order = sorted(range(len(video_ids)), key=video_ids.__getitem__)
    ids = [video_ids[i] for i in order]
    vectors = space.prepare(np.asarray(embeddings, dtype=np.float32)[order])
    labels = _hdbscan_labels(vectors, min_cluster_size, min_samples, reduced_dims, fit_max, space, merge_within)

    groups, centroids, distances = [], [], []
    for label in range(labels.max(initial=-1) + 1):
        group = np.flatnonzero(labels == label)
        if len(group) < min_cluster_size:  # possible when fitted on a sample
            continue
        centroid = space.centroid(vectors[group])
        to_centroid = space.distances(vectors[group], centroid)
        if np.median(to_centroid) <= max_radius:  # else not one cluster: dense only in the reduced space
            groups.append(group)
            centroids.append(centroid)
            distances.append(to_centroid)
    clustered = set(np.concatenate(groups).tolist()) if groups else set()
    member_sets = [frozenset(ids[i] for i in group) for group in groups]
    names = _cluster_ids(member_sets, previous, match_min_jaccard, frozenset(ids), id_prefix)
    ranked_keywords = _cluster_keywords([[keywords[order[i]] for i in group] for group in groups])
    clusters = []
    for centroid, to_centroid, members, name, top in zip(centroids, distances, member_sets, names, ranked_keywords,
                                                          strict=True):
        radius = float(np.clip(np.percentile(to_centroid, RADIUS_PERCENTILE), min_radius, max_radius))
        clusters.append(Cluster(cluster_id=name, label=", ".join(top[:LABEL_KEYWORDS]), centroid=centroid,
                                radius=radius, members=tuple(sorted(members)), keywords=tuple(top)))
    clusters.sort(key=lambda c: (-len(c.members), c.cluster_id))
    return ClusteringRun(clusters=clusters, noise=[ids[i] for i in range(len(ids)) if i not in clustered],
                         retired=sorted(set(previous) - set(names)))


def _hdbscan_labels(vectors: np.ndarray, min_cluster_size: int, min_samples: int, reduced_dims: int,
                    fit_max: int, space: VectorSpace, merge_within: float) -> np.ndarray:
    """HDBSCAN's label per row (-1 for noise) after PCA to ``reduced_dims``, fitted on an even sample of
    ``fit_max`` rows when there are more (0: all), the other rows labelled by ``approximate_predict``.

    ``min_samples`` is the neighbour count behind each point's core distance (how dense its neighbourhood
    must be); ``min_cluster_size`` alone decides what counts as a cluster. hdbscan's default (min_samples =
    min_cluster_size) is conservative: on themed MiniLM sets it let more off-topic videos into the themes'
    clusters, and on 18 videos it put one into another theme's cluster (figures in the README,
    CLUSTER_MIN_SAMPLES).
    """
    if len(vectors) < max(min_cluster_size, 2):
        return np.full(len(vectors), -1)
    sampled = 0 < fit_max < len(vectors)
    fitted = np.unique(np.linspace(0, len(vectors) - 1, fit_max).round().astype(int)) if sampled \
        else np.arange(len(vectors))
    dims = min(reduced_dims, len(fitted), vectors.shape[1])
    pca = PCA(n_components=dims, svd_solver="covariance_eigh").fit(vectors[fitted])
    reduced = pca.transform(vectors)
    reduced = (_unit(reduced) if space.metric == "cosine" else reduced).astype(np.float64)
    smallest = max(2, round(min_cluster_size * len(fitted) / len(vectors)))
    clusterer = hdbscan.HDBSCAN(min_cluster_size=smallest, min_samples=min(min_samples, smallest),
                                metric="euclidean", cluster_selection_epsilon=merge_within, prediction_data=sampled)
    labels = clusterer.fit_predict(reduced[fitted])
    if not sampled:
        return labels
    predicted, _ = hdbscan.approximate_predict(clusterer, reduced)
    predicted[fitted] = labels
    return predicted


def _cluster_ids(member_sets: list[frozenset[str]], previous: Mapping[str, Collection[str]],
                 match_min_jaccard: float, present: frozenset[str], id_prefix: str) -> list[str]:
    """An id per new cluster: the matched previous id, or one derived from its members.

    Previous members no longer in the data (videos removed since) do not count against a match.
    """
    old_ids = sorted(previous)
    old_sets = [frozenset(previous[old_id]) & present for old_id in old_ids]
    names = [_members_id(members, id_prefix) for members in member_sets]
    if not old_ids or not member_sets:
        return names
    # Overlaps counted through each video's previous clusters: linear in the members, not clusters x clusters.
    previous_of = defaultdict(list)
    for j, old in enumerate(old_sets):
        for video_id in old:
            previous_of[video_id].append(j)
    jaccard = np.zeros((len(member_sets), len(old_ids)))
    for i, new in enumerate(member_sets):
        for j, overlap in Counter(k for video_id in new for k in previous_of.get(video_id, ())).items():
            jaccard[i, j] = overlap / (len(new) + len(old_sets[j]) - overlap)
    for new, old in zip(*linear_sum_assignment(jaccard, maximize=True), strict=True):
        if jaccard[new, old] >= match_min_jaccard:
            names[new] = old_ids[old]
    return names


def _members_id(members: frozenset[str], prefix: str) -> str:
    return prefix + hashlib.sha1("\n".join(sorted(members)).encode()).hexdigest()[:10]


def _cluster_keywords(member_keywords: list[list[Sequence[str]]]) -> list[list[str]]:
    """Per cluster, its top keywords by c-TF-IDF: the share of its members having the keyword, times
    log(1 + clusters / clusters having it), so a keyword common to every cluster ranks low everywhere."""
    shares = []
    for cluster in member_keywords:
        counts = Counter(keyword for video in cluster for keyword in set(video))
        shares.append({keyword: count / len(cluster) for keyword, count in counts.items()})
    clusters_having = Counter(keyword for share in shares for keyword in share)
    ranked = []
    for share in shares:
        score = {k: s * math.log(1 + len(shares) / clusters_having[k]) for k, s in share.items()}
        ranked.append(sorted(score, key=lambda k: (-score[k], k))[:CLUSTER_KEYWORDS])
    return ranked
