"""ImageNet concepts: class names from timm's files, plain groups, and moments merged across key frames."""

import numpy as np

from core.visual_concepts import IMAGENET_CLASSES, PLAIN_GROUPS, concept_of_class, imagenet_lemmas, seen_moments


def test_class_names_are_imagenet_in_the_networks_order() -> None:
    lemmas = imagenet_lemmas()
    assert len(lemmas) == IMAGENET_CLASSES
    assert lemmas[0][0] == "tench" and lemmas[281][:2] == ("tabby", "tabby cat") and lemmas[999][0] == "toilet tissue"
    assert "Felis concolor" not in lemmas[286]  # Latin binomials dropped


def test_plain_groups_hold_the_classes_they_name() -> None:
    lemmas = imagenet_lemmas()
    firsts = {name: lemmas[classes[0]][0] for name, _, classes in PLAIN_GROUPS}
    assert firsts["dog"] == "Chihuahua" and lemmas[268][0] == "Mexican hairless"
    assert firsts["cat"] == "tabby" and lemmas[285][0] == "Egyptian cat"
    assert firsts["bicycle"] == "bicycle-built-for-two" and firsts["motorcycle"] == "moped"
    assert firsts["church"] == "bell cote" and firsts["coffee"] == "coffee mug"
    table = concept_of_class()
    assert table[285].name == "cat" and "kitten" in table[285].text
    assert table[442].name == "church"
    assert table[500].name == "cliff dwelling"  # no plain group: its WordNet name


def test_a_concept_seen_on_consecutive_key_frames_is_one_moment() -> None:
    cat, tabby, church, daisy = 285, 281, 497, 985
    ids = np.array([[cat, tabby, 900, 901, 902], [tabby, cat, 900, 901, 902], [church, 900, 901, 902, 903],
                    [daisy, cat, 900, 901, 902]])
    scores = np.array([[0.5, 0.3, 0.1, 0.05, 0.05], [0.2, 0.2, 0.1, 0.1, 0.1], [0.9, 0.02, 0.02, 0.02, 0.02],
                       [0.6, 0.1, 0.1, 0.1, 0.1]], np.float32)
    moments = seen_moments([0.0, 4.0, 9.0, 12.0], ids, scores, 20.0, 0.3)
    assert [(m.concept, m.start_s, m.end_s) for m in moments] == [
        ("cat", 0.0, 9.0), ("church", 9.0, 12.0), ("daisy", 12.0, 20.0)]
    assert moments[0].confidence == 0.6  # mean of 0.8 and 0.4: the group's classes summed per frame
    assert moments[0].imagenet_class == "Egyptian cat"  # the class most probable over the run


def test_nothing_is_seen_under_the_threshold() -> None:
    ids = np.array([[285, 900, 901, 902, 903]])
    assert seen_moments([0.0], ids, np.array([[0.2, 0.1, 0.1, 0.1, 0.1]], np.float32), 5.0, 0.3) == []
    assert seen_moments([], np.zeros((0, 5), int), np.zeros((0, 5), np.float32), 5.0, 0.3) == []
