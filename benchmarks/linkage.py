"""Benchmark of postcode normalisation and linkage at national scale (for ``cwi bench``)."""

from __future__ import annotations

import resource
import string
import time

import numpy as np
import pandas as pd

from cwi.ingest.postcode import PostcodeIndex, link


def _synthetic_directory(n: int, rng: np.random.Generator) -> pd.DataFrame:
    letters = np.array(list(string.ascii_uppercase))
    inward_letters = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
    area = pd.Series(letters[rng.integers(0, 26, n)]) + pd.Series(letters[rng.integers(0, 26, n)])
    district = pd.Series(rng.integers(1, 100, n).astype(str))
    sector = pd.Series(rng.integers(0, 10, n).astype(str))
    unit = pd.Series(inward_letters[rng.integers(0, 20, n)]) + pd.Series(
        inward_letters[rng.integers(0, 20, n)]
    )
    pcds = (area + district + " " + sector + unit).drop_duplicates().reset_index(drop=True)
    m = len(pcds)
    lsoa = pd.Series(rng.integers(1, 35_000, m)).map("E01{:06d}".format)
    return pd.DataFrame(
        {
            "pcd_key": pcds.str.replace(" ", "", regex=False),
            "pcds": pcds,
            "lsoa_code": lsoa,
            "lsoa_edition": "2011",
            "ctry": "E92000001",
            "laua": "E06000001",
            "doterm": np.where(rng.random(m) < 0.1, "202001", ""),
            "cty": "E99999999",
        }
    )


def bench_linkage(
    n_records: int = 1_000_000, n_postcodes: int = 2_700_000, seed: int = 1
) -> dict[str, float]:
    """Time postcode normalisation + linkage of synthetic records against a synthetic directory.

    Parameters
    ----------
    n_records : int
        Records to link (mixed formatting, 5% partial / invalid / blank).
    n_postcodes : int
        Rows of the synthetic postcode directory (about 2.7 million in the real NSPL).
    seed : int
        Random seed.

    Returns
    -------
    dict
        ``n_records``, ``n_postcodes``, ``build_s`` (directory + index), ``link_s`` (normalise +
        link), ``max_rss_mb`` (process peak resident set size, directory included) and
        ``linked_share``.
    """
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    directory = _synthetic_directory(n_postcodes, rng)
    index = PostcodeIndex(directory)
    build_s = time.perf_counter() - t0
    picks = directory["pcds"].to_numpy(dtype=object)[rng.integers(0, len(directory), n_records)]
    values = pd.Series(picks, dtype=object)
    r = rng.random(n_records)
    values[r < 0.10] = values[r < 0.10].str.lower()
    values[(r >= 0.10) & (r < 0.15)] = values[(r >= 0.10) & (r < 0.15)].str.replace(
        " ", "", regex=False
    )
    values[(r >= 0.15) & (r < 0.17)] = values[(r >= 0.15) & (r < 0.17)].str[:-2]
    values[(r >= 0.17) & (r < 0.18)] = ""
    del picks
    t1 = time.perf_counter()
    out = link(values, index, "E06000001")
    link_s = time.perf_counter() - t1
    return {
        "n_records": float(n_records),
        "n_postcodes": float(len(directory)),
        "build_s": round(build_s, 2),
        "link_s": round(link_s, 2),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "linked_share": round(float(out["lsoa_code"].notna().mean()), 3),
    }
