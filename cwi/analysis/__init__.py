"""The analysis: the four research questions as pure functions of the count cube.

``run_all(cube, settings)`` runs every analysis once per build and returns table name -> tidy
frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cwi.analysis.q1 import decile_rates, quintile_rates
from cwi.analysis.rates import proportion_ci, rate_ci

if TYPE_CHECKING:
    from cwi.config import Settings

if TYPE_CHECKING:
    import pandas as pd

    from cwi.cube import Cube

__all__ = ["decile_rates", "proportion_ci", "quintile_rates", "rate_ci", "run_all"]


def run_all(
    cube: Cube,
    settings: Settings,
    england: pd.DataFrame | None = None,
    neighbours: dict[str, list[str]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Run every analysis once; see :func:`cwi.analysis.runner.run_all`."""
    from cwi.analysis.runner import run_all as _run_all

    return _run_all(cube, settings, england=england, neighbours=neighbours)
