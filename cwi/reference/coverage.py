"""Reference coverage: the share of each LA's neighbourhoods the postcode directory covers.

A child is placed in an LSOA through the postcode directory. If the directory holds postcodes
for only part of an LA (one NSPL area file where the LA spans several), that LA's children in
the other LSOAs cannot be placed and its rates come out far too low, with no warning. So,
per LA: the share of its LSOAs, and of its children, with at least one live postcode
(``doterm`` blank) in the directory. Below ``data.postcode_coverage_min`` the build stops,
naming the LA and the LSOAs without postcodes, unless ``data.postcode_coverage_action:
restrict`` restricts that LA's denominators (and analyses) to its covered LSOAs, which is then
said wherever the LA is shown (the published ``la_coverage`` table and ``analysis_notes``).
"""

from __future__ import annotations

import pandas as pd

COVERAGE_COLUMNS = (
    "la_code", "la_name", "n_lsoa", "n_lsoa_covered", "share_lsoa_covered", "children",
    "children_covered", "share_children_covered",
)  # fmt: skip


class CoverageError(ValueError):
    """The postcode directory covers too little of an LA (the message names it and the fix)."""


def live_postcode_lsoas(postcodes: pd.DataFrame) -> set[str]:
    """LSOAs with at least one live (not terminated) postcode in the directory."""
    if postcodes is None or postcodes.empty:
        return set()
    live = postcodes
    if "doterm" in postcodes.columns:
        term = postcodes["doterm"].astype("string").fillna("").str.strip()
        live = postcodes[term == ""]
    return set(live["lsoa_code"].dropna().astype(str))


def postcode_coverage(
    lsoa: pd.DataFrame, children: pd.DataFrame, postcodes: pd.DataFrame
) -> pd.DataFrame:
    """Per LA, the share of LSOAs and of children with a live postcode in the directory.

    Parameters
    ----------
    lsoa : pandas.DataFrame
        ``lsoa_code, la_code, la_name``: the LSOAs of the LAs checked.
    children : pandas.DataFrame
        ``lsoa_code, population``: child population per LSOA (any year; summed).
    postcodes : pandas.DataFrame
        The postcode directory (``lsoa_code``, ``doterm``).

    Returns
    -------
    pandas.DataFrame
        :data:`COVERAGE_COLUMNS`, one row per LA.
    """
    covered = live_postcode_lsoas(postcodes)
    pop = children.groupby("lsoa_code")["population"].sum()
    d = lsoa[["lsoa_code", "la_code", "la_name"]].drop_duplicates("lsoa_code").copy()
    d["covered"] = d["lsoa_code"].isin(covered)
    d["children"] = d["lsoa_code"].map(pop).fillna(0.0)
    d["children_covered"] = d["children"].where(d["covered"], 0.0)
    g = d.groupby(["la_code", "la_name"], as_index=False).agg(
        n_lsoa=("lsoa_code", "size"),
        n_lsoa_covered=("covered", "sum"),
        children=("children", "sum"),
        children_covered=("children_covered", "sum"),
    )
    g["share_lsoa_covered"] = g["n_lsoa_covered"] / g["n_lsoa"]
    g["share_children_covered"] = g["children_covered"] / g["children"].where(g["children"] > 0)
    return g[list(COVERAGE_COLUMNS)].sort_values("la_code").reset_index(drop=True)


def uncovered_lsoas(lsoa: pd.DataFrame, postcodes: pd.DataFrame, la_code: str) -> pd.DataFrame:
    """The LSOAs of one LA without a live postcode in the directory."""
    covered = live_postcode_lsoas(postcodes)
    d = lsoa[lsoa["la_code"] == la_code]
    return d[~d["lsoa_code"].isin(covered)].sort_values("lsoa_code").reset_index(drop=True)


def coverage_message(
    cov: pd.DataFrame,
    lsoa: pd.DataFrame,
    postcodes: pd.DataFrame,
    threshold: float,
    files: list[str],
) -> str:
    """One paragraph per under-covered LA: the shares, the LSOAs lacking postcodes, the fix."""
    areas = sorted(
        {str(p).split(" ")[0].rstrip("0123456789") for p in postcodes.get("pcds", []) if p}
    )
    lines = []
    for rec in cov[cov["share_lsoa_covered"] < threshold].to_dict("records"):
        missing = uncovered_lsoas(lsoa, postcodes, rec["la_code"])
        names = [f"{r['lsoa_code']}" + (f" ({r['lsoa_name']})" if r.get("lsoa_name") else "")
                 for r in missing.head(5).to_dict("records")]  # fmt: skip
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        lines.append(
            f"{rec['la_name']} ({rec['la_code']}): only {int(rec['n_lsoa_covered'])} of its "
            f"{int(rec['n_lsoa'])} LSOAs ({rec['share_lsoa_covered']:.0%}; "
            f"{rec['share_children_covered']:.0%} of its children) have a live postcode in the "
            f"postcode directory (below data.postcode_coverage_min {threshold:.0%}). "
            f"No postcode at all for: {', '.join(names)}{more}."
        )
    head = (
        "The postcode directory does not cover every LA: children living in the LSOAs below "
        "cannot be placed, so those LAs' rates would be far too low.\n  "
    )
    tail = (
        f"\nThe directory holds {', '.join(files) or 'no file'} (postcode areas "
        f"{', '.join(areas) or 'none'}). Add the NSPL/ONSPD file(s) for the postcode areas "
        "that serve these LSOAs (`cwi reference use FOLDER`, or data.postcode_directory), or "
        "set data.postcode_coverage_action: restrict to analyse those LAs on their covered "
        "LSOAs only (said on every page that shows them)."
    )
    return head + "\n  ".join(lines) + tail


def coverage_note(rec: dict) -> str:
    """The sentence shown wherever a restricted LA appears."""
    return (
        f"{rec['la_name']}: the postcode directory covers {rec['share_lsoa_covered']:.0%} of its "
        f"neighbourhoods ({rec['share_children_covered']:.0%} of its children); its rates are "
        "for those neighbourhoods only (denominators restricted to the covered LSOAs)."
    )


__all__ = [
    "COVERAGE_COLUMNS",
    "CoverageError",
    "coverage_message",
    "coverage_note",
    "live_postcode_lsoas",
    "postcode_coverage",
    "uncovered_lsoas",
]
