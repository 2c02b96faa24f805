from collections import Counter

import pytest

from motiongpt.data.labels import balanced_repeats


def _draws(groups: list[str], power: float) -> Counter:
    total = Counter()
    for group, repeats in zip(groups, balanced_repeats(groups, power)):
        total[group] += repeats
    return total


def test_power_zero_keeps_every_item_once():
    groups = ["walk"] * 300 + ["kick"] * 3
    assert set(balanced_repeats(groups, 0.0)) == {1}


def test_power_one_draws_every_label_equally_often():
    draws = _draws(["walk"] * 300 + ["kick"] * 3 + ["bow"] * 30, 1.0)
    assert draws == Counter({"walk": 300, "kick": 300, "bow": 300})


def test_intermediate_power_draws_labels_in_proportion_to_n_to_the_one_minus_power():
    draws = _draws(["walk"] * 256 + ["kick"] * 1, 0.75)
    assert draws["kick"] == round(256 ** 0.75) and draws["walk"] == 256
    assert draws["kick"] / draws["walk"] == pytest.approx(256 ** -0.25, rel=0.01)


def test_power_outside_unit_interval_is_refused():
    with pytest.raises(ValueError, match="balance power 1.5"):
        balanced_repeats(["walk"], 1.5)
