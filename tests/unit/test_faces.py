"""core/faces.py: a video's faces grouped into people, on synthetic 128-d descriptors."""

from __future__ import annotations

import numpy as np
import pytest

from core.faces import DLIB_SAME_PERSON_DISTANCE, group_people

RNG = np.random.default_rng(7)


def direction() -> np.ndarray:
    vector = RNG.normal(size=128)
    return vector / np.linalg.norm(vector)


def face(embedding: np.ndarray, score: float = 1.0) -> dict:
    return {"box": [0, 0, 80, 80], "score": score, "sharpness": 100.0, "embedding": embedding.tolist()}


def near(centre: np.ndarray, distance: float) -> np.ndarray:
    """A descriptor ``distance`` from ``centre`` in a random direction."""
    return centre + distance * direction()


def test_two_people_in_order_of_first_appearance_with_their_times_counts_and_mean() -> None:
    anna, ben = direction() * 0.9, direction() * 0.9  # ~1.27 apart, like two strangers
    anna_faces = [near(anna, 0.2) for _ in range(4)]
    ben_faces = [near(ben, 0.2) for _ in range(2)]
    times = [0.0, 1.0, 2.0, 3.0, 5.0]
    frames = [[face(ben_faces[0], 0.5)], [face(anna_faces[0], 1.0), face(ben_faces[1], 0.7)],
              [face(anna_faces[1], 2.0)], [], [face(anna_faces[2], 1.5), face(anna_faces[3], 1.5)]]
    first, second = group_people(times, frames, DLIB_SAME_PERSON_DISTANCE)
    assert (first.times_s, first.first_s, first.last_s, first.faces) == ([0.0, 1.0], 0.0, 1.0, 2)
    assert first.confidence == pytest.approx(0.6)
    assert np.allclose(first.embedding, np.mean(ben_faces, axis=0), atol=1e-6)
    assert first.embedding.dtype == np.float32 and first.embedding.shape == (128,)
    # two faces of one person in one frame (a mirror): counted twice, the time once
    assert (second.times_s, second.first_s, second.last_s, second.faces) == ([1.0, 2.0, 5.0], 1.0, 5.0, 4)
    assert second.confidence == pytest.approx(1.5)
    assert np.allclose(second.embedding, np.mean(anna_faces, axis=0), atol=1e-6)


def test_the_cut_is_the_same_person_distance() -> None:
    centre = direction()
    same = group_people([0.0, 1.0], [[face(centre)], [face(near(centre, 0.55))]], 0.6)
    apart = group_people([0.0, 1.0], [[face(centre)], [face(near(centre, 0.65))]], 0.6)
    assert len(same) == 1 and len(apart) == 2


def test_average_linkage_does_not_chain_two_people_through_one_face_between_them() -> None:
    """A face halfway (0.5 from each) would join both under single linkage; average linkage keeps two people."""
    anna = direction()
    step = direction()
    ben = anna + 1.0 * step
    between = anna + 0.5 * step
    frames = [[face(anna)], [face(anna + 0.05 * direction())], [face(between)], [face(ben)],
              [face(ben + 0.05 * direction())]]
    people = group_people([0.0, 1.0, 2.0, 3.0, 4.0], frames, 0.6)
    assert [person.faces for person in people] in ([3, 2], [2, 3])


def test_no_faces_no_people_and_one_face_one_person() -> None:
    assert group_people([0.0, 1.0], [[], []], DLIB_SAME_PERSON_DISTANCE) == []
    [person] = group_people([0.0, 4.0], [[], [face(direction(), 0.3)]], DLIB_SAME_PERSON_DISTANCE)
    assert (person.times_s, person.first_s, person.last_s, person.faces, person.confidence) == ([4.0], 4.0, 4.0, 1, 0.3)


def test_frame_times_must_match_the_frames() -> None:
    with pytest.raises(ValueError, match="2 frame times for 1 frames"):
        group_people([0.0, 1.0], [[]], DLIB_SAME_PERSON_DISTANCE)
