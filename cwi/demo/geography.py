"""Synthetic geography of the demo region: LAs, LSOAs, deprivation, populations and polygons.

The :class:`Geography` dataclass is the hand-over between *where children live* and *which
children come to the attention of children's services*. The synthetic region fills it from a
seeded generator (:func:`synthesize_geography`); the real-geography mode fills the same fields from
the public reference files and then places synthetic children on it with
:func:`cwi.demo.generate_on_geography`.

Coordinates: the synthetic region is laid out in British National Grid metres (EPSG:27700) in
the North Sea, east of the Lincolnshire coast, so that no point can be mistaken for a real place,
and converted to longitude/latitude (EPSG:4326) for the boundary files and the postcode directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.special import expit
from scipy.stats import norm

from cwi.schemas import ETHNIC_CODES

#: Number of LSOAs in England (IoD2019), used for "national" ranks and deciles of the region.
N_NATIONAL_LSOA = 32_844
#: Single years of age in the population files: 0..89 and "90+" (index 90).
N_AGES = 91
CHILD_AGES = 18
ETHNIC_LIST: tuple[str, ...] = tuple(ETHNIC_CODES)

_FIRST_NAMES = (
    "Brackenford", "Kettleworth", "Irongate", "Stanmere", "Foundry Bridge",
    "Mereham", "Calderbrook", "Wexley Moor", "Hollinsford", "Dunmarsh",
    "Ashby Vale", "Thornbury Downs", "Elderfield", "Greywell Heath", "Lindenshire",
)  # fmt: skip
_PREFIXES = (
    "Brack", "Kettle", "Iron", "Stan", "Foundry", "Mere", "Calder", "Wex", "Hollins", "Dun",
    "Ash", "Thorn", "Elder", "Grey", "Linden", "Marl", "Fen", "Ald", "Orm", "Sedge",
    "Whin", "Bram", "Coppice", "Gorse", "Heron", "Lark", "Rook", "Wold", "Tarn", "Quarry",
)  # fmt: skip
_SUFFIXES = (
    "ford", "wick", "ham", "ley Vale", "bridge", "field", "borough", "stead", "mere Downs",
    "ton Heath",
)  # fmt: skip

#: Within-group shares of the 20 DfE ethnic codes (assumption, roughly census proportions).
_CODE_SHARES: dict[str, dict[str, float]] = {
    "WhiteOther": {"WIRI": 0.10, "WOTH": 0.80, "WIRT": 0.04, "WROM": 0.06},
    "Mixed": {"MWBC": 0.35, "MWBA": 0.12, "MWAS": 0.28, "MOTH": 0.25},
    "Asian": {"AIND": 0.30, "APKN": 0.45, "ABAN": 0.10, "AOTH": 0.15},
    "Black": {"BCRB": 0.30, "BAFR": 0.55, "BOTH": 0.15},
    "Other": {"CHNE": 0.30, "OOTH": 0.70},
}


@dataclass
class Geography:
    """Where children live: LAs, LSOAs, deprivation, populations and polygons.

    Attributes
    ----------
    region_code, region_name : str
        Region code and name written to the lookups (synthetic: ``X12000001``, "Demo region").
    las : pandas.DataFrame
        One row per children's-services LA, in output order. Columns ``la_code``, ``la_name``,
        ``la_type`` (``urban``, ``mixed`` or ``shire``; free text for real data), ``lea``
        (3-digit DfE LA number written in the CIN census header), ``csv_903`` (bool: the LA
        exports SSDA903 as CSV; ``False`` = SSDA903 XML).
    lsoas : pandas.DataFrame
        One row per LSOA, in output order. Columns ``lsoa_code``, ``lsoa_name``, ``msoa_code``,
        ``msoa_name``, ``la_code`` (the children's-services LA), ``lad_code``, ``lad_name``
        (district; equal to the LA for unitary LAs), ``imd_score``, ``imd_rank`` (1 = most
        deprived in England, out of ``n_national``), ``imd_decile`` (national, 1 = most deprived),
        ``urban`` (0-1, drives ethnic mix), ``easting``, ``northing`` (EPSG:27700 metres of a
        point inside the LSOA), ``lon``, ``lat`` (the same point in EPSG:4326).
    population : dict[int, numpy.ndarray]
        Mid-year population keyed by mid-year (collection year - 1): int array of shape
        ``(n_lsoa, 91, 2)`` = LSOA x single year of age (0..89, index 90 = 90+) x sex
        (0 = males, 1 = females). Children are ages 0-17.
    ethnicity : numpy.ndarray
        Float array ``(n_lsoa, 20)``: share of the LSOA's children in each DfE ethnic code, in
        :data:`cwi.schemas.ETHNIC_CODES` order (REFU and NOBT are 0: the census has no such
        category). Rows sum to 1. Assumed the same at every age and for both sexes.
    lsoa_polygons : list of shapely geometries, optional
        LSOA polygons in EPSG:4326, aligned with ``lsoas``; ``None`` to skip boundary files.
    la_polygons : list of shapely geometries, optional
        LA polygons in EPSG:4326, aligned with ``las``.
    n_national : int
        Number of LSOAs ranks are out of (32,844 for IoD2019, or the LSOA count in national
        mode). Decile = ceil(10 * rank / n_national).
    synthetic : bool
        ``True`` for the fictional region (codes with an X prefix), ``False`` for real geography.
    """

    region_code: str
    region_name: str
    las: pd.DataFrame
    lsoas: pd.DataFrame
    population: dict[int, np.ndarray]
    ethnicity: np.ndarray
    lsoa_polygons: list | None = None
    la_polygons: list | None = None
    n_national: int = N_NATIONAL_LSOA
    synthetic: bool = True
    extra: dict = field(default_factory=dict)

    def population_for(self, mid_year: int) -> np.ndarray:
        """Return the population of ``mid_year``, or of the nearest mid-year held."""
        if mid_year in self.population:
            return self.population[mid_year]
        nearest = min(self.population, key=lambda y: (abs(y - mid_year), y))
        return self.population[nearest]

    def children(self, mid_year: int) -> np.ndarray:
        """Return children 0-17 by LSOA x age x sex for ``mid_year``, shape (n_lsoa, 18, 2)."""
        return self.population_for(mid_year)[:, :CHILD_AGES, :]


# ---- names -----------------------------------------------------------------------------------


def la_names(n: int) -> list[str]:
    """Return ``n`` distinct fictional LA names, the hand-picked 15 first.

    Parameters
    ----------
    n : int
        Number of names.

    Returns
    -------
    list of str
        Deterministic names (prefix + suffix combinations after the first 15).
    """
    names = list(_FIRST_NAMES)
    for suffix in _SUFFIXES:
        for prefix in _PREFIXES:
            name = prefix + suffix
            if name not in names and not any(name.startswith(f) for f in _FIRST_NAMES):
                names.append(name)
    if n > len(names):
        raise ValueError(f"At most {len(names)} fictional LA names are available; asked for {n}.")
    return names[:n]


# ---- layout ----------------------------------------------------------------------------------


def _region_polygon(rng: np.random.Generator, cx: float, cy: float, radius: float):
    angles = np.linspace(0.0, 2 * np.pi, 48, endpoint=False)
    r = radius * (
        1.0 + 0.08 * np.sin(3 * angles + rng.uniform(0, 6.28)) + 0.04 * rng.standard_normal(48)
    )
    return shapely.Polygon(np.column_stack([cx + r * np.cos(angles), cy + r * np.sin(angles)]))


def _voronoi_cells(points: np.ndarray, clip) -> np.ndarray:
    """Voronoi cells of ``points`` (in input order) clipped to ``clip``."""
    if len(points) == 1:
        return np.array([clip], dtype=object)
    cells = shapely.voronoi_polygons(
        shapely.MultiPoint(points), extend_to=clip.envelope.buffer(1000.0), ordered=True
    )
    parts = np.array(list(cells.geoms), dtype=object)
    return shapely.intersection(parts, clip)


def _points_in(rng: np.random.Generator, poly, n: int, centre, spread: float) -> np.ndarray:
    """Sample ``n`` points inside ``poly``: a mix of a Gaussian around ``centre`` and uniform."""
    minx, miny, maxx, maxy = poly.bounds
    out: list[np.ndarray] = []
    got = 0
    while got < n:
        m = max(4 * (n - got), 64)
        gauss = rng.random(m) < 0.6
        x = np.where(
            gauss, centre[0] + spread * rng.standard_normal(m), rng.uniform(minx, maxx, m)
        )
        y = np.where(
            gauss, centre[1] + spread * rng.standard_normal(m), rng.uniform(miny, maxy, m)
        )
        ok = shapely.contains_xy(poly, x, y)
        pts = np.column_stack([x[ok], y[ok]])
        out.append(pts)
        got += len(pts)
    pts = np.concatenate(out)[:n]
    # drop exact duplicates deterministically by a tiny jitter (never happens in practice)
    return pts


def _to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tr = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def _poly_to_lonlat(geoms: np.ndarray, tolerance: float) -> list:
    geoms = shapely.simplify(geoms, tolerance)
    tr = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)

    def f(coords: np.ndarray) -> np.ndarray:
        lon, lat = tr.transform(coords[:, 0], coords[:, 1])
        return np.round(np.column_stack([lon, lat]), 5)

    return list(shapely.transform(geoms, f))


# ---- deprivation -----------------------------------------------------------------------------


def imd_from_position(q: np.ndarray) -> np.ndarray:
    """Map a national fractional position (0 = most deprived) to an IMD-like score.

    A lognormal quantile function with median 17.2 and 90th percentile 45, close to the
    IoD2019 score distribution (assumption: IoD2019 File 7 scores, not in the shared data).
    """
    return np.exp(np.log(17.2) + 0.75 * norm.ppf(1.0 - np.clip(q, 1e-6, 1 - 1e-6)))


def _ranks_deciles(z: np.ndarray, national: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """National rank (1 = most deprived) and decile from a latent deprivation ``z``."""
    if national:
        n_nat = len(z)
        order = np.argsort(-z, kind="stable")
        rank = np.empty(len(z), dtype=np.int64)
        rank[order] = np.arange(1, len(z) + 1)
    else:
        n_nat = N_NATIONAL_LSOA
        q = 1.0 - norm.cdf(z)
        rank = np.floor(q * n_nat).astype(np.int64) + 1
        order = np.argsort(rank, kind="stable")
        r = rank[order]
        r = np.maximum.accumulate(r - np.arange(len(r))) + np.arange(len(r))  # strictly increasing
        r = np.minimum(r, n_nat)
        rank[order] = r
    decile = np.minimum(np.ceil(10 * rank / n_nat).astype(np.int64), 10)
    return rank, decile, n_nat


# ---- populations -----------------------------------------------------------------------------


def _age_profile() -> np.ndarray:
    ages = np.arange(N_AGES, dtype=float)
    child = np.where(ages < 18, 1.0 - 0.006 * (9 - ages) ** 2 / 9, 0.0)
    adult = np.where(
        (ages >= 18) & (ages < 90),
        1.05 * np.exp(-0.5 * ((ages - 40) / 28) ** 2) + 0.15 * (ages < 65),
        0.0,
    )
    adult[90] = 0.9
    return child, adult


def synth_population(
    rng: np.random.Generator, children_total: np.ndarray, adult_ratio: np.ndarray, mid_years
) -> dict[int, np.ndarray]:
    """Draw a population by LSOA x age x sex for the first mid-year, then age it forward.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    children_total : numpy.ndarray
        Expected children 0-17 per LSOA.
    adult_ratio : numpy.ndarray
        Expected adults (18+) per child, per LSOA.
    mid_years : iterable of int
        Mid-years wanted (consecutive or not; later years are aged forward from the first).

    Returns
    -------
    dict[int, numpy.ndarray]
        Int arrays ``(n_lsoa, 91, 2)`` keyed by mid-year.
    """
    child, adult = _age_profile()
    child = child / child.sum()
    adult = adult / adult.sum()
    n = len(children_total)
    sex = np.array([0.512, 0.488])
    lam = (
        children_total[:, None] * child[None, :]
        + (children_total * adult_ratio)[:, None] * adult[None, :]
    )
    lam = lam[:, :, None] * sex[None, None, :]
    years = sorted(set(mid_years))
    pop = rng.poisson(lam).astype(np.int32)
    out = {years[0]: pop}
    for y in range(years[0] + 1, years[-1] + 1):
        new = np.empty_like(pop)
        new[:, 1:, :] = rng.binomial(pop[:, :-1, :], 0.985) + rng.poisson(pop[:, :-1, :] * 0.014)
        new[:, 90, :] += rng.binomial(pop[:, 90, :], 0.82)
        new[:, 0, :] = rng.poisson(pop[:, 0, :] * 0.985)
        pop = new.astype(np.int32)
        if y in years:
            out[y] = pop
    assert n == pop.shape[0]
    return out


def synth_ethnicity(rng: np.random.Generator, urban: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Ethnic mix of each LSOA's children (20 DfE codes); minorities urban and deprived.

    Assumption, documented in data/README.md: the minority share follows a logistic function of
    urbanity and deprivation with LSOA noise; Asian and Black children cluster by LSOA.
    """
    n = len(urban)
    minority = expit(-2.6 + 2.6 * urban + 0.55 * z + 0.5 * rng.standard_normal(n))
    w = {
        "WhiteOther": 0.14 * np.exp(0.3 * rng.standard_normal(n)),
        "Mixed": 0.19 * np.exp(0.3 * rng.standard_normal(n)),
        "Asian": 0.42 * np.exp(0.9 * rng.standard_normal(n) + 0.4 * urban),
        "Black": 0.17 * np.exp(0.9 * rng.standard_normal(n) + 0.3 * urban),
        "Other": 0.08 * np.exp(0.3 * rng.standard_normal(n)),
    }
    total = sum(w.values())
    shares = np.zeros((n, len(ETHNIC_LIST)))
    shares[:, ETHNIC_LIST.index("WBRI")] = 1.0 - minority
    for group, codes in _CODE_SHARES.items():
        g = minority * w[group] / total
        for code, s in codes.items():
            shares[:, ETHNIC_LIST.index(code)] = g * s
    return shares / shares.sum(axis=1, keepdims=True)


# ---- the region ------------------------------------------------------------------------------


def synthesize_geography(
    rng: np.random.Generator,
    n_las: int = 15,
    national: bool = False,
    mid_years=(2020, 2021, 2022),
    boundaries: bool = True,
) -> Geography:
    """Lay out a fictional region (or country) of LAs and LSOAs with deprivation and people.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source (``Generator(PCG64(seed))``).
    n_las : int
        Number of LAs (ignored when ``national``: 153).
    national : bool
        National scale: 153 LAs, about 33,000 LSOAs, ranks and deciles among the generated LSOAs.
    mid_years : iterable of int
        Mid-years of population wanted.
    boundaries : bool
        Build polygons (skipped automatically in national mode for speed).

    Returns
    -------
    Geography
        The synthetic geography.
    """
    if national:
        n_las = 153
    if n_las < 1:
        raise ValueError("n_las must be at least 1.")
    n_lsoa_total = 33_000 if national else round(3500 * n_las / 15)
    radius = 60_000.0 * np.sqrt(n_lsoa_total / 3500)
    cx, cy = (800_000.0, 700_000.0) if national else (700_000.0, 460_000.0)
    region = _region_polygon(rng, cx, cy, radius)

    # LA types: first third urban (central, deprived), then mixed, then shire (outer, affluent)
    kind = np.array(["urban", "mixed", "shire"])[np.minimum(3 * np.arange(n_las) // n_las, 2)]
    ring = {"urban": (0.0, 0.38), "mixed": (0.38, 0.68), "shire": (0.68, 0.95)}
    seeds = np.empty((n_las, 2))
    for i, k in enumerate(kind):
        lo, hi = ring[k]
        while True:
            r = radius * np.sqrt(rng.uniform(lo**2, hi**2))
            a = rng.uniform(0, 2 * np.pi)
            p = (cx + r * np.cos(a), cy + r * np.sin(a))
            if shapely.contains_xy(region, *p):
                break
        seeds[i] = p
    la_cells = _voronoi_cells(seeds, region)

    # LA mean deprivation (latent z, national N(0,1)) and size
    if national:
        m = np.sort(rng.normal(0.0, 0.55, n_las))[::-1]
    else:
        spans = {"urban": (1.2, 0.7), "mixed": (0.3, -0.1), "shire": (-0.3, -0.7)}
        m = np.empty(n_las)
        for k, (hi, lo) in spans.items():
            idx = np.flatnonzero(kind == k)
            m[idx] = np.linspace(hi, lo, len(idx)) if len(idx) > 1 else (hi + lo) / 2
    size_w = np.select([kind == "urban", kind == "mixed"], [1.25, 0.75], 1.0)
    size_w = size_w * np.exp(0.3 * rng.standard_normal(n_las))
    if not national and n_las >= 3:
        size_w[0] *= 2.0  # one big city
    n_lsoa = np.maximum(np.round(n_lsoa_total * size_w / size_w.sum()).astype(int), 12)
    urban_la = np.select([kind == "urban", kind == "mixed"], [0.85, 0.45], 0.12)

    codes = [f"X06{i + 1:06d}" for i in range(n_las)]
    names = la_names(n_las)
    rows = []
    pts_all, cells_all = [], []
    for j in range(n_las):
        cell = la_cells[j]
        c = shapely.get_coordinates(shapely.point_on_surface(cell))[0]
        spread = np.sqrt(cell.area) * (0.18 if kind[j] == "urban" else 0.35)
        pts = _points_in(
            rng, cell, n_lsoa[j], seeds[j] if cell.contains(shapely.Point(seeds[j])) else c, spread
        )
        d = np.hypot(pts[:, 0] - seeds[j, 0], pts[:, 1] - seeds[j, 1])
        dn = d / max(d.max(), 1.0)
        z = m[j] + 0.72 * rng.standard_normal(n_lsoa[j])
        if kind[j] == "urban":
            z += 0.45 * (0.5 - dn)
        urban = np.clip(
            urban_la[j] + 0.25 * (0.5 - dn) + 0.08 * rng.standard_normal(n_lsoa[j]), 0, 1
        )
        # order LSOAs spatially (west to east) so names/MSOAs/postcode sectors are contiguous
        order = np.lexsort((pts[:, 1], np.round(pts[:, 0] / 2000)))
        pts, z, urban = pts[order], z[order], urban[order]
        pts_all.append(pts)
        if boundaries and not national:
            cells_all.append(_voronoi_cells(pts, cell))
        for k in range(n_lsoa[j]):
            rows.append((codes[j], names[j], k, z[k], urban[k]))
    lsoas = pd.DataFrame(rows, columns=["la_code", "la_name", "k", "z", "urban"])
    pts = np.concatenate(pts_all)
    n = len(lsoas)
    lsoas["lsoa_code"] = [f"X01{i + 1:06d}" for i in range(n)]
    msoa_k = lsoas["k"] // 5
    lsoas["lsoa_name"] = [
        f"{nm} {mk + 1:03d}{chr(65 + k % 5)}"
        for nm, mk, k in zip(lsoas["la_name"], msoa_k, lsoas["k"], strict=True)
    ]
    msoa_idx = lsoas.groupby(["la_code", msoa_k], sort=False).ngroup().to_numpy()
    lsoas["msoa_code"] = [f"X02{i + 1:06d}" for i in msoa_idx]
    lsoas["msoa_name"] = [
        f"{nm} {mk + 1:03d}" for nm, mk in zip(lsoas["la_name"], msoa_k, strict=True)
    ]
    lsoas["lad_code"] = lsoas["la_code"]
    lsoas["lad_name"] = lsoas["la_name"]
    rank, decile, n_nat = _ranks_deciles(lsoas["z"].to_numpy(), national)
    q = (rank - 0.5) / n_nat
    lsoas["imd_score"] = np.round(imd_from_position(q), 3)
    lsoas["imd_rank"] = rank
    lsoas["imd_decile"] = decile
    lsoas["easting"] = np.round(pts[:, 0]).astype(np.int64)
    lsoas["northing"] = np.round(pts[:, 1]).astype(np.int64)
    lon, lat = _to_lonlat(lsoas["easting"].to_numpy(float), lsoas["northing"].to_numpy(float))
    lsoas["lon"], lsoas["lat"] = np.round(lon, 6), np.round(lat, 6)

    z = lsoas["z"].to_numpy()
    urban = lsoas["urban"].to_numpy()
    children_total = (
        372.0 * np.exp(0.08 * z + 0.22 * rng.standard_normal(n)) / np.exp(0.0242 + 0.032)
    )
    adult_ratio = np.clip(3.3 - 0.35 * z - 0.4 * urban + 0.3 * rng.standard_normal(n), 2.0, 5.0)
    population = synth_population(rng, children_total, adult_ratio, mid_years)
    ethnicity = synth_ethnicity(rng, urban, z)

    las = pd.DataFrame(
        {
            "la_code": codes,
            "la_name": names,
            "la_type": kind,
            "lea": [f"{i + 1:03d}" for i in range(n_las)],
            "csv_903": [(i % 3) != 1 for i in range(n_las)],
        }
    )
    lsoa_polys = la_polys = None
    if boundaries and not national:
        lsoa_polys = _poly_to_lonlat(np.concatenate(cells_all), 40.0)
        la_polys = _poly_to_lonlat(np.asarray(la_cells, dtype=object), 120.0)
    keep = [
        "lsoa_code", "lsoa_name", "msoa_code", "msoa_name", "la_code", "lad_code", "lad_name",
        "imd_score", "imd_rank", "imd_decile", "urban", "easting", "northing", "lon", "lat",
    ]  # fmt: skip
    geo = Geography(
        region_code="X12000001",
        region_name="Demo region" if not national else "Demo nation",
        las=las,
        lsoas=lsoas[keep].reset_index(drop=True),
        population=population,
        ethnicity=ethnicity,
        lsoa_polygons=lsoa_polys,
        la_polygons=la_polys,
        n_national=n_nat,
        synthetic=True,
        extra={"la_mean_z": dict(zip(codes, np.round(m, 4).tolist(), strict=True))},
    )
    return geo
