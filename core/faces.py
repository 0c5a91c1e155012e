"""Who appears in a video: the faces the ``faces`` model found in its frames, grouped into people.

A face is ``{"box", "score", "sharpness", "embedding"}`` as the model answers it; the embedding is dlib's 128-d
descriptor, in a space where two faces of one person lie less than ~0.6 apart (euclidean: dlib's published rule,
99.38 % on LFW), faces of different people further.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

# dlib's rule for its face descriptors: closer than this (euclidean) is the same person.
DLIB_SAME_PERSON_DISTANCE = 0.6
FACE_DESCRIPTOR_DIMS = 128


@dataclass(frozen=True)
class Person:
    """One distinct face of a video."""

    times_s: list[float]  # the frame times it is seen at, sorted, each once
    first_s: float
    last_s: float
    faces: int  # faces grouped into it (a frame may hold two of one person, e.g. a mirror)
    confidence: float  # mean detector score of those faces
    # The mean of its descriptors, not normalised: the centroid is the point nearest all of them (least squares),
    # it averages out what varies from frame to frame (pose, light, blur), and it stays in the descriptors' own
    # euclidean space, where DLIB_SAME_PERSON_DISTANCE holds (dlib's descriptors are not unit vectors, and
    # normalising would move them off the scale that rule was measured on).
    embedding: np.ndarray


def group_people(frame_times_s: Sequence[float], faces_per_frame: Sequence[Sequence[dict[str, Any]]],
                 same_person_distance: float) -> list[Person]:
    """The video's faces grouped into people, in order of first appearance.

    Average-linkage agglomerative clustering on the euclidean distance between descriptors, cut at
    ``same_person_distance``: two groups merge while the mean distance between their faces is at most that.
    Average linkage rather than single: one ambiguous face (blurred, turned) cannot chain two people together.
    """
    if len(frame_times_s) != len(faces_per_frame):
        raise ValueError(f"{len(frame_times_s)} frame times for {len(faces_per_frame)} frames of faces")
    times = [float(t) for t, faces in zip(frame_times_s, faces_per_frame, strict=True) for _ in faces]
    faces = [face for frame in faces_per_frame for face in frame]
    if not faces:
        return []
    embeddings = np.array([face["embedding"] for face in faces], dtype=np.float64)
    if len(faces) == 1:
        labels = np.ones(1, dtype=int)
    else:
        labels = fcluster(linkage(embeddings, method="average", metric="euclidean"), same_person_distance,
                          criterion="distance")
    people = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        seen = sorted({times[i] for i in members})
        people.append(Person(times_s=seen, first_s=seen[0], last_s=seen[-1], faces=len(members),
                             confidence=float(np.mean([faces[i]["score"] for i in members])),
                             embedding=embeddings[members].mean(axis=0).astype(np.float32)))
    return sorted(people, key=lambda person: (person.first_s, -person.faces))
