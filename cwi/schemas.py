"""The data contracts between the steps of the flow, and the code lists they share.

Each step of ``ingest -> cube -> analysis -> disclosure -> store`` hands the next a data frame
with exactly the columns named here. Keeping them in one module means a producer and its consumers
can never disagree about a column name, an age band or a code.

Decile orientation: everywhere in this project **decile 1 = most deprived 10% of LSOAs in
England**, as in the official IMD files. Quintile 1 = most deprived 20%.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

MEASURES: tuple[str, ...] = ("CIN", "CPP", "CLA")
MEASURE_LABELS: dict[str, str] = {
    "CIN": "children in need",
    "CPP": "children on child protection plans",
    "CLA": "children looked after",
}

#: DfE age bands for children aged 0-17 at 31 March.
AGE_BANDS: tuple[str, ...] = ("Under 1", "1 to 4", "5 to 9", "10 to 15", "16 to 17")
_AGE_BAND_EDGES = ((0, 0), (1, 4), (5, 9), (10, 15), (16, 17))

SEXES: tuple[str, ...] = ("M", "F", "U")  # U = not recorded, indeterminate or unborn

#: The 20 DfE ethnicity codes (SSDA903 and CIN census) and their DfE major group.
ETHNIC_CODES: dict[str, str] = {
    "WBRI": "White",
    "WIRI": "White",
    "WOTH": "White",
    "WIRT": "White",
    "WROM": "White",
    "MWBC": "Mixed",
    "MWBA": "Mixed",
    "MWAS": "Mixed",
    "MOTH": "Mixed",
    "AIND": "Asian",
    "APKN": "Asian",
    "ABAN": "Asian",
    "AOTH": "Asian",
    "BCRB": "Black",
    "BAFR": "Black",
    "BOTH": "Black",
    "CHNE": "Other",
    "OOTH": "Other",
    "REFU": "Unknown",
    "NOBT": "Unknown",
}
ETHNIC_GROUPS: tuple[str, ...] = ("White", "Mixed", "Asian", "Black", "Other", "Unknown")
ETHNIC_GROUP_LABELS: dict[str, str] = {
    "White": "White",
    "Mixed": "Mixed or Multiple ethnic groups",
    "Asian": "Asian or Asian British",
    "Black": "Black, African, Caribbean or Black British",
    "Other": "Other ethnic group",
    "Unknown": "Refused or information not yet available",
}

DISABLED_VALUES: tuple[str, ...] = ("Y", "N", "U")  # CIN only; CPP/CLA rows carry "U"

# ---- frames ---------------------------------------------------------------------------------

#: One row per child per measure at the 31 March snapshot (private; output of cwi.ingest).
CHILD_SNAPSHOT = (
    "year",
    "la_code",
    "child_pid",
    "measure",
    "age",
    "age_band",
    "sex",
    "ethnic_code",
    "ethnic_group",
    "disabled",
    "lsoa_code",
    "link_reason",
)

#: Counts cube (private: holds LSOA-level counts; output of cwi.cube).
CUBE_COUNTS = (
    "year",
    "la_code",
    "lsoa_code",
    "measure",
    "age_band",
    "sex",
    "ethnic_group",
    "disabled",
    "n",
)
#: Child population denominators by LSOA (private).
CUBE_POPULATION = ("year", "la_code", "lsoa_code", "age_band", "sex", "population")
#: Child population by LSOA and ethnic group (all ages 0-17, both sexes), for ethnic rates.
CUBE_POPULATION_ETHNICITY = ("year", "la_code", "lsoa_code", "ethnic_group", "population")
#: One row per LSOA: its LA and deprivation (decile 1 = most deprived).
CUBE_LSOA = ("lsoa_code", "la_code", "imd_score", "imd_rank", "imd_decile", "imd_quintile")
#: One row per LA.
CUBE_LA = ("la_code", "la_name", "region_name")


def age_band(age: pd.Series) -> pd.Series:
    """Map whole years of age (0-17) to the DfE age bands.

    Parameters
    ----------
    age : pandas.Series
        Age in completed years at 31 March.

    Returns
    -------
    pandas.Series
        Ordered categorical of :data:`AGE_BANDS`; ages outside 0-17 become missing.
    """
    out = pd.Series(pd.NA, index=age.index, dtype="object")
    for label, (lo, hi) in zip(AGE_BANDS, _AGE_BAND_EDGES, strict=True):
        out[(age >= lo) & (age <= hi)] = label
    return pd.Categorical(out, categories=AGE_BANDS, ordered=True)  # type: ignore[return-value]


def quintile_from_decile(decile: pd.Series) -> pd.Series:
    """Return the IMD quintile (1 = most deprived) of an IMD decile (1 = most deprived)."""
    return (decile + 1) // 2


def check_columns(frame: pd.DataFrame, expected: Iterable[str], name: str) -> pd.DataFrame:
    """Assert that ``frame`` carries exactly the contracted columns, in order.

    Parameters
    ----------
    frame : pandas.DataFrame
        Frame handed from one step of the flow to the next.
    expected : iterable of str
        The contract, e.g. :data:`CUBE_COUNTS`.
    name : str
        Contract name for the error message.

    Returns
    -------
    pandas.DataFrame
        ``frame`` itself, so calls can be chained.

    Raises
    ------
    ValueError
        Naming the missing and unexpected columns.
    """
    expected = list(expected)
    got = list(frame.columns)
    if got != expected:
        missing = [c for c in expected if c not in got]
        extra = [c for c in got if c not in expected]
        raise ValueError(
            f"{name}: columns differ from the contract in cwi/schemas.py "
            f"(missing {missing}, unexpected {extra}, order {got})."
        )
    return frame
