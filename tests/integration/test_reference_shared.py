"""Every real file in ../shared/data/public through the reference readers, checked against known facts."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from cwi.config import SHARED_PUBLIC, load_settings
from cwi.reference import ReferenceDataError, align_imd_to_edition, load_reference, read_imd
from cwi.reference.boundaries import read_boundaries
from cwi.reference.dfe import read_dfe_tables
from cwi.reference.fetch import check, fetch
from cwi.reference.lookups import WEST_MIDLANDS_LAS, read_lsoa_lookup
from cwi.reference.population import read_population_sya
from cwi.reference.postcodes import read_postcode_directory
from cwi.reference.sources import load_sources

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(
        not SHARED_PUBLIC.is_dir(), reason=f"shared public data not found at {SHARED_PUBLIC}"
    ),
]
P = SHARED_PUBLIC


@pytest.fixture(scope="module")
def file1():
    """IoD2019 File 1 (xlsx, ~5 s with openpyxl read-only): read once."""
    return read_imd(P / "imd2019" / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.xlsx")


@pytest.fixture(scope="module")
def real_settings(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return load_settings().with_overrides(
        data={"source": "real-geography", "reference_dir": str(P), "reference_cache": str(cache)},
        release={"imd_vintage": "2019", "years": [2021, 2022, 2023], "lsoa_edition": "2011"},
    )


@pytest.fixture(scope="module")
def real_ref(real_settings):
    return load_reference(real_settings)


def test_iod2019_file1_facts(file1):
    assert len(file1) == 32_844
    sizes = file1["imd_decile"].value_counts()
    assert sizes.min() == 3_284 and sizes.max() == 3_285 and len(sizes) == 10
    row = file1.set_index("lsoa_code").loc["E01008881"]
    assert (
        row["imd_decile"] == 2
        and row["imd_rank"] == 3924
        and row["lsoa_name"] == "Birmingham 067A"
    )
    assert file1["imd_score"].isna().all()  # File 1 has no score
    assert (file1["vintage"] == "2019").all() and (file1["lsoa_edition"] == "2011").all()


def test_iod2019_file2_ranks_equal_file1(file1):
    # File 3 (xlsx, same IMD columns) reads through the same path as File 1; it is left out here
    # to keep the run short (openpyxl needs ~4 s for it).
    f2 = read_imd(P / "imd2019" / "File_2_-_IoD2019_Domains_of_Deprivation.csv.gz")
    base = file1.set_index("lsoa_code")
    got = f2.set_index("lsoa_code").loc[base.index]
    assert (got["imd_rank"] == base["imd_rank"]).all()
    assert (got["imd_decile"] == base["imd_decile"]).all()


def test_imd2010_and_iod2025_facts():
    i10 = read_imd(P / "imd2010" / "imd2010_england_lsoa01.csv")
    assert len(i10) == 32_482 and (i10["lsoa_edition"] == "2001").all()
    assert i10.set_index("lsoa_code").loc["E01008881", "imd_score"] == pytest.approx(37.4)
    assert i10["imd_decile"].value_counts().agg(["min", "max"]).tolist() == [3_248, 3_249]
    i25 = read_imd(P / "iod2025" / "imd2025_england_lsoa21.csv")
    assert len(i25) == 33_755 and (i25["lsoa_edition"] == "2021").all()
    assert i25["imd_score"].median() == pytest.approx(17.45, abs=0.01)
    assert i25["imd_decile"].value_counts().agg(["min", "max"]).tolist() == [3_375, 3_376]


def test_imd_bridges_between_editions():
    i25 = read_imd(P / "iod2025" / "imd2025_england_lsoa21.csv")
    lk = read_lsoa_lookup(P / "lookups" / "lookup_lsoa11_lsoa21_ltla22.csv")
    on11, notes = align_imd_to_edition(i25, "2011", lk)
    assert len(on11) == 32_844 and (on11["lsoa_edition"] == "2011").all()
    assert notes and "approximate" in notes[0]
    i10 = read_imd(P / "imd2010" / "imd2010_england_lsoa01.csv")
    lk01 = read_lsoa_lookup(P / "lookups" / "lookup_lsoa01_lsoa11.csv")
    i10_11, _ = align_imd_to_edition(i10, "2011", lk01)
    assert i10_11["lsoa_code"].nunique() >= 32_800
    with pytest.raises(ReferenceDataError, match="do not match"):
        align_imd_to_edition(i25, "2011", lk, bridge=False)


def test_population_mid2019_and_mid2020_read():
    for name, total in (("population19", None), ("population20", 12_723_160)):
        pop = read_population_sya(P / "population" / f"{name}_lsoa11_single_year_of_age.csv.gz")
        assert pop["lsoa_code"].nunique() == 34_753 and set(pop["sex"]) == {"P"}
        if total:
            assert pop["population"].sum() == total


def test_real_geography_reference_facts(real_ref):
    assert len(real_ref.lsoa) == 3_487
    assert (
        dict(zip(real_ref.la["la_code"], real_ref.la["la_name"], strict=True)) == WEST_MIDLANDS_LAS
    )
    assert real_ref.la["region_name"].eq("West Midlands").all()
    by_year = real_ref.population.groupby("year")["population"].sum()
    assert by_year.loc[2021] == 1_306_330  # mid-2020 children 0-17 in the West Midlands
    assert set(by_year) == {1_306_330}  # 2022/2023 reuse mid-2020 ...
    assert sum("mid-2020 estimates used" in n for n in real_ref.notes) == 2  # ... and say so
    assert any("scores are missing" in n for n in real_ref.notes)
    assert real_ref.lsoa.set_index("lsoa_code").loc["E01008881", "imd_decile"] == 2
    assert real_ref.population_ethnicity.empty
    assert not real_ref.postcodes.empty and real_ref.boundaries is not None
    names = {s["name"] for s in real_ref.sources}
    assert {"imd2019", "population_mid2020_P", "dfe_cla", "nspl_nov2021_tf"} <= names


def test_boundaries_and_postcodes_read(real_ref):
    wm = read_boundaries(P / "boundaries" / "LSOA_Dec_2011_BSC_EW_V3_WestMidlands.geojson")
    assert len(wm) == 3_487 and set(wm["lsoa_code"]) == set(real_ref.lsoa["lsoa_code"])
    ew = read_boundaries(P / "boundaries" / "LSOA_Dec_2011_BSC_EW_V3.geojson.gz", wm["lsoa_code"])
    assert len(ew) == 3_487 and ew.crs.to_epsg() == 4326
    tf = read_postcode_directory(P / "postcode" / "NSPL_NOV_2021_UK_TF.csv")
    hr = read_postcode_directory(P / "postcode" / "NSPL_NOV_2021_UK_HR.csv")
    assert len(tf) == 9_342 and len(hr) == 7_986


def test_dfe_rates_recomputed_from_counts_and_populations():
    d = read_dfe_tables(
        P / "dfe_csc" / "cla_number_and_rate_per_10k_children.csv",
        P / "dfe_csc" / "b1_children_in_need_2013_to_2024.csv",
        P / "dfe_csc" / "d5_cpps_at31march_by_duration_2013_to_2024.csv",
    )
    nat = d[(d.geographic_level == "National") & (d.year == 2024) & (d.measure == "CLA")].iloc[0]
    assert nat["number"] == 83_630 and nat["rate_per_10000"] == 70
    wm = d[(d.geographic_level == "Local authority") & d.la_code.isin(WEST_MIDLANDS_LAS)]
    assert wm["la_code"].nunique() == 14
    for measure, step in (("CLA", 1.0), ("CIN", 0.1)):
        x = d[
            (d.measure == measure)
            & d.number.notna()
            & d.population.notna()
            & d.rate_per_10000.notna()
        ]
        assert len(x) > 700
        recomputed = x["number"] / x["population"] * 10_000
        # LA counts are exact; national and regional counts are rounded to the nearest 10
        slack = np.where(
            x["geographic_level"] == "Local authority", 0, 5 / x["population"] * 10_000
        )
        assert ((recomputed - x["rate_per_10000"]).abs() <= step / 2 + slack + 1e-9).all(), measure
    cpp = d[(d.measure == "CPP") & d.population.notna()]
    assert cpp["rate_per_10000"].notna().sum() > 700  # computed: D5 publishes no rate
    assert set(d["symbol"]) <= {"", "c", "x", "z", "u", "k", "low"}


def test_fetch_from_a_local_mirror_of_shared_files(tmp_path):
    """The real download path: http.server on 127.0.0.1 serves ../shared/data/public."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(P))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        settings = load_settings().with_overrides(
            data={
                "reference_dir": str(tmp_path / "none"),
                "reference_cache": str(tmp_path / "cache"),
            }
        )
        sources = load_sources()
        report = fetch(settings, sources, mirror=base)
        held = [s.name for s in sources if (P / s.file).is_file()]
        assert sorted(report.downloaded) == sorted(held)
        assert not report.failed and report.optional_missing == ["imd2019_file7"]
        assert all(r["status"] == "ok" for r in check(settings, sources) if r["name"] in held)
        # a corrupted copy in the cache is detected by check and replaced by fetch
        victim = next(s for s in sources if s.name == "lookup_ltla21_region21")
        cached = Path(settings.reference_cache) / victim.file
        cached.write_bytes(cached.read_bytes()[:-10] + b"corrupted!")
        status = {r["name"]: r for r in check(settings, sources)}[victim.name]
        assert status["status"] == "corrupted" and "sha256" in status["detail"]
        assert fetch(settings, sources, mirror=base).downloaded == [victim.name]
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_missing_or_corrupted_real_file_gives_one_clear_message(tmp_path, real_settings):
    broken = tmp_path / "ref"
    shutil.copytree(P / "lookups", broken / "lookups")
    settings = real_settings.with_overrides(
        data={"reference_dir": str(broken), "reference_cache": str(tmp_path / "c")}
    )
    with pytest.raises(ReferenceDataError) as exc:
        load_reference(settings)  # IMD files absent
    msg = str(exc.value)
    assert (
        "File_1_-_IMD2019" in msg and "cwi reference fetch" in msg and "cwi reference use" in msg
    )
    (broken / "imd2019").mkdir()
    (broken / "imd2019" / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.xlsx").write_bytes(
        b"PK\x03\x04junk"
    )
    with pytest.raises(ReferenceDataError, match="corrupted") as exc2:
        load_reference(settings)
    assert "File_1_-_IMD2019" in str(exc2.value)


def test_real_geography_for_the_demo_generator(real_settings):
    from cwi.reference import real_geography

    geo = real_geography(real_settings)
    assert geo.synthetic is False and geo.region_code == "E12000005"
    assert geo.las["la_code"].tolist() == sorted(WEST_MIDLANDS_LAS)
    assert set(geo.las["la_type"]) == {"urban", "mixed", "shire"}
    assert geo.las["lea"].str.fullmatch(r"\d{3}").all()
    assert len(geo.lsoas) == 3_487 and geo.lsoas["imd_rank"].notna().all()
    assert geo.population[2020].shape == (3_487, 91, 2)
    assert int(geo.population[2020][:, :18, :].sum()) == 1_306_330
    assert np.allclose(geo.ethnicity.sum(axis=1), 1.0)
    assert len(geo.lsoa_polygons) == 3_487 and len(geo.la_polygons) == 14
    assert geo.lsoas["lat"].between(51.7, 53.3).all()  # inside the West Midlands
    assert any("synthetic" in n for n in geo.extra["notes"])
