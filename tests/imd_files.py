"""Layouts of the published IMD files, shared by the tests that write small synthetic copies."""

from __future__ import annotations

#: Column headings of the English Indices of Deprivation 2019, File 7 (LSOA scores, ranks and
#: deciles), as the reader meets them.
F7 = [
    "LSOA code (2011)", "LSOA name (2011)", "Local Authority District code (2019)",
    "Local Authority District name (2019)", "Index of Multiple Deprivation (IMD) Score",
    "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",
    "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)",
]  # fmt: skip
