"""The rate model of the demo region and the draw of children from it.

Expected number of children in status ``k`` (CLA, CPP, disabled CIN, other CIN, ...) in an
LSOA ``l`` x single year of age ``a`` x sex ``s`` x ethnic code ``c`` cell in year ``y``::

    lambda = pop[l,a,s] * share[l,c] * B_k * exp(beta_k * dep_l) * L_k[la(l)] * u_l
             * A_k[a] * S_k(s, dep_l) * E_k[group(c)] * Y_k[y] * eta_k[la, y]

``dep_l`` is the national deprivation position on a 0-10 scale (10 = most deprived end, one unit =
one decile step); ``L`` the LA multiplier (inverse intervention law: lower in deprived LAs);
``u_l`` a Gamma(k, 1/k) LSOA effect shared by all statuses and years (so LSOA counts are negative
binomial); ``A`` the age profile, ``S`` the sex ratio (gap narrowing with deprivation), ``E`` the
ethnic-group factor *after* adjusting for deprivation, ``Y`` a year trend and ``eta`` LA x year noise.
``beta``, ``B`` and the LA slope are calibrated on the generated geography so that the *crude*
regional figures match the targets of :class:`Params` (see data/README.md for sources).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from cwi.demo.geography import ETHNIC_LIST, Geography
from cwi.schemas import ETHNIC_CODES

#: Statuses drawn from the model. CIN at 31 March = CLA + CPP + CIN_DIS + CIN_ND.
COMPONENTS: tuple[str, ...] = ("CLA", "CLA_CEASED", "CPP", "CIN_DIS", "CIN_ND", "CIN_CLOSED")
GROUPS: tuple[str, ...] = ("White", "Mixed", "Asian", "Black", "Other", "Unknown")


def _per_year(shares: dict[str, float]) -> list[float]:
    """Relative rate by single year of age 0-17 from shares by DfE age band."""
    widths = {"Under 1": 1, "1 to 4": 4, "5 to 9": 5, "10 to 15": 6, "16 to 17": 2}
    out: list[float] = []
    for band, w in widths.items():
        out += [shares[band] / w] * w
    arr = np.array(out)
    return list(np.round(arr / arr.mean(), 6))


@dataclass
class Params:
    """Targets and fixed factors of the demo model (defaults = the documented calibration).

    Rates are per 10,000 children aged 0-17 at 31 March. Ratios named ``*_ratio`` compare the
    most deprived national decile (1) with the least deprived (10), crude, over all years.
    """

    rate_target: dict[str, float] = field(
        default_factory=lambda: {"CLA": 85.0, "CPP": 48.0, "CIN": 340.0}
    )
    ratio_target: dict[str, float] = field(
        default_factory=lambda: {"CLA": 11.1, "CPP": 12.6, "CIN": 4.5}
    )
    #: Disabled children in need (not on CPP/CLA) per 10,000 and their (flat) gradient per decile.
    cin_disabled_rate: float = 33.0
    cin_disabled_step: float = 1.03
    #: Rate ratio, LAs in the least deprived third vs the most deprived third, equal decile.
    inverse_intervention: dict[str, float] = field(
        default_factory=lambda: {"CLA": 2.0, "CPP": 2.0, "CIN": 1.8}
    )
    la_noise_sd: float = 0.08
    la_year_sd: float = 0.03
    lsoa_gamma_shape: float = 8.0
    #: Rate factor by ethnic group after adjusting for deprivation (White = 1).
    ethnic_factor: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "CLA": {"White": 1.0, "Mixed": 1.0, "Asian": 0.25, "Black": 0.85, "Other": 0.65},
            "CPP": {"White": 1.0, "Mixed": 1.0, "Asian": 0.35, "Black": 0.8, "Other": 0.65},
            "CIN": {"White": 1.0, "Mixed": 1.05, "Asian": 0.5, "Black": 1.0, "Other": 0.8},
        }
    )
    #: Male/female rate ratio in the least and in the most deprived decile.
    sex_ratio: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {"CLA": (1.32, 1.08), "CPP": (1.10, 0.98), "CIN": (1.40, 1.08)}
    )
    #: Age-band shares of each status (assumption: close to DfE national tables).
    age_shares: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "CLA": {"Under 1": 0.05, "1 to 4": 0.14, "5 to 9": 0.19, "10 to 15": 0.39, "16 to 17": 0.23},
            "CPP": {"Under 1": 0.11, "1 to 4": 0.27, "5 to 9": 0.29, "10 to 15": 0.29, "16 to 17": 0.04},
            "CIN": {"Under 1": 0.05, "1 to 4": 0.15, "5 to 9": 0.23, "10 to 15": 0.38, "16 to 17": 0.19},
        }
    )  # fmt: skip
    #: Year trend relative to the first collection year (index 0, 1, 2, ...; last value repeats).
    year_trend: dict[str, list[float]] = field(
        default_factory=lambda: {
            "CLA": [1.0, 1.02, 1.035],
            "CPP": [1.0, 0.97, 1.01],
            "CIN": [1.0, 1.01, 1.03],
        }
    )
    #: Extra records per child at 31 March: CLA who ceased in the year, CIN referrals closed.
    ceased_cla_per_cla: float = 0.3
    closed_cin_per_cin: float = 0.25
    unborn_per_cin: float = 0.015
    short_break_per_disabled: float = 0.10
    uasc_per_cla: float = 0.06
    unknown_ethnicity: float = 0.02
    disabled_share: dict[str, float] = field(
        default_factory=lambda: {"CLA": 0.10, "CPP": 0.05, "CLA_CEASED": 0.08, "CIN_CLOSED": 0.08}
    )

    def to_dict(self) -> dict:
        """Return the parameters as plain JSON-ready data."""
        d = asdict(self)
        d["sex_ratio"] = {k: list(v) for k, v in self.sex_ratio.items()}
        return d


@dataclass
class Model:
    """Calibrated coefficients on one geography (everything needed to compute expected counts)."""

    beta: dict[str, float]
    base: dict[str, float]
    la_mult: dict[str, np.ndarray]
    la_year: dict[str, np.ndarray]
    gamma: dict[str, float]
    lsoa_effect: np.ndarray
    dep: np.ndarray
    third: np.ndarray
    years: list[int]


@dataclass
class Children:
    """Children drawn from the model, one frame per collection year.

    ``frames[year]`` columns: ``lsoa`` (row index into ``geography.lsoas``; -1 = none, e.g.
    UASC), ``la`` (row index into ``geography.las``), ``age`` (at 31 March; -1 = unborn), ``sex``
    (0 male, 1 female, 2 unknown/unborn), ``eth`` (index into ETHNIC_CODES), ``status`` (one of
    :data:`COMPONENTS` or ``UNBORN``, ``UASC``), ``disabled`` (bool), ``short_break`` (bool).
    """

    frames: dict[int, pd.DataFrame]
    model: Model
    expected: pd.DataFrame


def third_factor(
    counts: np.ndarray, pop: np.ndarray, decile: np.ndarray, third: np.ndarray, iters: int = 200
) -> float:
    """Rate ratio, least vs most deprived third of LAs, adjusting for decile (Poisson MLE).

    Fits ``E[n] = pop * a[decile] * b[third]`` by iterative proportional fitting (the
    maximum-likelihood equations of a main-effects Poisson log-linear model match the margins)
    and returns ``b[2] / b[0]``; NaN if a third is missing.
    """
    d_codes, d = np.unique(decile, return_inverse=True)
    n = np.zeros((len(d_codes), 3))
    p = np.zeros((len(d_codes), 3))
    np.add.at(n, (d, third), counts)
    np.add.at(p, (d, third), pop)
    if (p.sum(axis=0) == 0).any():
        return float("nan")
    a = np.ones(len(d_codes))
    b = np.ones(3)
    for _ in range(iters):
        a = n.sum(axis=1) / np.maximum((p * b[None, :]).sum(axis=1), 1e-300)
        b = n.sum(axis=0) / np.maximum((p * a[:, None]).sum(axis=0), 1e-300)
    return float(b[2] / b[0])


def _group_index() -> np.ndarray:
    return np.array([GROUPS.index(ETHNIC_CODES[c]) for c in ETHNIC_LIST])


def _measure_of(component: str) -> str:
    return {"CIN_DIS": "CIN", "CIN_ND": "CIN", "CIN_CLOSED": "CIN", "CLA_CEASED": "CLA"}.get(
        component, component
    )


def _dep_scale(geo: Geography) -> np.ndarray:
    rank = geo.lsoas["imd_rank"].to_numpy(float)
    return 10.0 * (1.0 - (rank - 0.5) / geo.n_national)


def _la_thirds(geo: Geography, pop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standardised LA mean deprivation and third (0 = most deprived third, 2 = least)."""
    la_idx = geo.lsoas["la_code"].map({c: i for i, c in enumerate(geo.las["la_code"])}).to_numpy()
    n = len(geo.las)
    w = np.bincount(la_idx, weights=pop, minlength=n)
    score = geo.lsoas["imd_score"].to_numpy(float)
    if not np.isfinite(score).all():  # e.g. IMD 2019 File 1 has ranks only: use the rank scale
        score = _dep_scale(geo)
    mean_score = np.bincount(la_idx, weights=pop * score, minlength=n)
    mean_score = mean_score / np.maximum(w, 1)
    order = np.argsort(-mean_score, kind="stable")
    third = np.empty(n, dtype=int)
    third[order] = np.minimum(3 * np.arange(n) // max(n, 1), 2)
    s = (mean_score - mean_score.mean()) / (mean_score.std() or 1.0)
    return s, third


def _cell_weights(geo, years, comp_measure, params, dep) -> np.ndarray:
    """Sum over age, sex and ethnicity of pop x A x S x E x Y, per LSOA and year."""
    m = comp_measure
    age = np.array(_per_year(params.age_shares[m]))
    lo, hi = params.sex_ratio[m]
    g = np.log(lo) + (np.log(hi) - np.log(lo)) * dep / 10.0
    sex = np.column_stack([np.exp(g / 2), np.exp(-g / 2)])
    gi = _group_index()
    ef = np.array([params.ethnic_factor[m].get(GROUPS[k], 0.0) for k in gi])
    eth = geo.ethnicity @ ef
    out = np.empty((len(dep), len(years)))
    for t, y in enumerate(years):
        trend = params.year_trend[m][min(t, len(params.year_trend[m]) - 1)]
        pop = geo.children(y - 1).astype(float)
        out[:, t] = np.einsum("las,a,ls->l", pop, age, sex) * eth * trend
    return out


def calibrate(geo: Geography, years: list[int], rng: np.random.Generator, params: Params) -> Model:
    """Fit the free coefficients so the crude regional figures hit the targets.

    Parameters
    ----------
    geo : Geography
        The geography children are placed on.
    years : list of int
        Collection years.
    rng : numpy.random.Generator
        Random source (LA noise, LSOA effects).
    params : Params
        Targets.

    Returns
    -------
    Model
        Calibrated coefficients.
    """
    n_l, n_la = len(geo.lsoas), len(geo.las)
    dep = _dep_scale(geo)
    la_idx = geo.lsoas["la_code"].map({c: i for i, c in enumerate(geo.las["la_code"])}).to_numpy()
    pops = np.stack([geo.children(y - 1).sum(axis=(1, 2)).astype(float) for y in years], axis=1)
    s, third = _la_thirds(geo, pops[:, 0])
    u = rng.gamma(params.lsoa_gamma_shape, 1.0 / params.lsoa_gamma_shape, n_l)
    dec = geo.lsoas["imd_decile"].to_numpy()
    pop_tot = pops.sum(axis=1)

    beta: dict[str, float] = {}
    base: dict[str, float] = {}
    la_mult: dict[str, np.ndarray] = {}
    la_year: dict[str, np.ndarray] = {}
    gamma: dict[str, float] = {}
    weights: dict[str, np.ndarray] = {}
    for comp in ("CLA", "CPP", "CIN_DIS", "CIN_ND"):
        m = _measure_of(comp)
        eps = params.la_noise_sd * rng.standard_normal(n_la)
        eps -= eps.mean()
        target_ii = params.inverse_intervention[m]
        most, least = third == 0, third == 2
        if most.any() and least.any() and s[most].mean() > s[least].mean():
            gam = (np.log(target_ii) - (eps[least].mean() - eps[most].mean())) / (
                s[most].mean() - s[least].mean()
            )
        else:
            gam = 0.0
        gamma[comp] = float(gam)
        la_mult[comp] = np.exp(-gam * s + eps)
        la_year[comp] = np.exp(params.la_year_sd * rng.standard_normal((n_la, len(years))))
        weights[comp] = _cell_weights(geo, years, m, params, dep)

    def expected_by_lsoa(comp: str, b: float, base_: float = 1.0) -> np.ndarray:
        w = weights[comp] * la_year[comp][la_idx]
        return base_ * np.exp(b * dep) * la_mult[comp][la_idx] * u * w.sum(axis=1)

    def crude_ratio(counts: np.ndarray) -> float:
        r1 = counts[dec == 1].sum() / pop_tot[dec == 1].sum()
        r10 = counts[dec == 10].sum() / pop_tot[dec == 10].sum()
        return r1 / r10

    la_third = third[la_idx]

    def refine_gamma(comp: str, b: float) -> None:
        """Rescale the LA slope until the decile-adjusted third factor hits its target."""
        target = params.inverse_intervention[_measure_of(comp)]
        if gamma[comp] == 0.0:
            return
        eps = np.log(la_mult[comp]) + gamma[comp] * s
        for _ in range(6):
            got = third_factor(expected_by_lsoa(comp, b), pop_tot, dec, la_third)
            if not np.isfinite(got) or got <= 1.0:
                return
            gamma[comp] *= np.log(target) / np.log(got)
            la_mult[comp] = np.exp(-gamma[comp] * s + eps)

    def calibrate_beta(comp: str) -> float:
        """The deprivation slope whose crude rate ratio, decile 1 to decile 10, hits the target."""
        return brentq(
            lambda b: (
                np.log(crude_ratio(expected_by_lsoa(comp, b))) - np.log(params.ratio_target[comp])
            ),
            -1.0,
            1.5,
        )

    have = (dec == 1).any() and (dec == 10).any()
    total_pop = pop_tot.sum()
    for comp in ("CLA", "CPP"):
        beta[comp] = calibrate_beta(comp) if have else float(np.log(1.31))
        refine_gamma(comp, beta[comp])
        if have:
            beta[comp] = calibrate_beta(comp)
        raw = expected_by_lsoa(comp, beta[comp]).sum()
        base[comp] = params.rate_target[comp] / 1e4 * total_pop / raw
    beta["CIN_DIS"] = float(np.log(params.cin_disabled_step))
    raw = expected_by_lsoa("CIN_DIS", beta["CIN_DIS"]).sum()
    base["CIN_DIS"] = params.cin_disabled_rate / 1e4 * total_pop / raw
    fixed = sum(expected_by_lsoa(c, beta[c], base[c]) for c in ("CLA", "CPP", "CIN_DIS"))
    nd_total = params.rate_target["CIN"] / 1e4 * total_pop - fixed.sum()

    def cin_ratio(b: float) -> float:
        nd = expected_by_lsoa("CIN_ND", b)
        nd = nd * nd_total / nd.sum()
        return np.log(crude_ratio(fixed + nd)) - np.log(params.ratio_target["CIN"])

    beta["CIN_ND"] = brentq(cin_ratio, -1.0, 1.5) if have else float(np.log(1.15))
    refine_gamma("CIN_ND", beta["CIN_ND"])
    if have:
        beta["CIN_ND"] = brentq(cin_ratio, -1.0, 1.5)
    base["CIN_ND"] = nd_total / expected_by_lsoa("CIN_ND", beta["CIN_ND"]).sum()
    beta = {k: float(v) for k, v in beta.items()}
    return Model(beta, base, la_mult, la_year, gamma, u, dep, third, list(years))


def expected_factors(
    geo: Geography, model: Model, params: Params, comp: str, t: int
) -> tuple[np.ndarray, np.ndarray]:
    """Expected counts of ``comp`` in year index ``t`` as two factors.

    Returns
    -------
    tuple of numpy.ndarray
        ``F`` of shape (n_lsoa, 18, 2) and ``G`` of shape (n_lsoa, 20); the expected count in
        cell (l, a, s, c) is ``F[l, a, s] * G[l, c]``.
    """
    m = _measure_of(comp)
    src = {"CLA_CEASED": "CLA", "CIN_CLOSED": "CIN_ND"}.get(comp, comp)
    scale = {"CLA_CEASED": params.ceased_cla_per_cla, "CIN_CLOSED": params.closed_cin_per_cin}
    y = model.years[t]
    la_idx = geo.lsoas["la_code"].map({c: i for i, c in enumerate(geo.las["la_code"])}).to_numpy()
    dep = model.dep
    lsoa_f = (
        model.base[src]
        * np.exp(model.beta[src] * dep)
        * model.la_mult[src][la_idx]
        * model.la_year[src][la_idx, t]
        * model.lsoa_effect
        * params.year_trend[m][min(t, len(params.year_trend[m]) - 1)]
        * scale.get(comp, 1.0)
    )
    age = np.array(_per_year(params.age_shares[m]))
    lo, hi = params.sex_ratio[m]
    g = np.log(lo) + (np.log(hi) - np.log(lo)) * dep / 10.0
    sex = np.column_stack([np.exp(g / 2), np.exp(-g / 2)])
    gi = _group_index()
    ef = np.array([params.ethnic_factor[m].get(GROUPS[k], 0.0) for k in gi])
    pop = geo.children(y - 1).astype(float)
    f = pop * (lsoa_f[:, None, None] * age[None, :, None] * sex[:, None, :])
    return f, geo.ethnicity * ef[None, :]


def simulate_children(
    geography: Geography, years: list[int], rng: np.random.Generator, params: Params | None = None
) -> Children:
    """Calibrate the model on ``geography`` and draw the children of every collection year.

    Parameters
    ----------
    geography : Geography
        Where children live.
    years : list of int
        Collection years (31 March snapshots).
    rng : numpy.random.Generator
        Random source.
    params : Params, optional
        Model targets; defaults to :class:`Params`.

    Returns
    -------
    Children
        Child-level frames per year, the calibrated model and expected counts by LSOA.
    """
    params = params or Params()
    years = sorted(int(y) for y in years)
    model = calibrate(geography, years, rng, params)
    n_l, n_la = len(geography.lsoas), len(geography.las)
    la_idx = (
        geography.lsoas["la_code"]
        .map({c: i for i, c in enumerate(geography.las["la_code"])})
        .to_numpy()
    )
    frames: dict[int, pd.DataFrame] = {}
    exp_rows = []
    for t, y in enumerate(years):
        parts, n_cells = [], 0
        for comp in COMPONENTS:
            f, g = expected_factors(geography, model, params, comp, t)
            gsum = g.sum(axis=1)
            lam = f * gsum[:, None, None]
            exp_rows.append(
                pd.DataFrame(
                    {"year": y, "component": comp, "lsoa": np.arange(n_l),
                     "expected": lam.sum(axis=(1, 2))}
                )
            )  # fmt: skip
            n = rng.poisson(lam.ravel())
            nz = np.flatnonzero(n)
            li0, a, s = np.unravel_index(nz, lam.shape)
            p = g[li0] / np.maximum(gsum[li0], 1e-300)[:, None]
            split = rng.multinomial(n[nz], p)  # (nz, 20)
            rows, codes = np.nonzero(split)
            reps = split[rows, codes]
            li, ai, si = (np.repeat(v[rows], reps) for v in (li0, a, s))
            parts.append(
                pd.DataFrame(
                    {"lsoa": li.astype(np.int64), "la": la_idx[li].astype(np.int64),
                     "age": ai.astype(np.int64), "sex": si.astype(np.int64),
                     "eth": np.repeat(codes, reps).astype(np.int64), "status": comp}
                )
            )  # fmt: skip
            n_cells += len(nz)
        df = pd.concat(parts, ignore_index=True)
        by_lsoa = np.stack([e["expected"].to_numpy() for e in exp_rows[-len(COMPONENTS) :]])
        # disability
        dis = (df["status"] == "CIN_DIS").to_numpy()
        for comp, share in params.disabled_share.items():
            sel = (df["status"] == comp).to_numpy()
            dis[sel] = rng.random(sel.sum()) < share
        df["disabled"] = dis
        df["short_break"] = (df["status"] == "CIN_DIS").to_numpy() & (
            rng.random(len(df)) < params.short_break_per_disabled
        )
        # unknown ethnicity recorded for a few children
        unk = rng.random(len(df)) < params.unknown_ethnicity
        df.loc[unk, "eth"] = np.where(
            rng.random(unk.sum()) < 0.5, ETHNIC_LIST.index("REFU"), ETHNIC_LIST.index("NOBT")
        )
        # unborn children (CIN only): per LSOA
        cin_lsoa = by_lsoa[[COMPONENTS.index(c) for c in ("CLA", "CPP", "CIN_DIS", "CIN_ND")]].sum(
            0
        )
        n_unb = rng.poisson(cin_lsoa * params.unborn_per_cin)
        ul = np.repeat(np.arange(n_l), n_unb)
        eth_unb = np.where(
            rng.random(len(ul)) < 0.6,
            ETHNIC_LIST.index("NOBT"),
            _draw_codes(rng, geography.ethnicity[ul]),
        )
        unborn = pd.DataFrame(
            {"lsoa": ul, "la": la_idx[ul], "age": -1, "sex": 2, "eth": eth_unb, "status": "UNBORN",
             "disabled": False, "short_break": False}
        )  # fmt: skip
        # unaccompanied asylum-seeking children, only in LAs exporting SSDA903 as XML
        cla_la = np.bincount(df.loc[df["status"] == "CLA", "la"], minlength=n_la)
        xml_la = ~geography.las["csv_903"].to_numpy(bool)
        n_uasc = rng.poisson(cla_la * params.uasc_per_cla * xml_la)
        ua = np.repeat(np.arange(n_la), n_uasc)
        uasc_codes = np.array(
            [ETHNIC_LIST.index(c) for c in ("AOTH", "BAFR", "OOTH", "BOTH", "MOTH")]
        )
        uasc = pd.DataFrame(
            {"lsoa": -1, "la": ua, "age": rng.integers(14, 18, len(ua)),
             "sex": (rng.random(len(ua)) < 0.08).astype(np.int64),
             "eth": uasc_codes[rng.integers(0, len(uasc_codes), len(ua))],
             "status": "UASC", "disabled": False, "short_break": False}
        )  # fmt: skip
        frames[y] = pd.concat([df, unborn, uasc], ignore_index=True)
    expected = pd.concat(exp_rows, ignore_index=True)
    return Children(frames=frames, model=model, expected=expected)


def _draw_codes(rng: np.random.Generator, shares: np.ndarray) -> np.ndarray:
    """Draw one ethnic code index per row of ``shares`` (rows sum to 1)."""
    cum = np.cumsum(shares, axis=1)
    r = rng.random(len(shares))[:, None] * cum[:, -1:]
    return np.minimum((r > cum).sum(axis=1), shares.shape[1] - 1)
