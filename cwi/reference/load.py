"""``load_reference(settings)``: every reference table the build needs, in one object.

Two sources:

``data.source == "demo"``
    Reads ``<data.demo_dir>/reference/`` as written by ``cwi demo``: ``imd.csv`` (IoD2019 File 7
    column names), ``lsoa_lookup.csv`` (``LSOA11CD, LSOA11NM, MSOA11CD, MSOA11NM, LAD17CD, LAD17NM,
    RGN11CD, RGN11NM``), ``la_lookup.csv`` (``la_code, la_name, region_code, region_name``),
    ``population_mid{Y}_{males|females}.csv`` (or persons files), an ethnicity file
    (``*ethnic*.csv``: ``lsoa11_code`` + one column per DfE code), ``nspl.csv`` and
    ``boundaries.geojson``.
``data.source == "real-geography"``
    Reads the real public files named in ``sources.yml`` (found as described in
    :mod:`cwi.reference.sources`) for one region (``data.region_code``, default West Midlands
    ``E12000005``): LSOAs -> children's-services LAs through the 2021 district and upper-tier
    lookups, IMD of ``release.imd_vintage`` (bridged to ``release.lsoa_edition`` if needed), ONS
    single-year-of-age populations, NSPL extracts, boundaries and the DfE LA tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from cwi.reference.dfe import DFE_COLUMNS, read_dfe_tables
from cwi.reference.errors import ReferenceDataError
from cwi.reference.imd import align_imd_to_edition, read_imd
from cwi.reference.lookups import (
    WEST_MIDLANDS_REGION,
    lsoa_to_childrens_la,
    read_lsoa_lookup,
    read_lsoa_ltla,
    read_ltla_region,
    read_ltla_utla,
)
from cwi.reference.population import (
    ETHNICITY_COLUMNS,
    pick_estimate_year,
    read_population_ethnicity,
    read_population_sya,
    year_from_name,
)
from cwi.reference.sources import Source, load_sources, locate, read_local_paths, sha256_of

if TYPE_CHECKING:
    from cwi.config import Settings

LSOA_COLUMNS = (
    "lsoa_code",
    "lsoa_name",
    "la_code",
    "la_name",
    "imd_score",
    "imd_rank",
    "imd_decile",
)
POPULATION_COLUMNS = ("year", "lsoa_code", "age", "sex", "population")
POPULATION_ETHNICITY_COLUMNS = ("year", "lsoa_code", "ethnic_group", "population")
LA_COLUMNS = ("la_code", "la_name", "region_name")


@dataclass
class ReferenceData:
    """All reference tables of one build.

    Attributes
    ----------
    lsoa : pandas.DataFrame
        One row per LSOA of the region: ``lsoa_code, lsoa_name, la_code, la_name, imd_score,
        imd_rank, imd_decile`` (national rank and decile, 1 = most deprived; ``imd_score`` NaN
        where the vintage's file has no score, see ``notes``).
    population : pandas.DataFrame
        ``year, lsoa_code, age, sex, population``: ``year`` is the collection year (31 March),
        using mid-(year-1) estimates; ages 0-17; ``sex`` is ``M``/``F`` where the estimates are
        split by sex, else ``P`` (persons) only.
    population_ethnicity : pandas.DataFrame
        ``year, lsoa_code, ethnic_group, population`` (DfE major groups, ages 0-17); empty when
        there is no source.
    postcodes : pandas.DataFrame
        From :func:`cwi.reference.postcodes.read_postcode_directory` (empty if no file).
    la : pandas.DataFrame
        ``la_code, la_name, region_name``: the children's-services LAs of the region.
    boundaries : Path or None
        LSOA boundary file (read it with :func:`cwi.reference.boundaries.read_boundaries`).
    england : pandas.DataFrame or None
        DfE LA tables (:data:`cwi.reference.dfe.DFE_COLUMNS`), or ``None`` if absent.
    sources : list of dict
        ``name, path, sha256, rows, vintage`` of every file read (for the build manifest).
    notes : list of str
        Approximations made (estimate years substituted, IMD bridged, scores missing...).
    imd_vintage, lsoa_edition : str
        IMD vintage used and the LSOA edition of every table.
    """

    lsoa: pd.DataFrame
    population: pd.DataFrame
    population_ethnicity: pd.DataFrame
    postcodes: pd.DataFrame
    la: pd.DataFrame
    boundaries: Path | None
    england: pd.DataFrame | None
    sources: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    imd_vintage: str = ""
    lsoa_edition: str = "2011"


class _Recorder:
    """Collects the manifest entries of the files read."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(self, name: str, path: Path, rows: int, vintage: str = "") -> None:
        self.entries.append(
            {
                "name": name,
                "path": str(path),
                "sha256": sha256_of(path),
                "rows": int(rows),
                "vintage": vintage,
            }  # fmt: skip
        )


def _empty_ethnicity() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("year", "population") else "object")
                         for c in POPULATION_ETHNICITY_COLUMNS})  # fmt: skip


def _read_postcodes(
    paths: list[Path], rec: _Recorder | None = None, names: list[str] | None = None
) -> pd.DataFrame:
    from cwi.reference.postcodes import read_postcode_directory

    frames = []
    for i, path in enumerate(paths):
        frame = read_postcode_directory(path)
        if rec is not None:
            rec.add(names[i] if names else path.stem, path, len(frame))
        frames.append(frame)
    if not frames:
        return pd.DataFrame(
            columns=["pcd_key", "pcds", "lsoa_code", "lsoa_edition", "ctry", "laua", "doterm"]
        )
    return pd.concat(frames, ignore_index=True).drop_duplicates("pcd_key").reset_index(drop=True)


def _population_for_years(
    files: dict[int, list[Path]], years: list[int], lsoas: set[str] | None, rec: _Recorder
) -> tuple[pd.DataFrame, list[str]]:
    """Assemble the long population frame for collection years from mid-year files."""
    notes: list[str] = []
    cache: dict[int, pd.DataFrame] = {}
    frames = []
    for year in years:
        mid, note = pick_estimate_year(year - 1, sorted(files))
        if note:
            notes.append(f"Collection year {year}: {note[0].lower()}{note[1:]}")
        if mid not in cache:
            parts = []
            for path in files[mid]:
                part = read_population_sya(path, lsoa_codes=lsoas)
                rec.add(f"population_mid{mid}_{part['sex'].iloc[0] if len(part) else 'P'}", path,
                        len(part) // 18, f"mid-{mid}")  # fmt: skip
                parts.append(part)
            frame = pd.concat(parts, ignore_index=True)
            sexes = set(frame["sex"])
            if {"M", "F"} <= sexes and "P" in sexes:
                frame = frame[frame["sex"] != "P"]  # keep the split; persons = M + F
            cache[mid] = frame
        frames.append(cache[mid].assign(year=year))
    out = pd.concat(frames, ignore_index=True)[list(POPULATION_COLUMNS)]
    return out, notes


def load_reference(settings: Settings) -> ReferenceData:
    """Load the reference data for ``settings.data_source`` (see the module docstring).

    Parameters
    ----------
    settings : Settings
        Project settings.

    Returns
    -------
    ReferenceData
        Every reference table, with the manifest entries and notes.

    Raises
    ------
    ReferenceDataError
        If a needed file is missing or unreadable (one message naming it and what to do).
    """
    if settings.data_source == "demo":
        return _load_demo(settings)
    if settings.data_source in ("real-geography", "extracts"):
        return _load_real(settings)
    raise ReferenceDataError(
        None, f"cannot be loaded for data.source = {settings.data_source!r}",
        "Set data.source to demo, real-geography or extracts in settings.yml.",
    )  # fmt: skip


# ---- demo ---------------------------------------------------------------------------------


def _load_demo(settings: Settings) -> ReferenceData:
    folder = Path(settings.demo_dir) / "reference"
    if not folder.is_dir():
        raise ReferenceDataError(
            folder, "(the demo reference folder) is missing",
            "Run `cwi demo` (or `cwi build`, which generates the demo region first).",
        )  # fmt: skip
    rec = _Recorder()
    notes: list[str] = []
    vintage = settings.imd_vintage
    imd = read_imd(folder / "imd.csv", vintage=vintage)
    rec.add("imd", folder / "imd.csv", len(imd), vintage)
    lk = read_lsoa_ltla(folder / "lsoa_lookup.csv")
    rec.add("lsoa_lookup", folder / "lsoa_lookup.csv", len(lk))
    la_path = folder / "la_lookup.csv"
    from cwi.reference._io import read_csv

    la_raw = read_csv(la_path, "demo LA lookup")
    rec.add("la_lookup", la_path, len(la_raw))
    la = la_raw[list(LA_COLUMNS)].drop_duplicates("la_code").reset_index(drop=True)
    lsoa = lk.rename(columns={"ltla_code": "la_code"})[["lsoa_code", "lsoa_name", "la_code"]]
    lsoa = lsoa.merge(la[["la_code", "la_name"]], on="la_code", how="left")
    lsoa = lsoa.merge(
        imd[["lsoa_code", "imd_score", "imd_rank", "imd_decile"]], on="lsoa_code", how="left"
    )
    _require_imd_cover(lsoa, folder / "imd.csv")
    files: dict[int, list[Path]] = {}
    for path in sorted(folder.glob("population_mid*.csv*")):
        year = year_from_name(path)
        if year is not None:
            files.setdefault(year, []).append(path)
    if not files:
        raise ReferenceDataError(folder / "population_mid{YEAR}_{males|females}.csv", "is missing",
                                 "Re-generate the demo region with `cwi demo`.")  # fmt: skip
    population, pop_notes = _population_for_years(files, settings.years, None, rec)
    notes += pop_notes
    eth_files = sorted(folder.glob("*ethnic*.csv*"))
    if eth_files:
        eth = read_population_ethnicity(eth_files[0])
        rec.add("population_ethnicity", eth_files[0], eth["lsoa_code"].nunique())
        ethnicity = pd.concat([eth.assign(year=y) for y in settings.years], ignore_index=True)
        ethnicity = ethnicity[list(POPULATION_ETHNICITY_COLUMNS)]
        notes.append("Population by ethnicity: one estimate used for every collection year.")
    else:
        ethnicity = _empty_ethnicity()
        notes.append("Population by ethnicity: no source; ethnic rates cannot be computed.")
    nspl = folder / "nspl.csv"
    postcodes = _read_postcodes([nspl] if nspl.is_file() else [], rec, ["nspl"])
    bnd = folder / "boundaries.geojson"
    england = _read_england_in(folder, rec)
    return ReferenceData(
        lsoa=lsoa[list(LSOA_COLUMNS)], population=population, population_ethnicity=ethnicity,
        postcodes=postcodes, la=la, boundaries=bnd if bnd.is_file() else None, england=england,
        sources=rec.entries, notes=notes, imd_vintage=vintage,
        lsoa_edition=str(imd["lsoa_edition"].iloc[0]),
    )  # fmt: skip


def _read_england_in(folder: Path, rec: _Recorder) -> pd.DataFrame | None:
    cla = next(iter(sorted(folder.glob("cla_number_and_rate*.csv"))), None)
    cin = next(iter(sorted(folder.glob("b1_children_in_need*.csv"))), None)
    cpp = next(iter(sorted(folder.glob("d5_cpps*.csv"))), None)
    if not (cla or cin or cpp):
        return None
    frame = read_dfe_tables(cla, cin, cpp)
    for name, path in (("dfe_cla", cla), ("dfe_cin_b1", cin), ("dfe_cpp_d5", cpp)):
        if path:
            rec.add(name, path, int((frame["measure"] == name.split("_")[1].upper()).sum()))
    return frame


def _require_imd_cover(lsoa: pd.DataFrame, path: Path) -> None:
    missing = int(lsoa["imd_decile"].isna().sum())
    if missing:
        raise ReferenceDataError(
            path, f"has no IMD value for {missing:,} of the region's {len(lsoa):,} LSOAs",
            "Use the IMD file of the same LSOA edition as the lookups, or re-generate the demo.",
        )  # fmt: skip


# ---- real geography -------------------------------------------------------------------------


class _Finder:
    """Locates registry files by name, raising one clear error for a required one."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sources = {s.name: s for s in load_sources()}
        self.local = read_local_paths(settings)

    def get(self, name: str, required: bool = True) -> Path | None:
        src: Source = self.sources[name]
        path = locate(src, self.settings, self.local)
        if path is None and required:
            raise ReferenceDataError(
                Path(self.settings.reference_dir) / src.file,
                f"({src.publisher}) is missing (also not in {self.settings.reference_cache})",
                "Run `cwi reference fetch`, or `cwi reference use FOLDER` on a folder holding "
                f"a copy (source: {src.url or src.page}); `cwi reference check` lists every file.",
            )
        return path

    def role(self, role: str) -> list[tuple[str, Path]]:
        out = []
        for name, src in self.sources.items():
            if src.role == role and (path := locate(src, self.settings, self.local)):
                out.append((name, path))
        return out


def region_code_of(settings: Settings) -> str:
    """Region of the real-geography build (``data.region_code``, default West Midlands)."""
    return settings.region_code or WEST_MIDLANDS_REGION


def real_lsoa_la(
    settings: Settings, finder: _Finder | None = None, rec: _Recorder | None = None
) -> pd.DataFrame:
    """Region LSOAs (2011) with their children's-services LA and region (real lookups)."""
    finder = finder or _Finder(settings)
    rec = rec or _Recorder()
    region = region_code_of(settings)
    paths = {
        n: finder.get(n)
        for n in ("lookup_lsoa11_ltla21", "lookup_ltla21_utla21", "lookup_ltla21_region21")
    }
    lsoa_ltla = read_lsoa_ltla(paths["lookup_lsoa11_ltla21"])
    utla = read_ltla_utla(paths["lookup_ltla21_utla21"])
    reg = read_ltla_region(paths["lookup_ltla21_region21"])
    for name, frame in (("lookup_lsoa11_ltla21", lsoa_ltla), ("lookup_ltla21_utla21", utla),
                        ("lookup_ltla21_region21", reg)):  # fmt: skip
        rec.add(name, paths[name], len(frame))
    mapped = lsoa_to_childrens_la(lsoa_ltla, utla, reg)
    out = mapped[mapped["region_code"] == region].reset_index(drop=True)
    if out.empty:
        raise ReferenceDataError(paths["lookup_ltla21_region21"], f"lists no district in region {region}",
                                 "Check data.region_code in settings.yml (West Midlands = E12000005).")  # fmt: skip
    return out


def _real_imd(
    settings: Settings, finder: _Finder, rec: _Recorder, edition: str
) -> tuple[pd.DataFrame, str, list[str]]:
    notes: list[str] = []
    vintage = settings.imd_vintage
    if vintage in ("demo", "", "None"):
        notes.append("release.imd_vintage is 'demo' but the data are real: IMD 2019 used.")
        vintage = "2019"
    if vintage == "2019":
        for name in ("imd2019_file7", "imd2019_file2", "imd2019_file1"):
            path = finder.get(name, required=name == "imd2019_file1")
            if path is not None:
                break
        imd = read_imd(path, vintage="2019")
        if imd["imd_score"].isna().all():
            notes.append(
                "IMD 2019: the file used publishes ranks and deciles only, so IMD scores are "
                "missing (imd_score is blank); analyses use the national rank and decile."
            )
        lookup = None
    elif vintage == "2010":
        path = finder.get("imd2010")
        imd = read_imd(path, vintage="2010")
        notes.append(
            "IMD 2010: deciles recomputed from the official ranks (decile 1 = most deprived)."
        )
        lookup = read_lsoa_lookup(finder.get("lookup_lsoa01_lsoa11"))
    elif vintage == "2025":
        path = finder.get("iod2025")
        imd = read_imd(path, vintage="2025")
        lookup = read_lsoa_lookup(finder.get("lookup_lsoa11_lsoa21"))
    else:
        raise ReferenceDataError(None, f"have no IMD vintage {vintage!r}",
                                 "Set release.imd_vintage to 2010, 2019 or 2025.")  # fmt: skip
    rec.add(f"imd{vintage}", path, len(imd), vintage)
    imd, bridge_notes = align_imd_to_edition(imd, edition, lookup)
    return imd, vintage, notes + bridge_notes


def _load_real(settings: Settings) -> ReferenceData:
    finder = _Finder(settings)
    rec = _Recorder()
    notes: list[str] = []
    edition = settings.lsoa_edition
    if edition != "2011":
        raise ReferenceDataError(
            None, f"are held on LSOA 2011 (populations, boundaries), not {edition}",
            "Set release.lsoa_edition: '2011' for real geography.",
        )  # fmt: skip
    geo = real_lsoa_la(settings, finder, rec)
    imd, vintage, imd_notes = _real_imd(settings, finder, rec, edition)
    notes += imd_notes
    lsoa = geo.merge(
        imd[["lsoa_code", "imd_score", "imd_rank", "imd_decile"]], on="lsoa_code", how="left"
    )
    _require_imd_cover(lsoa, Path(rec.entries[-1]["path"]))
    codes = set(lsoa["lsoa_code"])
    files: dict[int, list[Path]] = {}
    for _name, path in finder.role("population"):
        year = year_from_name(path)
        if year is not None:
            files.setdefault(year, []).append(path)
    if not files:
        finder.get("population_mid2020")
    population, pop_notes = _population_for_years(files, settings.years, codes, rec)
    notes += pop_notes
    if set(population["sex"]) == {"P"}:
        notes.append("Population: ONS LSOA estimates for persons only (no split by sex); sex = P.")
    notes.append(
        "Population by ethnicity: no LSOA source for real geography; ethnic rates are not computed."
    )
    found = finder.role("postcodes")
    nspl = [path for _n, path in found]
    names = [n for n, _p in found]
    if settings.postcode_directories:  # data.postcode_directory replaces the registry's files
        nspl = list(settings.postcode_directories)
        names = [p.stem for p in nspl]
    synthetic = settings.demo_dir / "reference" / "nspl.csv"
    if settings.data_source == "real-geography" and synthetic.is_file():
        # The synthetic children's postcodes (placed on real LSOAs by the demo generator) are
        # only in the generated directory: read it beside the real NSPL files.
        nspl, names = [*nspl, synthetic], [*names, "nspl_synthetic"]
        notes.append("Postcodes: synthetic postcodes of the generated children, on real LSOAs.")
    postcodes = _read_postcodes(nspl, rec, names)
    if nspl:
        notes.append("Postcodes: only the NSPL area files present are read (" +
                     ", ".join(p.name for p in nspl) + ").")  # fmt: skip
    la = (
        lsoa.groupby(["la_code", "la_name", "region_name"], as_index=False).size()
        .drop(columns="size").sort_values("la_code").reset_index(drop=True)
    )  # fmt: skip
    bnd = (
        finder.get("boundaries_lsoa11_wm", required=False)
        if region_code_of(settings) == WEST_MIDLANDS_REGION
        else None
    )
    bnd = bnd or finder.get("boundaries_lsoa11_ew", required=False)
    if bnd is not None:
        rec.add("boundaries", bnd, len(codes), "LSOA 2011")
    cla, cin, cpp = (
        finder.get(n, required=False) for n in ("dfe_cla", "dfe_cin_b1", "dfe_cpp_d5")
    )
    england = read_dfe_tables(cla, cin, cpp) if (cla or cin or cpp) else None
    for name, path in (("dfe_cla", cla), ("dfe_cin_b1", cin), ("dfe_cpp_d5", cpp)):
        if path is not None and england is not None:
            rec.add(
                name,
                path,
                int(
                    (
                        england["measure"]
                        == {"dfe_cla": "CLA", "dfe_cin_b1": "CIN", "dfe_cpp_d5": "CPP"}[name]
                    ).sum()
                ),
            )
    return ReferenceData(
        lsoa=lsoa[list(LSOA_COLUMNS)], population=population,
        population_ethnicity=_empty_ethnicity(), postcodes=postcodes, la=la[list(LA_COLUMNS)],
        boundaries=bnd, england=england, sources=rec.entries, notes=notes, imd_vintage=vintage,
        lsoa_edition=edition,
    )  # fmt: skip


__all__ = ["DFE_COLUMNS", "ETHNICITY_COLUMNS", "ReferenceData", "load_reference", "real_lsoa_la"]
