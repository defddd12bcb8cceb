"""Unit tests of the demo generator's building blocks (fast, small regions)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from cwi.demo import generate, generate_on_geography, synthesize_geography
from cwi.demo.geography import la_names
from cwi.demo.model import third_factor
from cwi.demo.postcodes import pcd7
from cwi.demo.records import fmt_dates, reformat


def test_third_factor_recovers_a_known_ratio():
    rng = np.random.default_rng(1)
    decile = np.repeat(np.arange(1, 11), 30)
    third = np.tile(np.repeat([0, 1, 2], 10), 10)
    pop = rng.integers(500, 1500, len(decile)).astype(float)
    rate = np.exp(-0.3 * decile) * np.array([1.0, 1.4, 2.0])[third]
    assert third_factor(pop * rate, pop, decile, third) == pytest.approx(2.0, rel=1e-6)


def test_names_and_postcode_forms():
    names = la_names(153)
    assert len(set(names)) == 153 and names[:2] == ["Brackenford", "Kettleworth"]
    assert pcd7("XA1", "0AB") == "XA1 0AB" and pcd7("XA12", "0AB") == "XA120AB"
    assert reformat("XA1 0AB", "unspaced") == "XA10AB"
    assert reformat("XA1 0AB", "nbsp") == "XA1\u00a00AB"
    assert reformat("XA1 0AB", "lower") == "xa1 0ab"


def test_dates_are_formatted_per_format():
    d = np.array([int(np.datetime64("2023-03-31", "D").astype(np.int64)), -1])
    assert fmt_dates(d, "903").tolist() == ["31/03/2023", ""]
    assert fmt_dates(d, "iso").tolist() == ["2023-03-31", ""]


def test_small_region_is_deterministic_and_seed_sensitive(tmp_path):
    def digest(folder):
        return {
            p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        }

    a = digest(generate(tmp_path / "a", seed=7, n_las=3, years=[2022, 2023]))
    b = digest(generate(tmp_path / "b", seed=7, n_las=3, years=[2022, 2023]))
    c = digest(generate(tmp_path / "c", seed=8, n_las=3, years=[2022, 2023]))
    assert a == b
    assert a != c
    assert "la/X06000002/2023/ssda903.xml" in a and "la/X06000001/2023/ssda903_header.csv" in a


def test_generate_on_a_given_geography_and_2025_sex_codes(tmp_path):
    rng = np.random.Generator(np.random.PCG64(3))
    geo = synthesize_geography(rng, n_las=3, mid_years=[2024], boundaries=False)
    out = generate_on_geography(geo, tmp_path / "g", seed=3, years=[2025])
    xml = (out / "la" / "X06000001" / "2025" / "cin_census.xml").read_text()
    assert "<Sex>" in xml and "<GenderCurrent>" not in xml
    assert not (out / "reference" / "boundaries.geojson").exists()
    pop = pd.read_csv(out / "reference" / "population_mid2024_males.csv")
    assert len(pop) == len(geo.lsoas)


def test_geography_fields():
    geo = synthesize_geography(
        np.random.Generator(np.random.PCG64(5)), n_las=6, mid_years=[2020, 2022]
    )
    lsoas = geo.lsoas
    assert lsoas["lsoa_code"].is_unique and lsoas["imd_rank"].is_unique
    assert lsoas["imd_decile"].between(1, 10).all()
    assert np.allclose(geo.ethnicity.sum(axis=1), 1.0)
    assert geo.population[2022].shape == (len(lsoas), 91, 2)
    assert geo.population_for(2021) is geo.population[2020]
    assert len(geo.lsoa_polygons) == len(lsoas)
    assert all(p.is_valid for p in geo.lsoa_polygons)
