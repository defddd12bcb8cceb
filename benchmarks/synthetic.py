"""Synthetic count cubes with known truth, for recovery tests, coverage checks and benchmarks.

The data-generating model (per LA j, LSOA i, age band a, sex s, ethnic group e, measure m)::

    E[n] = pop_{i,a,s} * share_{i,e} * base_m * irr_m^dep_i * age_rr_a * sex_rr_s * eth_rr_e
           * la_factor^((score_j - mean score)/10) * exp(u_j) * g_i

with ``dep = 10 - decile``, ``u_j ~ N(0, la_sd^2)`` and ``g_i ~ Gamma(mean 1, var lsoa_var)``
(shared by all measures).  ``la_factor`` is the inverse-intervention factor: the rate ratio per
10 points of the LA's child-weighted mean IMD score at equal LSOA deprivation.  A fraction of
cases has ethnicity recorded as ``Unknown`` (independently of group) and CIN cases carry a
disability flag.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cwi.cube import Cube
from cwi.schemas import (
    AGE_BANDS,
    CUBE_COUNTS,
    CUBE_LA,
    CUBE_LSOA,
    CUBE_POPULATION,
    CUBE_POPULATION_ETHNICITY,
    MEASURES,
)

__all__ = ["Truth", "synthetic_cube"]

_AGE_SHARE = np.array([1, 4, 5, 6, 2], dtype=float) / 18.0
_ETHNIC = ("White", "Mixed", "Asian", "Black", "Other")


@dataclass(frozen=True)
class Truth:
    """Parameters of the synthetic data-generating model (rates per child, not per 10,000)."""

    base: dict[str, float] = field(
        default_factory=lambda: {"CIN": 0.0150, "CPP": 0.0018, "CLA": 0.0028}
    )
    irr_step: dict[str, float] = field(
        default_factory=lambda: {"CIN": 1.12, "CPP": 1.15, "CLA": 1.20}
    )
    age_rr: tuple[float, ...] = (1.4, 1.1, 0.9, 1.0, 1.1)
    sex_rr: dict[str, float] = field(default_factory=lambda: {"M": 1.0, "F": 0.9})
    eth_rr: dict[str, float] = field(
        default_factory=lambda: {
            "White": 1.0,
            "Mixed": 1.5,
            "Asian": 0.6,
            "Black": 1.3,
            "Other": 0.9,
        }
    )
    la_factor: float = 0.85
    la_sd: float = 0.05
    lsoa_var: float = 0.03
    unknown_ethnicity: float = 0.03
    disabled_share: float = 0.12


def synthetic_cube(
    n_la: int = 12,
    lsoa_per_la: int = 120,
    years: tuple[int, ...] = (2023,),
    truth: Truth | None = None,
    seed: int = 1,
    children_per_lsoa: float = 350.0,
) -> tuple[Cube, pd.DataFrame]:
    """Simulate a region's count cube from :class:`Truth`.

    Parameters
    ----------
    n_la, lsoa_per_la : int
        Size of the region.
    years : tuple of int
        Collection years (independent draws, same geography).
    truth : Truth, optional
        Parameters; defaults to :class:`Truth()`.
    seed : int
        Random seed.
    children_per_lsoa : float
        Mean child population of an LSOA.

    Returns
    -------
    cube : Cube
        The simulated cube (counts hold only non-zero cells).
    la_truth : pandas.DataFrame
        ``la_code, imd_score_mean, la_effect`` (the LA's true log multiplier, excluding LSOA
        terms).
    """
    t = truth or Truth()
    rng = np.random.default_rng(seed)
    n_lsoa = n_la * lsoa_per_la
    la_codes = np.array([f"E0{9000000 + j:07d}" for j in range(n_la)])
    la_of = np.repeat(np.arange(n_la), lsoa_per_la)
    la_level = rng.uniform(8, 40, n_la)
    score = la_level[la_of] * np.exp(rng.normal(0, 0.55, n_lsoa))
    order = np.argsort(-score, kind="stable")
    rank = np.empty(n_lsoa, int)
    rank[order] = np.arange(1, n_lsoa + 1)
    decile = np.ceil(10 * rank / n_lsoa).astype(int).clip(1, 10)
    dep = 10 - decile
    lsoa_codes = np.array([f"E01{i:06d}" for i in range(n_lsoa)])
    pop_lsoa = rng.poisson(children_per_lsoa * rng.uniform(0.6, 1.4, n_lsoa)).astype(float) + 20
    # ethnic shares: minority share rises with deprivation
    minority = np.clip(0.08 + 0.025 * dep + rng.normal(0, 0.04, n_lsoa), 0.01, 0.7)
    mix = np.array([0.0, 0.3, 0.35, 0.25, 0.1])
    eth_share = np.outer(minority, mix)
    eth_share[:, 0] = 1 - minority
    # LA deprivation (child-weighted mean score) and the LA effect
    la_mean = np.bincount(la_of, score * pop_lsoa) / np.bincount(la_of, pop_lsoa)
    la_effect = np.log(t.la_factor) * (la_mean - la_mean.mean()) / 10 + rng.normal(
        0, t.la_sd, n_la
    )
    lsoa = pd.DataFrame(
        {
            "lsoa_code": lsoa_codes,
            "la_code": la_codes[la_of],
            "imd_score": score,
            "imd_rank": rank,
            "imd_decile": decile,
            "imd_quintile": (decile + 1) // 2,
        }
    )[list(CUBE_LSOA)]
    la = pd.DataFrame(
        {
            "la_code": la_codes,
            "la_name": [f"Synthetic LA {j + 1}" for j in range(n_la)],
            "region_name": "Synthetic region",
        }
    )[list(CUBE_LA)]
    sexes = ("M", "F")
    sex_share = np.array([0.512, 0.488])
    pops, pops_e, counts = [], [], []
    age_rr = np.array(t.age_rr)
    sex_rr = np.array([t.sex_rr[s] for s in sexes])
    eth_rr = np.array([t.eth_rr[e] for e in _ETHNIC])
    for year in years:
        # population by LSOA x age x sex (fixed split, rounded)
        p_as = np.rint(
            pop_lsoa[:, None, None] * _AGE_SHARE[None, :, None] * sex_share[None, None, :]
        )
        pop_tot = p_as.sum(axis=(1, 2))
        ii, aa, ss = np.meshgrid(np.arange(n_lsoa), np.arange(5), np.arange(2), indexing="ij")
        pops.append(
            pd.DataFrame(
                {
                    "year": year,
                    "la_code": la_codes[la_of[ii.ravel()]],
                    "lsoa_code": lsoa_codes[ii.ravel()],
                    "age_band": np.array(AGE_BANDS)[aa.ravel()],
                    "sex": np.array(sexes)[ss.ravel()],
                    "population": p_as.ravel(),
                }
            )
        )
        p_e = np.rint(pop_tot[:, None] * eth_share)
        ie, ee = np.meshgrid(np.arange(n_lsoa), np.arange(5), indexing="ij")
        pops_e.append(
            pd.DataFrame(
                {
                    "year": year,
                    "la_code": la_codes[la_of[ie.ravel()]],
                    "lsoa_code": lsoa_codes[ie.ravel()],
                    "ethnic_group": np.array(_ETHNIC)[ee.ravel()],
                    "population": p_e.ravel(),
                }
            )
        )
        g = rng.gamma(1 / t.lsoa_var, t.lsoa_var, n_lsoa) if t.lsoa_var > 0 else np.ones(n_lsoa)
        lsoa_mult = g * np.exp(la_effect[la_of])
        # expected counts: LSOA x age x sex x ethnic
        pop_ase = (
            p_as[:, :, :, None]
            * (p_e / np.maximum(p_e.sum(1, keepdims=True), 1))[:, None, None, :]
        )
        rel = (
            age_rr[None, :, None, None] * sex_rr[None, None, :, None] * eth_rr[None, None, None, :]
        )
        for m in MEASURES:
            lam = (
                (t.base[m] * t.irr_step[m] ** dep * lsoa_mult)[:, None, None, None] * rel * pop_ase
            )
            n = rng.poisson(lam)
            unk = rng.binomial(n, t.unknown_ethnicity)
            n = n - unk
            nz = np.nonzero(n)
            frames = [(nz, n[nz], np.array(_ETHNIC)[nz[3]])]
            nzu = np.nonzero(unk.sum(axis=3))
            frames.append(((*nzu, None), unk.sum(axis=3)[nzu], "Unknown"))
            for idx, vals, eth in frames:
                f = pd.DataFrame(
                    {
                        "year": year,
                        "la_code": la_codes[la_of[idx[0]]],
                        "lsoa_code": lsoa_codes[idx[0]],
                        "measure": m,
                        "age_band": np.array(AGE_BANDS)[idx[1]],
                        "sex": np.array(sexes)[idx[2]],
                        "ethnic_group": eth,
                        "n": vals.astype(int),
                    }
                )
                if m == "CIN":
                    y = rng.binomial(f["n"].to_numpy(), t.disabled_share)
                    fy = f.assign(disabled="Y", n=y)
                    fn = f.assign(disabled="N", n=f["n"] - y)
                    f = pd.concat([fy, fn], ignore_index=True)
                else:
                    f["disabled"] = "U"
                counts.append(f[f["n"] > 0])
    cube = Cube(
        counts=pd.concat(counts, ignore_index=True)[list(CUBE_COUNTS)],
        population=pd.concat(pops, ignore_index=True)[list(CUBE_POPULATION)],
        population_ethnicity=pd.concat(pops_e, ignore_index=True)[list(CUBE_POPULATION_ETHNICITY)],
        lsoa=lsoa,
        la=la,
    )
    la_truth = pd.DataFrame(
        {"la_code": la_codes, "imd_score_mean": la_mean, "la_effect": la_effect}
    )
    return cube, la_truth
