"""Synthetic demo region in the statutory file formats, calibrated to published gradients.

Entry points:

- :func:`generate` lays out a fictional region (:func:`synthesize_geography`), draws children
  (:func:`simulate_children`) and writes every file (:func:`write_region`).
- :func:`generate_on_geography` places synthetic children on a given, possibly real, geography.

The output layout, the model and its calibration are documented in ``data/README.md``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from cwi.demo.geography import Geography, synthesize_geography
from cwi.demo.model import (
    COMPONENTS,
    Children,
    Params,
    expected_factors,
    simulate_children,
    third_factor,
)
from cwi.demo.postcodes import synthesize_postcodes
from cwi.demo.records import (
    PostcodeIndex,
    build_la_year,
    damage_ids_and_duplicate,
    reformat,
)
from cwi.demo.writers import (
    write_contacts,
    write_faults,
    write_la_year,
    write_reference,
    write_truth,
)

__all__ = [
    "Geography",
    "Params",
    "Children",
    "generate",
    "generate_on_geography",
    "synthesize_geography",
    "simulate_children",
    "write_region",
]

DEFAULT_SEED = 20140501
DEFAULT_YEARS = (2021, 2022, 2023)
#: Written into every folder the generator fills; only such a folder is ever cleared by it.
MARKER = ".cwi-demo-generated"


class DemoFolderError(RuntimeError):
    """The output folder holds files the generator did not write; nothing is deleted."""


def claim_folder(out: Path, keep: tuple[str, ...] = ("pseudo.key",)) -> None:
    """Make ``out`` an empty demo folder, deleting only what the generator wrote before.

    A folder is cleared only when it holds :data:`MARKER` (the generator's own mark) or nothing
    but the files in ``keep``; anything else (a mistyped ``data.demo_dir`` pointing at real
    extracts, the project root, a home folder) raises :class:`DemoFolderError` and is left as is.
    """
    out = Path(out)
    if out.exists():
        others = [p for p in out.iterdir() if p.name not in (*keep, MARKER)]
        ours = (out / MARKER).is_file() or (out / ".cwi-demo.json").is_file()  # or an older stamp
        if others and not ours:
            raise DemoFolderError(
                f"{out} is not empty and was not written by the demo generator (no {MARKER} in "
                f"it; it holds e.g. {others[0].name}). Nothing was deleted. Point data.demo_dir "
                "(or --out) at an empty or new folder, e.g. data/demo."
            )
        for p in others:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(
        "Written by the CWI demo generator: this folder may be cleared and regenerated.\n",
        encoding="utf-8",
    )


def generate(
    out: Path,
    seed: int = DEFAULT_SEED,
    n_las: int = 15,
    years: list[int] | None = None,
    national: bool = False,
) -> Path:
    """Generate the synthetic demo region into ``out``.

    Parameters
    ----------
    out : Path
        Output folder (its ``reference/``, ``la/`` and ``truth/`` sub-folders are replaced).
    seed : int
        Random seed: the same seed gives byte-identical files.
    n_las : int
        Number of fictional LAs (15 = the calibrated demo region).
    years : list of int, optional
        Collection years (31 March snapshots); default 2021, 2022, 2023.
    national : bool
        National scale for benchmarks: 153 LAs, about 33,000 LSOAs, no boundary files.

    Returns
    -------
    Path
        ``out``.
    """
    years = sorted(int(y) for y in (years or DEFAULT_YEARS))
    rng = np.random.Generator(np.random.PCG64(seed))
    geo = synthesize_geography(
        rng, n_las=n_las, national=national, mid_years=[y - 1 for y in years]
    )
    return _generate(geo, Path(out), rng, years, seed, national=national)


def generate_on_geography(
    geography: Geography,
    out: Path,
    seed: int = DEFAULT_SEED,
    years: list[int] | None = None,
    params: Params | None = None,
) -> Path:
    """Place synthetic children on ``geography`` and write the full demo layout to ``out``.

    Used by the real-geography mode: the LSOAs, IMD, populations and polygons are real, the
    postcodes (X areas), children, extracts and faults are synthetic.

    Parameters
    ----------
    geography : Geography
        Where children live (see :class:`Geography` for the fields to fill).
    out : Path
        Output folder.
    seed : int
        Random seed.
    years : list of int, optional
        Collection years; default 2021, 2022, 2023.
    params : Params, optional
        Model targets; default the documented calibration.

    Returns
    -------
    Path
        ``out``.
    """
    years = sorted(int(y) for y in (years or DEFAULT_YEARS))
    rng = np.random.Generator(np.random.PCG64(seed))
    return _generate(geography, Path(out), rng, years, seed, params=params)


def _generate(geo, out, rng, years, seed, params=None, national=False) -> Path:
    params = params or Params()
    children = simulate_children(geo, years, rng, params)
    write_region(geo, children, out, rng=rng, seed=seed, params=params, national=national)
    return out


def write_region(
    geography: Geography,
    children: Children,
    out: Path,
    rng: np.random.Generator | None = None,
    seed: int = DEFAULT_SEED,
    params: Params | None = None,
    national: bool = False,
) -> Path:
    """Write reference files, one extract folder per LA and year, contacts and truth.

    Parameters
    ----------
    geography : Geography
        The geography the children were drawn on.
    children : Children
        Output of :func:`simulate_children`.
    out : Path
        Output folder.
    rng : numpy.random.Generator, optional
        Random source for postcodes, records and faults (default: seeded from ``seed``).
    seed : int
        Recorded in the truth file.
    params : Params, optional
        The parameters used (recorded in the truth file).
    national : bool
        Fewer postcodes per LSOA (national scale).

    Returns
    -------
    Path
        ``out``.
    """
    out = Path(out)
    rng = rng or np.random.Generator(np.random.PCG64([seed, 1]))
    params = params or Params()
    claim_folder(out)
    years = sorted(children.frames)
    pcs = synthesize_postcodes(
        geography, rng, live=5 if national else 10, terminated=1 if national else 2
    )
    pidx = PostcodeIndex.build(pcs, len(geography.lsoas))
    write_reference(geography, pcs, years, out)
    write_contacts(geography, out)

    las = geography.las
    csv_las = [i for i in range(len(las)) if las["csv_903"].iloc[i]]
    bom = (csv_las[0], years[len(years) // 2], "ssda903_episodes.csv") if csv_las else None
    cp = (csv_las[min(1, len(csv_las) - 1)], years[-1], "addresses.csv") if csv_las else None
    faults: list[tuple] = []
    next_id = {i: 100000 + 50000 * (i % 7) for i in range(len(las))}
    for year in years:
        frame = children.frames[year]
        for la in range(len(las)):
            kids = frame[frame["la"].to_numpy() == la].reset_index(drop=True)
            recs, next_id[la] = build_la_year(rng, geography, pidx, kids, la, year, next_id[la])
            encodings = {}
            if bom and (la, year) == bom[:2]:
                encodings[bom[2]] = "utf-8-sig"
            if cp and (la, year) == cp[:2]:
                encodings[cp[2]] = "cp1252"
                recs.addresses = _ensure_nbsp(recs.addresses)
            if recs.csv_903:
                recs.header = damage_ids_and_duplicate(
                    rng, recs.header, "CHILD", allow_duplicates=False
                )
                recs.episodes = damage_ids_and_duplicate(rng, recs.episodes, "CHILD")
            recs.addresses = damage_ids_and_duplicate(rng, recs.addresses, "LAchildID")
            faults += write_la_year(
                recs, out, las["la_code"].iloc[la], las["lea"].iloc[la], year, encodings
            )
    fault_df = write_faults(faults, out)
    write_truth(truth_dict(geography, children, params, seed, years, fault_df), out)
    return out


def _ensure_nbsp(addresses: pd.DataFrame, n: int = 2) -> pd.DataFrame:
    """Make sure a Windows-1252 file holds non-ASCII text (non-breaking spaces in postcodes)."""
    df = addresses.copy()
    has = df["postcode"].str.contains("\u00a0", regex=False).sum()
    clean = np.flatnonzero(
        (df["_f"].to_numpy(object) == "") & df["postcode"].str.contains(" ").to_numpy()
    )
    for i in clean[: max(0, n - has)]:
        df.loc[i, "postcode"] = reformat(df.loc[i, "postcode"], "nbsp")
        df.loc[i, "_f"] = "PC_REFORMATTED:postcode"
    return df


# ---- truth -----------------------------------------------------------------------------------


def _r(x: float, nd: int = 6) -> float:
    return float(round(float(x), nd))


def truth_dict(geo, children, params, seed, years, faults) -> dict:
    """Assemble the truth file: parameters, coefficients, expected rates, faults summary."""
    model = children.model
    lsoas = geo.lsoas
    la_codes = geo.las["la_code"].tolist()
    la_idx = lsoas["la_code"].map({c: i for i, c in enumerate(la_codes)}).to_numpy()
    dec = lsoas["imd_decile"].to_numpy()
    exp = children.expected
    measures = {"CLA": ["CLA"], "CPP": ["CPP"], "CIN": ["CLA", "CPP", "CIN_DIS", "CIN_ND"]}
    pop = {y: geo.children(y - 1).sum(axis=(1, 2)).astype(float) for y in years}
    by = {}
    for m, comps in measures.items():
        for y in years:
            sel = exp[(exp["year"] == y) & exp["component"].isin(comps)]
            by[(m, y)] = (
                sel.groupby("lsoa")["expected"]
                .sum()
                .reindex(range(len(lsoas)), fill_value=0)
                .to_numpy()
            )
    rates: dict = {"per_decile": {}, "per_la": {}, "per_decile_by_year": {}}
    for m in measures:
        tot = sum(by[(m, y)] for y in years)
        ptot = sum(pop[y] for y in years)
        rates["per_decile"][m] = {
            str(d): _r(1e4 * tot[dec == d].sum() / ptot[dec == d].sum(), 3)
            for d in range(1, 11)
            if (dec == d).any()
        }
        rates["per_decile_by_year"][m] = {
            str(y): {
                str(d): _r(1e4 * by[(m, y)][dec == d].sum() / pop[y][dec == d].sum(), 3)
                for d in range(1, 11)
                if (dec == d).any()
            }
            for y in years
        }
        rates["per_la"][m] = {
            la: {
                str(y): _r(1e4 * by[(m, y)][la_idx == j].sum() / pop[y][la_idx == j].sum(), 3)
                for y in years
            }
            for j, la in enumerate(la_codes)
        }
    # inverse intervention: decile-adjusted Poisson MLE on expected counts, LA thirds
    third = model.third[la_idx]
    ii = {}
    for m in measures:
        tot = sum(by[(m, y)] for y in years)
        ptot = sum(pop[y] for y in years)
        f = third_factor(tot, ptot, dec, third)
        ii[m] = _r(f, 4) if np.isfinite(f) else None
    # ethnic ratios (CLA): adjusted = model factor; crude = expected by group
    from cwi.demo.model import GROUPS, _group_index

    gi = _group_index()
    n_g = np.zeros(len(GROUPS))
    p_g = np.zeros(len(GROUPS))
    for t, y in enumerate(years):
        f, g = expected_factors(geo, model, params, "CLA", t)
        n_g += np.bincount(
            gi, weights=(f.sum(axis=(1, 2))[:, None] * g).sum(axis=0), minlength=len(GROUPS)
        )
        kids = geo.children(y - 1).sum(axis=(1, 2)).astype(float)
        p_g += np.bincount(
            gi, weights=(kids[:, None] * geo.ethnicity).sum(axis=0), minlength=len(GROUPS)
        )
    crude = {GROUPS[k]: _r(1e4 * n_g[k] / p_g[k], 3) for k in range(5) if p_g[k] > 0}
    d1, d10 = rates["per_decile"]["CLA"].get("1"), rates["per_decile"]["CLA"].get("10")
    return {
        "seed": int(seed),
        "years": [int(y) for y in years],
        "n_las": len(la_codes),
        "n_lsoas": len(lsoas),
        "children_0_17": {str(y): int(pop[y].sum()) for y in years},
        "parameters": params.to_dict(),
        "coefficients": {
            "beta_per_decile_step": {k: _r(v) for k, v in model.beta.items()},
            "rate_ratio_per_decile_step": {k: _r(np.exp(v)) for k, v in model.beta.items()},
            "base": {k: _r(v, 10) for k, v in model.base.items()},
            "la_slope_gamma": {k: _r(v) for k, v in model.gamma.items()},
            "la_multiplier": {
                k: dict(zip(la_codes, [_r(x) for x in v], strict=True))
                for k, v in model.la_mult.items()
            },
            "la_third": dict(zip(la_codes, [int(x) for x in model.third], strict=True)),
            "lsoa_effect_gamma_shape": params.lsoa_gamma_shape,
        },
        "components": list(COMPONENTS),
        "expected_rates_per_10000": rates,
        "cla_ratio_decile1_vs_10": _r(d1 / d10, 4) if d1 and d10 else None,
        "inverse_intervention_factor": ii,
        "ethnic_ratios": {
            "adjusted_vs_white": params.ethnic_factor,
            "crude_expected_cla_rate": crude,
        },
        "faults_per_rule": {
            k: int(v) for k, v in faults["rule_code"].value_counts().sort_index().items()
        },
        "notes": (
            "Expected rates are model means given the realised geography and LSOA effects; "
            "they exclude UASC and unborn children. Third 0 = most deprived third of LAs "
            "(population-weighted mean IMD score), 2 = least deprived."
        ),
    }
