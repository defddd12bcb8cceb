"""Synthetic postcodes and a postcode directory in the NSPL column layout.

Every synthetic postcode has an area starting with ``X`` (no real postcode area starts with Q, V
or X), so it can never be mistaken for a real one, yet it has the real shape: outward code (area +
district number) and inward code (sector digit + two unit letters, never C I K M O V).

Each LSOA gets live postcodes and a few terminated ones (``doterm`` set). Units whose first letter
is ``Z`` are never issued: they serve as well-formed but unknown postcodes. A few rows in pseudo
Welsh (area ``XW``) and Scottish (``XS``) geography give non-English postcodes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cwi.demo.geography import Geography

NSPL_COLUMNS: tuple[str, ...] = (
    "pcd", "pcd2", "pcds", "dointr", "doterm", "usertype", "oseast1m", "osnrth1m", "osgrdind",
    "oa11", "cty", "ced", "laua", "ward", "hlthau", "nhser", "ctry", "rgn", "pcon", "eer",
    "teclec", "ttwa", "pct", "itl", "park", "lsoa11", "msoa11", "wz11", "ccg", "bua11",
    "buasd11", "ru11ind", "oac11", "lat", "long", "lep1", "lep2", "pfa", "imd", "calncv", "stp",
)  # fmt: skip

AREAS: tuple[str, ...] = tuple(f"X{c}" for c in "ABCDEFGHJKLMNOPRTUYZ")
UNIT1 = "ABDEFGHJLNPQRSTUWXY"  # first unit letter (Z reserved for unknown postcodes)
UNIT2 = "ABDEFGHJLNPQRSTUWXYZ"
LSOA_PER_SECTOR = 4
PLACEHOLDERS: tuple[str, ...] = ("ZZ99 3CZ", "ZZ99 3WZ")
NFA_VALUES: tuple[str, ...] = ("NFA", "No fixed abode")


def pcd7(outward: str, inward: str) -> str:
    """7-character ``pcd`` form: outward left-aligned in 4, inward right-aligned."""
    return outward.ljust(4)[:4] + inward if len(outward) < 4 else outward + inward


def synthesize_postcodes(
    geo: Geography, rng: np.random.Generator, live: int = 10, terminated: int = 2
) -> pd.DataFrame:
    """Issue postcodes to every LSOA of ``geo``.

    Parameters
    ----------
    geo : Geography
        LSOAs to cover (in order; sectors follow the LSOA order within each LA).
    rng : numpy.random.Generator
        Random source (dates, coordinates).
    live, terminated : int
        Live and terminated postcodes per LSOA.

    Returns
    -------
    pandas.DataFrame
        One row per postcode: ``pcds``, ``outward``, ``inward``, ``lsoa`` (row index into
        ``geo.lsoas``, -1 for non-English rows), ``live`` (bool), ``dointr``, ``doterm``,
        ``easting``, ``northing``, ``lon``, ``lat``, ``ctry``.
    """
    lsoas = geo.lsoas
    la_codes = geo.las["la_code"].tolist()
    per = live + terminated
    outward, inward, lsoa_idx, is_live = [], [], [], []
    district = 0
    for la in la_codes:
        idx = np.flatnonzero(lsoas["la_code"].to_numpy() == la)
        n_sectors = -(-len(idx) // LSOA_PER_SECTOR)
        for s in range(n_sectors):
            d = district + s // 10
            area, num = AREAS[d // 99], d % 99 + 1
            out = f"{area}{num}"
            for k, li in enumerate(idx[s * LSOA_PER_SECTOR : (s + 1) * LSOA_PER_SECTOR]):
                for u in range(per):
                    unit = k * per + u
                    inward.append(f"{s % 10}{UNIT1[unit // 20]}{UNIT2[unit % 20]}")
                    outward.append(out)
                    lsoa_idx.append(li)
                    is_live.append(u < live)
        district += -(-n_sectors // 10)
    if district > 99 * len(AREAS):
        raise ValueError("Too many LSOAs for the synthetic postcode areas.")
    n = len(outward)
    lsoa_arr = np.array(lsoa_idx, dtype=np.int64)
    live_arr = np.array(is_live)
    # points scattered around the LSOA point (inside its cell for all practical purposes)
    e = lsoas["easting"].to_numpy(float)[lsoa_arr] + rng.normal(0, 120, n)
    nn = lsoas["northing"].to_numpy(float)[lsoa_arr] + rng.normal(0, 120, n)
    intro_y = rng.integers(1980, 2019, n)
    intro_m = rng.integers(1, 13, n)
    dointr = np.char.add(intro_y.astype(str), np.char.zfill(intro_m.astype(str), 2))
    term_y = np.minimum(intro_y + rng.integers(2, 30, n), 2021)
    term_m = np.where(term_y == 2021, rng.integers(1, 11, n), rng.integers(1, 13, n))
    doterm = np.where(
        live_arr, "", np.char.add(term_y.astype(str), np.char.zfill(term_m.astype(str), 2))
    )
    df = pd.DataFrame(
        {
            "outward": outward,
            "inward": inward,
            "lsoa": lsoa_arr,
            "live": live_arr,
            "dointr": dointr,
            "doterm": doterm,
            "easting": np.round(e).astype(np.int64),
            "northing": np.round(nn).astype(np.int64),
            "ctry": "E92000001",
        }
    )
    # non-English rows (pseudo Wales and Scotland)
    extra = []
    for area, ctry in (("XW", "W92000004"), ("XS", "S92000003")):
        for k in range(10):
            extra.append(
                {"outward": f"{area}{k + 1}", "inward": f"{k % 10}AB", "lsoa": -1, "live": True,
                 "dointr": "199001", "doterm": "", "easting": 0, "northing": 0, "ctry": ctry}
            )  # fmt: skip
    df = pd.concat([df, pd.DataFrame(extra)], ignore_index=True)
    df["pcds"] = df["outward"] + " " + df["inward"]
    from cwi.demo.geography import _to_lonlat

    lon, lat = _to_lonlat(df["easting"].to_numpy(float), df["northing"].to_numpy(float))
    df["lon"] = np.round(lon, 6)
    df["lat"] = np.round(lat, 6)
    ne = df["lsoa"] < 0
    df.loc[ne, "lon"] = 0.0
    df.loc[ne, "lat"] = 99.999999
    return df


def nspl_frame(geo: Geography, pcs: pd.DataFrame) -> pd.DataFrame:
    """Render the postcode table in the NSPL column layout (all text but lat, long, imd)."""
    lsoas = geo.lsoas
    li = pcs["lsoa"].to_numpy()
    eng = li >= 0
    safe = np.where(eng, li, 0)
    la_pos = lsoas["la_code"].map({c: i for i, c in enumerate(geo.las["la_code"])}).to_numpy()

    def pick(col: str, other: str) -> np.ndarray:
        return np.where(eng, lsoas[col].to_numpy(object)[safe], other)

    ctry = pcs["ctry"].to_numpy(object)
    pseudo = np.where(ctry == "W92000004", "W99999999", "S99999999")
    ru = np.where(lsoas["urban"].to_numpy()[safe] > 0.5, "A1", "D1")
    out = pd.DataFrame(
        {
            "pcd": [pcd7(o, i) for o, i in zip(pcs["outward"], pcs["inward"], strict=True)],
            "pcd2": pcs["outward"].str.ljust(4) + " " + pcs["inward"],
            "pcds": pcs["pcds"],
            "dointr": pcs["dointr"],
            "doterm": pcs["doterm"],
            "usertype": "0",
            "oseast1m": np.where(eng, pcs["easting"].astype(str), ""),
            "osnrth1m": np.where(eng, pcs["northing"].astype(str).str.zfill(7), ""),
            "osgrdind": np.where(eng, "1", "9"),
            "oa11": np.where(eng, [f"X00{5 * s + 1:06d}" for s in safe], ""),
            "cty": np.where(eng, "E99999999", pseudo),
            "ced": np.where(eng, "E99999999", pseudo),
            "laua": np.where(
                eng, lsoas["la_code"].to_numpy(object)[safe],
                np.where(ctry == "W92000004", "W06999999", "S12999999"),
            ),
            "ward": np.where(eng, [f"X05{la_pos[s] + 1:06d}" for s in safe], pseudo),
            "hlthau": np.where(eng, "X18000001", pseudo),
            "nhser": np.where(eng, "X40000001", pseudo),
            "ctry": ctry,
            "rgn": np.where(eng, geo.region_code, pseudo),
            "pcon": np.where(eng, [f"X14{la_pos[s] + 1:06d}" for s in safe], pseudo),
            "eer": np.where(eng, "X15000001", pseudo),
            "teclec": np.where(eng, "X24000001", pseudo),
            "ttwa": np.where(eng, "X30000001", pseudo),
            "pct": np.where(eng, "X16000001", pseudo),
            "itl": np.where(eng, "X06000000", pseudo),
            "park": np.where(eng, "E99999999", pseudo),
            "lsoa11": np.where(
                eng, pick("lsoa_code", ""),
                [f"{c[0]}01999{k:03d}" for c, k in zip(ctry, np.cumsum(~eng), strict=True)],
            ),
            "msoa11": pick("msoa_code", ""),
            "wz11": np.where(eng, "X33000001", pseudo),
            "ccg": np.where(eng, "X38000001", pseudo),
            "bua11": np.where(eng, "X34000001", pseudo),
            "buasd11": np.where(eng, "X35999999", pseudo),
            "ru11ind": np.where(eng, ru, "1"),
            "oac11": np.where(eng, "1A1", ""),
            "lat": pcs["lat"].to_numpy(float),
            "long": pcs["lon"].to_numpy(float),
            "lep1": np.where(eng, "X37000001", ""),
            "lep2": "",
            "pfa": np.where(eng, "X23000001", pseudo),
            "imd": np.where(eng, lsoas["imd_rank"].to_numpy()[safe], 1000).astype(np.int64),
            "calncv": np.where(eng, "X56000001", pseudo),
            "stp": np.where(eng, "X54000001", pseudo),
        }
    )  # fmt: skip
    return out[list(NSPL_COLUMNS)]
