"""Write the demo region's files: reference data, LA extracts, contacts and the truth.

Everything is written deterministically: text columns only (no float formatting left to chance),
LF line ends, sorted keys in JSON, XML serialised by lxml.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import shapely
from lxml import etree

from cwi.demo.geography import CHILD_AGES, ETHNIC_LIST, Geography
from cwi.demo.postcodes import nspl_frame
from cwi.demo.records import LAYearRecords

HEADER_COLS = ["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"]
EPISODE_COLS = [
    "CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
    "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN",
]  # fmt: skip
XML_EPISODE = [
    ("DECOM", "DECOM"), ("RNE", "RNE"), ("LS", "LS"), ("CIN", "CIN"), ("PL", "PLACE"),
    ("PL_POST", "PL_POST"), ("HOME_POST", "HOME_POST"), ("URN", "URN"),
    ("PLACE_PROVIDER", "PLACE_PROVIDER"), ("DEC", "DEC"), ("REC", "REC"),
    ("REASON_PLACE_CHANGE", "REASON_PLACE_CHANGE"),
]  # fmt: skip
IMD_COLS = [
    "LSOA code (2011)",
    "LSOA name (2011)",
    "Local Authority District code (2019)",
    "Local Authority District name (2019)",
    "Index of Multiple Deprivation (IMD) Score",
    "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",
    "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)",
]
FAULT_COLS = ["file", "row", "rule_code", "la_code", "year", "column"]

_DIRECTOR_FIRST = ("Alex", "Sam", "Jordan", "Morgan", "Robin", "Jamie", "Chris", "Taylor", "Casey", "Drew")  # fmt: skip
_DIRECTOR_LAST = ("Fairweather", "Underhill", "Applegarth", "Nettlefold", "Brightwater", "Oakenshaw", "Pennyfeather", "Quillfield", "Rushbrook", "Stillwater")  # fmt: skip


_SPECIAL = ('"', ",", "\n", "\r")


def _field(col, quote_all: bool = False) -> list[str]:
    """One CSV column as a list of text, quoted where needed (RFC 4180)."""
    v = np.asarray(col)
    if v.dtype.kind in "iu" and len(v) and v.min() >= 0 and v.max() < 1_000_000:
        table = np.array([str(i) for i in range(int(v.max()) + 1)], dtype=object)
        vals = table[v].tolist()
    elif v.dtype == object:
        vals = v.tolist()
    else:
        vals = v.astype(str).tolist()
    if quote_all:
        return ['"' + x.replace('"', '""') + '"' for x in vals]
    blob = "".join(vals)
    if any(ch in blob for ch in _SPECIAL):
        vals = [
            '"' + x.replace('"', '""') + '"' if any(ch in x for ch in _SPECIAL) else x
            for x in vals
        ]
    return vals


def write_csv(
    df: pd.DataFrame, path: Path, encoding: str = "utf-8", quoted: set[str] | None = None
) -> None:
    """Write a frame of text (or integer) columns as CSV with newline (LF) line ends.

    Faster than :meth:`pandas.DataFrame.to_csv` for wide text frames and byte-stable: every
    value is already text, so no float formatting is involved. ``quoted`` names columns whose
    values are always quoted (the NSPL style).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    quoted = quoted or set()
    head = ",".join(f'"{c}"' if c in quoted else _field([c])[0] for c in df.columns)
    cols = [_field(df[c].to_numpy(), quote_all=c in quoted) for c in df.columns]
    body = "".join(",".join(row) + "\n" for row in zip(*cols, strict=True))
    path.write_bytes((head + "\n" + body).encode(encoding))


def _faults_from(df: pd.DataFrame, rel: str, la_code: str, year: int, row_of) -> list[tuple]:
    out = []
    f = df["_f"].to_numpy(object)
    rows = row_of(np.arange(len(df)))
    for i in np.flatnonzero(f != ""):
        for item in str(f[i]).split("|"):
            code, _, col = item.partition(":")
            out.append((rel, int(rows[i]), code, la_code, year, col))
    return out


# ---- reference files ---------------------------------------------------------------------------


def write_reference(geo: Geography, pcs: pd.DataFrame, years: list[int], out: Path) -> None:
    """Write ``<out>/reference``: lookups, IMD, populations, ethnicity, NSPL and boundaries."""
    ref = out / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    las, lsoas = geo.las, geo.lsoas
    write_csv(
        pd.DataFrame(
            {"la_code": las["la_code"], "la_name": las["la_name"],
             "region_code": geo.region_code, "region_name": geo.region_name}
        ),
        ref / "la_lookup.csv",
    )  # fmt: skip
    la_name = dict(zip(las["la_code"], las["la_name"], strict=True))
    write_csv(
        pd.DataFrame(
            {
                "LSOA11CD": lsoas["lsoa_code"],
                "LSOA11NM": lsoas["lsoa_name"],
                "MSOA11CD": lsoas["msoa_code"],
                "MSOA11NM": lsoas["msoa_name"],
                "LAD17CD": lsoas["la_code"],
                "LAD17NM": lsoas["la_code"].map(la_name),
                "RGN11CD": geo.region_code,
                "RGN11NM": geo.region_name,
            }
        ),
        ref / "lsoa_lookup.csv",
    )
    imd = pd.DataFrame(
        {
            IMD_COLS[0]: lsoas["lsoa_code"],
            IMD_COLS[1]: lsoas["lsoa_name"],
            IMD_COLS[2]: lsoas["la_code"],
            IMD_COLS[3]: lsoas["la_code"].map(la_name),
            IMD_COLS[4]: [f"{v:.3f}" for v in lsoas["imd_score"]],
            IMD_COLS[5]: lsoas["imd_rank"].astype(str),
            IMD_COLS[6]: lsoas["imd_decile"].astype(str),
        }
    )
    write_csv(imd, ref / "imd.csv")
    age_cols = [str(a) for a in range(90)] + ["90+"]
    for y in sorted({y - 1 for y in years}):
        pop = geo.population_for(y)
        for s, sex in enumerate(("males", "females")):
            block = pd.DataFrame(pop[:, :, s], columns=age_cols).astype(str)
            frame = pd.concat(
                [
                    pd.DataFrame(
                        {"lsoa11_name": lsoas["lsoa_name"], "lsoa11_code": lsoas["lsoa_code"],
                         "total_population": pop[:, :, s].sum(axis=1).astype(str)}
                    ),
                    block,
                ],
                axis=1,
            )  # fmt: skip
            write_csv(frame, ref / f"population_mid{y}_{sex}.csv")
    # census-like children 0-17 by ethnic code (largest-remainder rounding of shares)
    first = min(years) - 1
    kids = geo.children(first).sum(axis=(1, 2)).astype(np.int64)
    raw = geo.ethnicity * kids[:, None]
    counts = np.floor(raw).astype(np.int64)
    short = kids - counts.sum(axis=1)
    rem = raw - counts
    order = np.argsort(-rem, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(raw.shape[1])[None, :].repeat(len(raw), 0), axis=1)
    counts += (rank < short[:, None]).astype(np.int64)
    eth = pd.DataFrame(counts, columns=list(ETHNIC_LIST)).astype(str)
    eth.insert(0, "lsoa11_code", lsoas["lsoa_code"].to_numpy())
    write_csv(eth, ref / "ethnicity_children.csv")
    # postcode directory
    nspl = nspl_frame(geo, pcs)
    for c in ("lat", "long"):
        nspl[c] = np.char.mod("%.6f", nspl[c].to_numpy(float)).astype(object)
    write_csv(nspl, ref / "nspl.csv", quoted=set(nspl.columns) - {"lat", "long", "imd"})
    if geo.lsoa_polygons is not None:
        _write_geojson(
            ref / "boundaries.geojson",
            geo.lsoa_polygons,
            [
                {"LSOA11CD": c, "LSOA11NM": n, "LAD17CD": la}
                for c, n, la in zip(
                    lsoas["lsoa_code"], lsoas["lsoa_name"], lsoas["la_code"], strict=True
                )
            ],
        )
    if geo.la_polygons is not None:
        _write_geojson(
            ref / "la_boundaries.geojson",
            geo.la_polygons,
            [
                {"la_code": c, "la_name": n}
                for c, n in zip(las["la_code"], las["la_name"], strict=True)
            ],
        )


def _write_geojson(path: Path, geoms: list, props: list[dict]) -> None:
    feats = []
    for g, p in zip(geoms, props, strict=True):
        gj = json.loads(shapely.to_geojson(g))
        feats.append({"type": "Feature", "properties": p, "geometry": gj})
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": feats,
    }
    path.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")


def write_contacts(geo: Geography, out: Path) -> None:
    """Write ``contacts.csv``: fictional directors with example.org e-mail addresses."""
    rows = []
    for i, (code, name) in enumerate(zip(geo.las["la_code"], geo.las["la_name"], strict=True)):
        first = _DIRECTOR_FIRST[i % len(_DIRECTOR_FIRST)]
        last = _DIRECTOR_LAST[(i * 3 + i // len(_DIRECTOR_FIRST)) % len(_DIRECTOR_LAST)]
        slug = "".join(ch for ch in name.lower() if ch.isalnum())
        rows.append((code, name, f"{first} {last}", f"dcs@{slug}.example.org"))
    write_csv(
        pd.DataFrame(rows, columns=["la_code", "la_name", "director_name", "email"]),
        out / "contacts.csv",
    )


# ---- LA extracts -------------------------------------------------------------------------------


def _tags(tag: str, values, optional: bool = False) -> np.ndarray:
    """Vectorised XML element text: ``<tag>v</tag>``, ``<tag/>`` for blanks (or '' if optional)."""
    v = np.asarray(values, dtype=object)
    blob = "".join(v.tolist())
    if "&" in blob or "<" in blob or ">" in blob:
        v = np.array([escape(x) for x in v.tolist()], dtype=object)
    full = f"<{tag}>" + v + f"</{tag}>"
    blank = v == ""
    return np.where(blank, "" if optional else f"<{tag}/>", full).astype(object)


def _serialise(xml: str) -> bytes:
    """Parse the assembled text with lxml (a well-formedness check) and serialise it."""
    root = etree.fromstring(xml.encode("utf-8"))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"


def ssda903_xml(header: pd.DataFrame, episodes: pd.DataFrame) -> tuple[bytes, dict[int, int]]:
    """SSDA903 XML (root EXPSSDA903); returns bytes and child -> 1-based CHILD ordinal.

    ``header`` and ``episodes`` must be in the same child order (episodes grouped by child).
    """
    ep = "\n  <EPISODE>"
    for tag, col in XML_EPISODE:
        ep = ep + _tags(tag, episodes[col].to_numpy(object))
    ep = ep + "</EPISODE>"
    child = episodes["_child"].to_numpy()
    starts = np.flatnonzero(np.r_[True, child[1:] != child[:-1]])
    joined = np.add.reduceat(ep, starts) if len(ep) else np.array([], dtype=object)
    ep_by_child = dict(zip(child[starts].tolist(), joined.tolist(), strict=True))
    hc = header["_child"].to_numpy()
    head = (
        "\n<CHILD>\n  <HEADER>"
        + _tags("CHILDID", header["CHILD"]) + _tags("UPN", header["UPN"])
        + _tags("SEX", header["SEX"]) + _tags("DOB", header["DOB"])
        + _tags("ETHNIC", header["ETHNIC"]) + _tags("UASC", header["UASC"])
        + "<MOTHER/><MC_DOB/></HEADER>"
    )  # fmt: skip
    body = [
        h + ep_by_child.get(c, "") + "\n</CHILD>" for h, c in zip(head, hc.tolist(), strict=True)
    ]
    ordinal = {c: i + 1 for i, c in enumerate(hc.tolist())}
    return _serialise("<EXPSSDA903>" + "".join(body) + "\n</EXPSSDA903>"), ordinal


def cin_xml(cin: pd.DataFrame, year: int, lea: str) -> bytes:
    """CIN census XML (Message/Header/Children) for one LA and year."""
    sex_tag = "Sex" if year >= 2025 else "GenderCurrent"
    head = (
        "<Message>\n<Header><CollectionDetails><Collection>CIN</Collection>"
        f"<Year>{year}</Year><ReferenceDate>{year}-03-31</ReferenceDate></CollectionDetails>"
        f"<Source><SourceLevel>L</SourceLevel><LEA>{lea}</LEA><SoftwareCode>CWI demo</SoftwareCode>"
        f"<Release>1</Release><SerialNo>001</SerialNo><DateTime>{year}-05-15T09:00:00</DateTime>"
        "</Source></Header>\n<Children>"
    )
    if not len(cin):
        return _serialise(head + "</Children></Message>")
    ids = (
        "\n<Child>\n  <ChildIdentifiers>" + _tags("LAchildID", cin["LAchildID"])
        + _tags("UPN", cin["UPN"], optional=True)
        + _tags("PersonBirthDate", cin["PersonBirthDate"], optional=True)
        + _tags("ExpectedPersonBirthDate", cin["ExpectedPersonBirthDate"], optional=True)
        + _tags(sex_tag, cin["SexCode"]) + "</ChildIdentifiers>"
    )  # fmt: skip
    dis = np.array(
        ["<Disability>" + d.replace("|", "</Disability><Disability>") + "</Disability>"
         for d in cin["Disabilities"].tolist()],
        dtype=object,
    )  # fmt: skip
    chars = "\n  <ChildCharacteristics>" + _tags("Ethnicity", cin["Ethnicity"]) + "<Disabilities>" + dis + "</Disabilities></ChildCharacteristics>"  # fmt: skip
    closed = cin["CINclosureDate"].to_numpy(object) != ""
    closure = np.where(
        closed,
        _tags("CINclosureDate", cin["CINclosureDate"])
        + _tags("ReasonForClosure", cin["ReasonForClosure"]),
        "",
    )
    has_cpp = cin["CPPstartDate"].to_numpy(object) != ""
    cpp = np.where(
        has_cpp,
        "\n    <ChildProtectionPlans>" + _tags("CPPstartDate", cin["CPPstartDate"])
        + _tags("InitialCategoryOfAbuse", cin["InitialCategoryOfAbuse"])
        + _tags("LatestCategoryOfAbuse", cin["InitialCategoryOfAbuse"])
        + _tags("NumberOfPreviousCPP", cin["NumberOfPreviousCPP"]) + "</ChildProtectionPlans>",
        "",
    )  # fmt: skip
    det = (
        "\n  <CINdetails>" + _tags("CINreferralDate", cin["CINreferralDate"])
        + _tags("ReferralSource", cin["ReferralSource"])
        + _tags("PrimaryNeedCode", cin["PrimaryNeedCode"]) + closure
        + "<ReferralNFA>false</ReferralNFA>" + cpp + "\n  </CINdetails>\n</Child>"
    )  # fmt: skip
    body = ids + chars + det
    return _serialise(head + "".join(body.tolist()) + "\n</Children>\n</Message>")


def write_la_year(
    recs: LAYearRecords,
    out: Path,
    la_code: str,
    lea: str,
    year: int,
    encodings: dict[str, str],
) -> list[tuple]:
    """Write one LA-year folder; return its fault rows (file, row, rule, la, year, column).

    ``encodings`` maps a file name (e.g. ``ssda903_episodes.csv``) to ``utf-8-sig`` (BOM) or
    ``cp1252`` for the files that carry an encoding fault.
    """
    folder = out / "la" / la_code / str(year)
    folder.mkdir(parents=True, exist_ok=True)
    rel = f"la/{la_code}/{year}"
    faults: list[tuple] = []

    def csv_rows(idx: np.ndarray) -> np.ndarray:
        return idx + 2

    def file_fault(name: str) -> None:
        enc = encodings.get(name)
        if enc == "utf-8-sig":
            faults.append((f"{rel}/{name}", 0, "FILE_ENCODING_BOM", la_code, year, ""))
        elif enc == "cp1252":
            faults.append((f"{rel}/{name}", 0, "FILE_ENCODING_CP1252", la_code, year, ""))

    if recs.csv_903:
        for name, df, cols in (
            ("ssda903_header.csv", recs.header, HEADER_COLS),
            ("ssda903_episodes.csv", recs.episodes, EPISODE_COLS),
        ):
            write_csv(df[cols], folder / name, encodings.get(name, "utf-8"))
            faults += _faults_from(df, f"{rel}/{name}", la_code, year, csv_rows)
            file_fault(name)
    else:
        data, ordinal = ssda903_xml(recs.header, recs.episodes)
        (folder / "ssda903.xml").write_bytes(data)
        for df in (recs.header, recs.episodes):
            faults += _faults_from(
                df, f"{rel}/ssda903.xml", la_code, year,
                lambda idx, d=df: np.array([ordinal[c] for c in d["_child"].to_numpy()[idx]]),
            )  # fmt: skip
    (folder / "cin_census.xml").write_bytes(cin_xml(recs.cin, year, lea))
    faults += _faults_from(recs.cin, f"{rel}/cin_census.xml", la_code, year, lambda idx: idx + 1)
    name = "addresses.csv"
    write_csv(
        recs.addresses[["LAchildID", "postcode", "as_at"]],
        folder / name,
        encodings.get(name, "utf-8"),
    )
    faults += _faults_from(recs.addresses, f"{rel}/{name}", la_code, year, csv_rows)
    file_fault(name)
    return faults


def write_faults(faults: list[tuple], out: Path) -> pd.DataFrame:
    """Write ``truth/faults.csv`` sorted by file and row; return the frame."""
    df = pd.DataFrame(faults, columns=FAULT_COLS)
    df = df.sort_values(["file", "row", "rule_code", "column"], kind="stable").reset_index(
        drop=True
    )
    write_csv(df, out / "truth" / "faults.csv")
    return df


def write_truth(truth: dict, out: Path) -> None:
    """Write ``truth/truth.json`` (sorted keys, floats rounded upstream)."""
    path = out / "truth" / "truth.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n", encoding="utf-8")


__all__ = [
    "CHILD_AGES",
    "write_reference",
    "write_la_year",
    "write_faults",
    "write_truth",
    "write_contacts",
]
