"""Plain-English verdicts of the between-LA models, one per measure and year.

The sentence is chosen by the direction of each interval, never by hand (every direction is
tested): the inverse-intervention estimate (change in the standardised ratio per standard
deviation of LA deprivation) and the plain rate gradient across LAs.
"""

from __future__ import annotations

import pandas as pd

from cwi.analysis.verdicts import direction
from cwi.schemas import MEASURE_LABELS

__all__ = ["model_verdict"]


def _pct(irr: float) -> str:
    return f"{abs(irr - 1) * 100:.0f}%"


def _label(measure: str) -> str:
    return MEASURE_LABELS.get(measure, measure)


def model_verdict(row: dict | pd.Series) -> tuple[str, str]:
    """Direction code and sentence for one measure-year of :func:`between_la_models`.

    Parameters
    ----------
    row : mapping
        ``year, measure, n_las, irr_rate_dep(_lcl/_ucl), irr_ratio_dep(_lcl/_ucl), r2_mix,
        r2_deprivation``.

    Returns
    -------
    (str, str)
        ``"inverse"`` (more deprived LAs have lower standardised ratios), ``"positive"`` (higher)
        or ``"unclear"``; and the sentence.
    """
    label, year, n = _label(row["measure"]).capitalize(), int(row["year"]), int(row["n_las"])
    ii = direction(row["irr_ratio_dep_lcl"], row["irr_ratio_dep_ucl"])
    ci = (f"{row['irr_ratio_dep']:.2f} per standard deviation of LA deprivation, 95% CI "
          f"{row['irr_ratio_dep_lcl']:.2f} to {row['irr_ratio_dep_ucl']:.2f}")  # fmt: skip
    if ii == "down":
        code = "inverse"
        first = (
            f"{label}, 31 March {year} ({n} LAs): the more deprived an LA's children overall, "
            f"the further its rate falls below what its children's neighbourhood deprivation "
            f"predicts ({_pct(row['irr_ratio_dep'])} lower per standard deviation; ratio {ci}) "
            "- the inverse intervention pattern."
        )
    elif ii == "up":
        code = "positive"
        first = (
            f"{label}, 31 March {year} ({n} LAs): the more deprived an LA's children overall, "
            f"the further its rate rises above what its children's neighbourhood deprivation "
            f"predicts ({_pct(row['irr_ratio_dep'])} higher per standard deviation; ratio {ci}) "
            "- the opposite of the inverse intervention pattern."
        )
    else:
        code = "unclear"
        first = (
            f"{label}, 31 March {year} ({n} LAs): no clear relation between an LA's overall "
            f"deprivation and how far its rate departs from what its children's neighbourhood "
            f"deprivation predicts (ratio {ci})."
        )
    rate_dir = direction(row["irr_rate_dep_lcl"], row["irr_rate_dep_ucl"])
    if rate_dir == "up":
        second = (f"Crude rates do rise with LA deprivation ({_pct(row['irr_rate_dep'])} per "
                  "standard deviation)")  # fmt: skip
    elif rate_dir == "down":
        second = (f"Crude rates fall as LA deprivation rises ({_pct(row['irr_rate_dep'])} per "
                  "standard deviation)")  # fmt: skip
    else:
        second = "Crude rates show no clear gradient with LA deprivation"
    mix, dep = float(row["r2_mix"]), float(row["r2_deprivation"])
    if mix > dep:
        third = (
            f"; the children's deprivation mix explains more of the differences between "
            f"LAs ({mix:.0%} of the deviance) than overall LA deprivation ({dep:.0%})."
        )
    else:
        third = (f"; overall LA deprivation explains as much or more of the differences between "
                 f"LAs ({dep:.0%} of the deviance) than the children's deprivation mix "
                 f"({mix:.0%}).")  # fmt: skip
    return code, f"{first} {second}{third}"
