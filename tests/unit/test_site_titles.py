"""Finding titles come from the numbers: each direction, and the cases with gaps."""

from __future__ import annotations

import pandas as pd
import pytest

from cwi.profiles.draw import gradient_ends
from cwi.profiles.sentences import gradient_phrase


def area(rates):
    return pd.DataFrame({"measure": "CLA", "imd_decile": range(1, len(rates) + 1), "rate": rates})


@pytest.mark.parametrize(
    ("rates", "phrase"),
    [
        ([140, 100, 80, 50, 30], "most deprived"),
        ([10, 20, 30, 40, 50], "least deprived"),
        ([50, 52, 49, 51, 50], "vary little"),
        ([140, 99, float("nan"), 0.0], "most deprived"),  # a zero in the least deprived decile
        ([float("nan"), 60, float("nan")], "cannot be compared"),  # too little published to say
    ],
)
def test_gradient_phrase(rates, phrase):
    assert phrase in gradient_phrase(*gradient_ends(area(rates)))


def test_gradient_of_another_measure_when_cla_is_hidden():
    frame = pd.concat(
        [
            area([float("nan")] * 5),
            area([300, 250, 200, 150, 100]).assign(measure="CPP"),
        ]
    )
    assert gradient_ends(frame) == (None, None)
    assert gradient_ends(frame, "CPP") == (300.0, 100.0)
