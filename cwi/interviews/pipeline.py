"""Entry points of the interview strand: load a source, build the tables, print a summary.

Every frame :func:`build_tables` returns is safe to publish: no coded text except the selected,
redaction-checked quotes (attributed by role and LA pseudonym only); counts by role and by LA
group pass the small-count rule; the pseudonym -> LA code key is never returned.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from cwi.interviews.agreement import agreement_table, assign_units
from cwi.interviews.demo import write_demo
from cwi.interviews.importers import (
    SegmentImportError,
    attach_metadata,
    detect_layout,
    read_csv_table,
    read_interviews_csv,
    read_segments_csv,
)
from cwi.interviews.qdpx import QdpxError, read_qdpx
from cwi.interviews.scheme import Scheme, SchemeError, default_scheme_path, load_scheme
from cwi.interviews.segments import CodedSet, normalise_segments
from cwi.interviews.tables import (
    LA_GROUPS,
    attach_la_group,
    cooccurrence,
    frequency_by,
    frequency_by_code,
    frequency_by_theme,
    la_groups,
    primary_coding,
    select_quotes,
)
from cwi.interviews.validate import usable_segments, validate_segments

if TYPE_CHECKING:
    from cwi.config import Settings


def scheme_path(settings: Settings) -> Path:
    """Scheme file: ``interviews.scheme`` in the settings if set, else the tracked default."""
    return settings.interview_scheme or default_scheme_path(settings.root)


def _transcripts_near(folder: Path) -> dict[str, str]:
    tdir = folder / "transcripts"
    if not tdir.is_dir():
        return {}
    return {p.stem: p.read_text(encoding="utf-8-sig") for p in sorted(tdir.glob("*.txt"))}


def load_source(source: Path | str) -> CodedSet:
    """Read coded segments from a ``.qdpx`` file, a CSV export, or a folder of them.

    A folder is read as: its first ``*.qdpx`` file if there is one, otherwise every coded-segment
    CSV in it. Next to a CSV (or in the folder), ``interviews.csv`` supplies LA pseudonym and role
    per interview and ``transcripts/<interview id>.txt`` the transcript text.

    Parameters
    ----------
    source : Path or str
        File or folder.

    Returns
    -------
    CodedSet
        Segments (codes not yet resolved), transcripts, interview metadata.

    Raises
    ------
    FileNotFoundError
        If ``source`` does not exist.
    SegmentImportError, QdpxError
        If a file cannot be read (the message says what to do).
    """
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(
            f"Interview source not found: {source}. Pass a .qdpx file, a coded-segment CSV or a "
            "folder holding them."
        )
    folder = source if source.is_dir() else source.parent
    if source.is_dir():
        qdpx = sorted(source.glob("*.qdpx"))
        if qdpx:
            files = [qdpx[0]]
        else:
            files = []
            for p in sorted(source.glob("*.csv")):
                if p.name == "interviews.csv":
                    continue
                frame, _ = read_csv_table(p)
                try:
                    if detect_layout(list(frame.columns)) != "interviews":
                        files.append(p)
                except SegmentImportError:
                    continue
            if not files:
                raise SegmentImportError(
                    f"{source} holds no .qdpx file and no coded-segment CSV. Export the coding "
                    "from your tool into this folder."
                )
    else:
        files = [source]
    sets = []
    for f in files:
        sets.append(
            read_qdpx(f, sources_dir=folder)
            if f.suffix.lower() == ".qdpx"
            else read_segments_csv(f)
        )
    segments = normalise_segments(pd.concat([s.segments for s in sets], ignore_index=True))
    dropped = [s.segments.attrs.get("dropped_non_text") for s in sets]
    dropped = [d for d in dropped if d is not None]
    segments.attrs["dropped_non_text"] = pd.concat(dropped, ignore_index=True) if dropped else None
    transcripts: dict[str, str] = {}
    for s in sets:
        transcripts.update(s.transcripts)
    for k, v in _transcripts_near(folder).items():
        transcripts.setdefault(k, v)
    metas = [s.interviews for s in sets if s.interviews is not None and len(s.interviews)]
    if (folder / "interviews.csv").is_file():
        metas.append(read_interviews_csv(folder / "interviews.csv"))
    interviews = (
        pd.concat(metas, ignore_index=True)
        if metas
        else pd.DataFrame(columns=["interview_id", "la", "role"])
    )
    if len(interviews):
        # prefer rows with values; first non-missing per interview
        interviews = interviews.groupby("interview_id", as_index=False).first()
    fictional = any(s.fictional for s in sets) or (folder / "README_FICTIONAL.txt").is_file()
    return CodedSet(
        segments, transcripts, interviews, [p for s in sets for p in s.sources], fictional
    )


def _demo_key(interviews: pd.DataFrame, sr: pd.DataFrame | None) -> pd.DataFrame | None:
    """Demo only: pair the pseudonyms LA-A, LA-B ... with the ratio frame's LA codes in order."""
    if sr is None or sr.empty or "la_code" not in sr.columns:
        return None
    las = sorted(interviews["la"].dropna().unique())
    codes = sorted(sr["la_code"].astype(str).unique())
    return pd.DataFrame({"la": las[: len(codes)], "la_code": codes[: len(las)]})


def build_tables(
    settings: Settings,
    source: Path | None = None,
    sr: pd.DataFrame | None = None,
    la_key: pd.DataFrame | None = None,
    names: list[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Import, validate and summarise coded interviews.

    Parameters
    ----------
    settings : Settings
        Project settings (``build_dir``, ``demo.seed``, ``disclosure.crosstab_min``).
    source : Path, optional
        ``.qdpx`` file, coded-segment CSV or folder. ``None`` generates the FICTIONAL demo set
        into ``settings.build_dir / "interviews_demo"`` and reads it.
    sr : pandas.DataFrame, optional
        CLA standardised ratios from the analysis: ``la_code``, ``sr``, ``lower``, ``upper``
        (optionally ``measure``, ``year``). Groups LAs as above / as / below expected.
    la_key : pandas.DataFrame, optional
        Private key ``la`` (pseudonym) -> ``la_code``. Defaults to an ``la_code`` column of
        ``interviews.csv``; for the demo set, pseudonyms are paired with the ratio frame's LA
        codes in sorted order.
    names : list of str, optional
        Extra personal names for the quote redaction check.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``meta`` (key / value), ``scheme``, ``change_log``, ``findings``,
        ``validation_summary``, ``freq_theme``, ``freq_code``, ``freq_role``,
        ``freq_la_group``, ``la_groups`` (group sizes only), ``cooccurrence``,
        ``cooccurrence_theme``, ``agreement``, ``quotes``.
    """
    scheme = load_scheme(scheme_path(settings))
    is_demo = source is None
    if source is None:
        source = Path(settings.build_dir) / "interviews_demo"
        write_demo(source, settings.demo.seed, scheme)
    cs = load_source(source)
    thresholds = dict(settings.disclosure)
    threshold = int(thresholds.get("crosstab_min", 10))

    seg = attach_metadata(cs.segments, cs.interviews)
    seg, findings = validate_segments(seg, scheme, cs.segments.attrs.get("dropped_non_text"))
    usable = usable_segments(seg, scheme)
    if la_key is None and "la_code" in cs.interviews.columns:
        la_key = cs.interviews[["la", "la_code"]].dropna().drop_duplicates()
    if la_key is None and (is_demo or cs.fictional):
        la_key = _demo_key(cs.interviews if len(cs.interviews) else usable, sr)
    groups = la_groups(sr)
    primary = attach_la_group(primary_coding(usable), la_key, groups)

    all_units = assign_units(usable, cs.transcripts)
    primary_units = assign_units(primary, cs.transcripts)
    codes = list(scheme.active_codes["code"])
    agreement = agreement_table(all_units, codes)
    agreement.insert(
        1,
        "label",
        agreement["code"]
        .map(dict(zip(scheme.codes["code"], scheme.codes["label"], strict=True)))
        .fillna(""),
    )
    pairs, theme_matrix = cooccurrence(primary_units, scheme)
    quotes, rejected = select_quotes(primary, scheme, names)

    roles = list(scheme.roles) or sorted(primary["role"].dropna().unique())
    extra_roles = sorted(set(primary["role"].dropna()) - set(roles))
    la_group_sizes = (
        primary.drop_duplicates("la")["la_group"]
        .value_counts()
        .reindex(list(LA_GROUPS), fill_value=0)
    )
    coders_per = usable.groupby("interview_id")["coder"].nunique()
    sev = findings["severity"].value_counts()
    meta = pd.DataFrame(
        [
            ("source", ", ".join(p.name for p in cs.sources)),
            ("fictional", "yes" if (is_demo or cs.fictional) else "no"),
            ("scheme_version", scheme.version),
            ("interviews", int(usable["interview_id"].nunique())),
            ("las", int(usable["la"].nunique())),
            ("coders", int(usable["coder"].nunique())),
            ("segments_all_coders", len(usable)),
            ("segments_counted", len(primary)),
            ("interviews_2_coders", int((coders_per == 2).sum())),
            ("interviews_3plus_coders", int((coders_per >= 3).sum())),
            ("findings_error", int(sev.get("error", 0))),
            ("findings_warning", int(sev.get("warning", 0))),
            ("findings_info", int(sev.get("info", 0))),
            ("la_groups_linked", "yes" if (primary["la_group"] != "not linked").any() else "no"),
            ("segments_flagged_by_redaction", rejected),
            ("small_count_threshold", threshold),
        ],
        columns=["key", "value"],
    )
    meta["value"] = meta["value"].astype(str)
    summary = (
        findings.groupby(["rule", "severity"]).size().rename("rows").reset_index()
        if len(findings)
        else pd.DataFrame(columns=["rule", "severity", "rows"])
    )
    change_log = pd.DataFrame(
        [
            {"version": str(e.get("version")), "date": str(e.get("date", "")), "change": str(c)}
            for e in scheme.change_log
            for c in e.get("changes", [])
        ],
        columns=["version", "date", "change"],
    )
    return {
        "meta": meta,
        "scheme": scheme.codes.copy(),
        "change_log": change_log,
        "findings": findings,
        "validation_summary": summary,
        "freq_theme": frequency_by_theme(primary, scheme),
        "freq_code": frequency_by_code(primary, scheme),
        "freq_role": frequency_by(primary, scheme, "role", roles + extra_roles, thresholds),
        "freq_la_group": frequency_by(primary, scheme, "la_group", list(LA_GROUPS), thresholds),
        "la_groups": la_group_sizes.rename_axis("la_group").rename("las").reset_index(),
        "cooccurrence": pairs,
        "cooccurrence_theme": theme_matrix,
        "agreement": agreement,
        "quotes": quotes,
    }


def summary_cli(source: Path | None, settings: Settings) -> int:
    """Print the validation findings and summary tables; used by ``cwi interviews summary``.

    Parameters
    ----------
    source : Path or None
        Coded segments (``.qdpx``, CSV or folder); ``None`` uses the FICTIONAL demo set.
    settings : Settings
        Project settings.

    Returns
    -------
    int
        0 when the segments validate without errors, 1 when some rows have errors (the tables
        are still printed, without those rows), 2 when the source or scheme cannot be read.
    """
    try:
        tables = build_tables(settings, source)
    except (FileNotFoundError, SegmentImportError, QdpxError, SchemeError) as exc:
        print(f"cwi interviews summary: {exc}", file=sys.stderr)
        return 2
    meta = dict(zip(tables["meta"]["key"], tables["meta"]["value"], strict=True))
    if meta["fictional"] == "yes":
        print("FICTIONAL demo interview data: not real interviews.\n")
    with pd.option_context(
        "display.width", 120, "display.max_columns", 20, "display.max_rows", 200
    ):
        print("Source:", meta["source"], "| scheme", meta["scheme_version"])
        print(
            f"{meta['interviews']} interviews, {meta['las']} LAs, {meta['coders']} coders, "
            f"{meta['segments_counted']} segments counted ({meta['segments_all_coders']} incl. "
            "second and third coders)\n"
        )
        findings = tables["findings"]
        if len(findings):
            print("Validation findings (first 20):")
            print(
                findings[["file", "row", "rule", "severity", "message"]]
                .head(20)
                .to_string(index=False)
            )
            print()
        print("Code frequency by theme:")
        print(tables["freq_theme"].to_string(index=False), "\n")
        print("By role (counts under", meta["small_count_threshold"], "shown as [c]):")
        print(
            tables["freq_role"]
            .pivot(index="theme", columns="role", values="segments")
            .to_string(),
            "\n",
        )
        print("Inter-coder agreement:")
        agr = tables["agreement"]
        print(agr[agr["units"] > 0].round(3).to_string(index=False))
    return 1 if int(meta["findings_error"]) else 0


def scheme_for(settings: Settings) -> Scheme:
    """Load the coding scheme named by the settings (for :func:`chapter_markdown`)."""
    return load_scheme(scheme_path(settings))
