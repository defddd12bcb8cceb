"""The count cube: children by year x LA x LSOA x age band x sex x ethnic group x measure.

The cube is the one private, LSOA-level data set that every analysis reads. It never leaves
``settings.private_dir``; published tables are derived from it by ``cwi.analysis`` and pass
through ``cwi.disclosure`` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cwi.schemas import (
    CUBE_COUNTS,
    CUBE_LA,
    CUBE_LSOA,
    CUBE_POPULATION,
    CUBE_POPULATION_ETHNICITY,
    check_columns,
)


@dataclass(frozen=True)
class Cube:
    """Counts, denominators and area attributes, each a frame with the columns in cwi.schemas.

    Parameters
    ----------
    counts : pandas.DataFrame
        :data:`cwi.schemas.CUBE_COUNTS`; only non-zero cells are stored.
    population : pandas.DataFrame
        :data:`cwi.schemas.CUBE_POPULATION`; every LSOA x age band x sex x year.
    population_ethnicity : pandas.DataFrame
        :data:`cwi.schemas.CUBE_POPULATION_ETHNICITY`; may be empty where no source exists.
    lsoa : pandas.DataFrame
        :data:`cwi.schemas.CUBE_LSOA`; decile 1 = most deprived.
    la : pandas.DataFrame
        :data:`cwi.schemas.CUBE_LA`.
    """

    counts: pd.DataFrame
    population: pd.DataFrame
    population_ethnicity: pd.DataFrame
    lsoa: pd.DataFrame
    la: pd.DataFrame

    def __post_init__(self) -> None:
        check_columns(self.counts, CUBE_COUNTS, "Cube.counts")
        check_columns(self.population, CUBE_POPULATION, "Cube.population")
        check_columns(
            self.population_ethnicity, CUBE_POPULATION_ETHNICITY, "Cube.population_ethnicity"
        )
        check_columns(self.lsoa, CUBE_LSOA, "Cube.lsoa")
        check_columns(self.la, CUBE_LA, "Cube.la")

    @property
    def years(self) -> list[int]:
        """Collection years present in the population."""
        return sorted(int(y) for y in self.population["year"].unique())

    def save(self, folder: Path) -> None:
        """Write the cube as parquet files into a private folder."""
        from cwi.io import write_parquet

        folder.mkdir(parents=True, exist_ok=True)
        for name in ("counts", "population", "population_ethnicity", "lsoa", "la"):
            write_parquet(getattr(self, name), folder / f"{name}.parquet", index=False)

    @classmethod
    def load(cls, folder: Path) -> Cube:
        """Read a cube written by :meth:`save`."""
        frames = {
            name: pd.read_parquet(folder / f"{name}.parquet")
            for name in ("counts", "population", "population_ethnicity", "lsoa", "la")
        }
        return cls(**frames)
