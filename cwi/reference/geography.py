"""``real_geography(settings)``: the demo generator's :class:`cwi.demo.Geography` on real LSOAs.

Real-data mode places **synthetic** children on the **real** West Midlands geography: the 3,487
LSOA 2011s, their 14 children's-services LAs (districts of Staffordshire, Warwickshire and
Worcestershire aggregated to the county councils), real IMD ranks and deciles, real ONS
single-year-of-age populations and real boundaries. Two inputs have no real LSOA source and are
assumptions, recorded in ``Geography.extra["notes"]``:

* sex: ONS LSOA estimates are persons only; each age is split 51.2% male / 48.8% female for ages
  0-17 (the sex ratio at birth, 105 : 100) and 49% / 51% for adults;
* ethnicity: the children's ethnic mix is drawn with the demo generator's
  :func:`cwi.demo.geography.synth_ethnicity` from real deprivation and an urbanity index equal to
  the LSOA's percentile of population density (people per km2 of its boundary).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cwi.reference.errors import ReferenceDataError
from cwi.reference.load import _Finder, _load_real, _Recorder, real_lsoa_la
from cwi.reference.lookups import read_lsoa_ltla
from cwi.reference.population import read_population_wide, year_from_name

if TYPE_CHECKING:
    from cwi.config import Settings

MALE_SHARE_CHILD = 105 / 205
MALE_SHARE_ADULT = 0.49


def _la_type(code: str) -> str:
    return {"E08": "urban", "E09": "urban", "E06": "mixed", "E10": "shire"}.get(code[:3], "mixed")


def _population_arrays(
    finder: _Finder, codes: list[str]
) -> tuple[dict[int, np.ndarray], list[str]]:
    """Mid-year -> (n_lsoa, 91, 2) int arrays from the persons estimates, split by sex."""
    out: dict[int, np.ndarray] = {}
    index = pd.Index(codes)
    for _name, path in finder.role("population"):
        year = year_from_name(path)
        if year is None:
            continue
        wide = read_population_wide(path, index, all_ages=True).reindex(index)
        persons = wide.fillna(0).to_numpy(dtype=np.int64)
        share = np.where(np.arange(91) < 18, MALE_SHARE_CHILD, MALE_SHARE_ADULT)
        males = np.round(persons * share[None, :]).astype(np.int64)
        out[year] = np.stack([males, persons - males], axis=2).astype(np.int32)
    if not out:
        finder.get("population_mid2020")  # raises the clear missing-file error
    notes = [
        "Real geography: ONS LSOA populations are persons only; split by sex with an assumed "
        "51.2% male share for ages 0-17 (49% for adults)."
    ]
    return out, notes


def real_geography(settings: Settings) -> Any:
    """Build a :class:`cwi.demo.Geography` from the real reference files.

    Parameters
    ----------
    settings : Settings
        Project settings; files are found as in :mod:`cwi.reference.sources` (e.g. set
        ``data.reference_dir`` to ``../shared/data/public``). Region: ``data.region_code``
        (default West Midlands).

    Returns
    -------
    cwi.demo.Geography
        ``synthetic=False``; ``extra`` holds ``notes`` (approximations) and ``sources``
        (manifest entries of the files read).

    Raises
    ------
    ReferenceDataError
        If a needed reference file is missing or corrupted.
    """
    try:
        from cwi.demo.geography import Geography, synth_ethnicity
    except ImportError as exc:  # pragma: no cover - depends on the demo package
        raise ReferenceDataError(None, "cannot be placed on real geography: cwi.demo.Geography "
                                 "is not available", "Install the complete cwi package.") from exc  # fmt: skip
    from scipy.stats import norm

    ref = _load_real(settings)
    finder = _Finder(settings)
    geo = real_lsoa_la(settings, finder, _Recorder())
    wanted = settings.real_la_list
    if wanted:
        unknown = sorted(set(wanted) - set(ref.la["la_code"]))
        if unknown:
            raise ReferenceDataError(
                None, f"have no LA {unknown} in region {geo['region_code'].iloc[0]}",
                "Set data.real_la_list to LA codes of data.region_code (or null).",
            )  # fmt: skip
        geo = geo[geo["la_code"].isin(wanted)].reset_index(drop=True)
        ref.la = ref.la[ref.la["la_code"].isin(wanted)].reset_index(drop=True)
    lsoas = geo.merge(
        ref.lsoa[["lsoa_code", "imd_score", "imd_rank", "imd_decile"]], on="lsoa_code"
    )
    lsoas = lsoas.sort_values(["la_code", "lsoa_code"]).reset_index(drop=True)
    notes = list(ref.notes)
    # MSOAs from the ONS OA-LSOA-MSOA lookup where present
    oac = finder.get("lookup_oa11_lsoa11_lad17", required=False)
    lsoas["msoa_code"], lsoas["msoa_name"] = "", ""
    if oac is not None:
        import pandas as _pd

        from cwi.reference._io import read_csv

        raw = read_csv(
            oac, "OA to LSOA to MSOA lookup", usecols=["LSOA11CD", "MSOA11CD", "MSOA11NM"]
        )
        msoa = raw.drop_duplicates("LSOA11CD").set_index("LSOA11CD")
        lsoas["msoa_code"] = lsoas["lsoa_code"].map(msoa["MSOA11CD"]).fillna("")
        lsoas["msoa_name"] = lsoas["lsoa_code"].map(msoa["MSOA11NM"]).fillna("")
        del _pd
    lsoas["lad_code"], lsoas["lad_name"] = lsoas["ltla_code"], lsoas["ltla_name"]
    codes = lsoas["lsoa_code"].tolist()
    population, pop_notes = _population_arrays(finder, codes)
    notes += pop_notes

    lsoa_polys = la_polys = None
    if ref.boundaries is not None:
        import shapely

        from cwi.reference.boundaries import read_boundaries

        bnd = read_boundaries(ref.boundaries, codes).set_index("lsoa_code").reindex(codes)
        if bnd.geometry.isna().any():
            raise ReferenceDataError(
                ref.boundaries, f"lacks {int(bnd.geometry.isna().sum())} of the region's LSOAs"
            )
        import geopandas as gpd

        gdf = gpd.GeoDataFrame(bnd, geometry="geometry", crs=4326)
        pts = gdf.geometry.representative_point()
        bng = gpd.GeoSeries(pts, crs=4326).to_crs(27700)
        lsoas["easting"] = np.round(bng.x.to_numpy()).astype(np.int64)
        lsoas["northing"] = np.round(bng.y.to_numpy()).astype(np.int64)
        lsoas["lon"], lsoas["lat"] = np.round(pts.x.to_numpy(), 6), np.round(pts.y.to_numpy(), 6)
        area_km2 = gdf.to_crs(27700).area.to_numpy() / 1e6
        lsoa_polys = list(gdf.geometry)
        la_polys = [shapely.union_all(gdf.geometry[(lsoas["la_code"] == la).to_numpy()].to_numpy())
                    for la in ref.la["la_code"]]  # fmt: skip
    else:
        lsoas["easting"] = lsoas["northing"] = 0
        lsoas["lon"] = lsoas["lat"] = np.nan
        area_km2 = np.ones(len(lsoas))
        notes.append(
            "Real geography: no boundary file; LSOA points are blank and maps are skipped."
        )
    latest = population[max(population)]
    density = latest.sum(axis=(1, 2)) / np.maximum(area_km2, 1e-3)
    lsoas["urban"] = np.round(pd.Series(density).rank(pct=True).to_numpy(), 4)
    n_nat = int(ref.lsoa["imd_rank"].max()) if settings.imd_vintage != "2025" else 33_755
    n_nat = max(n_nat, 32_844)
    z = norm.ppf(1.0 - (lsoas["imd_rank"].to_numpy(float) - 0.5) / n_nat)
    rng = np.random.default_rng(settings.demo.seed)
    ethnicity = synth_ethnicity(rng, lsoas["urban"].to_numpy(), z)
    notes.append(
        "Real geography: children's ethnic mix is synthetic (no LSOA source), drawn from real "
        "deprivation and population density."
    )
    lea = _dfe_lea_numbers(finder)
    las = ref.la[["la_code", "la_name"]].copy()
    las["la_type"] = las["la_code"].map(_la_type)
    las["lea"] = las["la_code"].map(lea).fillna("").astype(str)
    las["csv_903"] = [(i % 3) != 1 for i in range(len(las))]
    keep = [
        "lsoa_code", "lsoa_name", "msoa_code", "msoa_name", "la_code", "lad_code", "lad_name",
        "imd_score", "imd_rank", "imd_decile", "urban", "easting", "northing", "lon", "lat",
    ]  # fmt: skip
    region_name = str(ref.la["region_name"].iloc[0])
    return Geography(
        region_code=str(geo["region_code"].iloc[0]),
        region_name=region_name,
        las=las.reset_index(drop=True),
        lsoas=lsoas[keep],
        population=population,
        ethnicity=ethnicity,
        lsoa_polygons=lsoa_polys,
        la_polygons=la_polys,
        n_national=n_nat,
        synthetic=False,
        extra={"notes": notes, "sources": ref.sources, "imd_vintage": ref.imd_vintage},
    )


def _dfe_lea_numbers(finder: _Finder) -> dict[str, str]:
    """3-digit DfE LA numbers by LA code, from the DfE CLA table (``old_la_code``)."""
    path = finder.get("dfe_cla", required=False)
    if path is None:
        return {}
    from cwi.reference._io import read_csv

    raw = read_csv(path, "DfE children looked after table", usecols=["old_la_code", "new_la_code"])
    raw = raw[(raw["old_la_code"] != "") & (raw["new_la_code"] != "")]
    return dict(zip(raw["new_la_code"], raw["old_la_code"].str.zfill(3), strict=True))


__all__ = ["read_lsoa_ltla", "real_geography"]
