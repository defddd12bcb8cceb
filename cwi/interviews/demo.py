"""A FICTIONAL demo interview set, generated deterministically from a seed.

Nothing here is a real interview, person or place. 15 LAs with pseudonyms ``LA-A`` .. ``LA-O``,
three interviews each (45 transcripts) with staff in the scheme's five roles. Every transcript
is coded by ``Coder-1``; interviews ``INT-01`` .. ``INT-10`` are double-coded (``Coder-2``) and
``INT-11`` .. ``INT-14`` triple-coded (``Coder-2`` and ``Coder-3``), with the second and third
coders agreeing with the first most of the time.

Files written (every one labelled FICTIONAL):

- ``README_FICTIONAL.txt``
- ``interviews.csv``: ``interview_id, la, role``
- ``transcripts/INT-xx.txt``: one speaker turn per line
- ``segments_cwi.csv``: all coders, with character positions (this project's layout)
- ``segments_qualcoder.csv``: all coders, QualCoder coding-report layout with ``FileVar_la`` /
  ``FileVar_role``; it also carries one retired-code row and one unknown-code row so that the
  validation has something to report
- ``segments_taguette.csv``: ``Coder-1`` only, Taguette highlights layout
- ``interviews_FICTIONAL.qdpx``: all coders, REFI-QDA project (clean)
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from cwi.interviews.qdpx import write_qdpx
from cwi.interviews.scheme import Scheme, load_scheme
from cwi.interviews.segments import FICTIONAL_LABEL

LA_PSEUDONYMS = tuple(f"LA-{chr(ord('A') + i)}" for i in range(15))
ROLES = ("director", "team manager", "social worker", "early help lead", "data analyst")
QUESTIONS = {
    "POL": "How would you describe the way your authority works with families?",
    "THR": "How are decisions made about which families get a service?",
    "EH": "What help is there for families before social care gets involved?",
    "RES": "How are resources decided and shared out?",
    "WFC": "Tell me about the workforce and caseloads.",
    "POV": "Does poverty come into how you understand families' needs?",
    "PAR": "How do you work with partner agencies?",
    "DAT": "How do you use data in your work?",
}
_OPENERS = ("", "To be honest, ", "In our area, ", "I think ", "From where I sit, ", "Well, ")
_CLOSERS = (
    "",
    " That has been true for a couple of years now.",
    " We talk about it a lot in the management team.",
    " It is not perfect, but it is moving.",
    " Other authorities tell me the same.",
)
#: A planted identifier so that the demo shows the quote redaction gate at work (fictional).
_PLANTED = " Mrs Example-Person from the housing office rings me every week about it."

DOUBLE_CODED = tuple(f"INT-{i:02d}" for i in range(1, 11))
TRIPLE_CODED = tuple(f"INT-{i:02d}" for i in range(11, 15))


def _sentence(rng: np.random.Generator, example: str) -> str:
    body = example.strip().strip('"')
    opener = _OPENERS[rng.integers(len(_OPENERS))]
    if opener:
        body = opener + body[:1].lower() + body[1:]
    return body + _CLOSERS[rng.integers(len(_CLOSERS))]


def generate_demo(scheme: Scheme, seed: int) -> tuple[pd.DataFrame, dict[str, str], pd.DataFrame]:
    """Build the fictional interviews in memory.

    Parameters
    ----------
    scheme : Scheme
        The coding scheme (active codes are used).
    seed : int
        Random seed; the same seed gives the same set.

    Returns
    -------
    (pandas.DataFrame, dict, pandas.DataFrame)
        Segments (cwi layout: ``interview_id, la, role, coder, code, start, end, text``),
        transcripts by interview id, and interview metadata.
    """
    rng = np.random.default_rng(seed)
    active = scheme.active_codes
    by_theme = {t: active.loc[active["theme_id"] == t] for t in scheme.themes["theme_id"]}
    interviews, transcripts, segs = [], {}, []
    n = 0
    for li, la in enumerate(LA_PSEUDONYMS):
        for k in range(3):
            n += 1
            iid = f"INT-{n:02d}"
            role = ROLES[(li + 2 * k) % len(ROLES)]
            interviews.append({"interview_id": iid, "la": la, "role": role})
            lines = [f"[FICTIONAL DEMO TRANSCRIPT: not a real interview] {iid}, {la}, {role}"]
            pos = len(lines[0]) + 1
            themes = list(scheme.themes["theme_id"])
            chosen = sorted(rng.choice(len(themes), size=7, replace=False))
            for ti in chosen:
                theme = themes[ti]
                q = f"Interviewer: {QUESTIONS.get(theme, 'Can you say more about that?')}"
                lines.append(q)
                pos += len(q) + 1
                codes_here = by_theme[theme]
                first = codes_here.iloc[rng.integers(len(codes_here))]
                parts = [(first["code"], _sentence(rng, first["example"]))]
                if rng.random() < 0.35:
                    other = active.iloc[rng.integers(len(active))]
                    if other["code"] != first["code"]:
                        parts.append((other["code"], _sentence(rng, other["example"])))
                prefix = "Respondent: "
                answer = prefix
                spans = []
                for code, sentence in parts:
                    if answer != prefix:
                        answer += " "
                    start = pos + len(answer)
                    answer += sentence
                    spans.append((code, start, pos + len(answer)))
                if iid == "INT-20" and len(lines) == 2:
                    # planted identifier inside a coded span (the redaction check must reject it)
                    answer += _PLANTED
                    code, start, _ = spans[-1]
                    spans[-1] = (code, start, pos + len(answer))
                lines.append(answer)
                for code, start, end in spans:
                    segs.append(
                        {
                            "interview_id": iid,
                            "coder": "Coder-1",
                            "code": code,
                            "start": start,
                            "end": end,
                        }
                    )
                pos += len(answer) + 1
            transcripts[iid] = "\n".join(lines) + "\n"
    seg = pd.DataFrame(segs)
    # second and third coders on the multi-coded interviews
    extra = []
    codes = list(active["code"])
    theme_of = dict(zip(active["code"], active["theme_id"], strict=True))
    for coder, ids in (("Coder-2", DOUBLE_CODED + TRIPLE_CODED), ("Coder-3", TRIPLE_CODED)):
        for rec in seg[seg["interview_id"].isin(ids)].itertuples():
            u = rng.random()
            if u < 0.82:
                code = rec.code
            elif u < 0.94:
                same = [c for c in codes if theme_of[c] == theme_of[rec.code] and c != rec.code]
                code = same[rng.integers(len(same))] if same else rec.code
            else:
                continue  # this coder did not code the passage
            extra.append(
                {
                    "interview_id": rec.interview_id,
                    "coder": coder,
                    "code": code,
                    "start": rec.start,
                    "end": rec.end,
                }
            )
            if rng.random() < 0.05:
                add = codes[rng.integers(len(codes))]
                if add != code:
                    extra.append(
                        {
                            "interview_id": rec.interview_id,
                            "coder": coder,
                            "code": add,
                            "start": rec.start,
                            "end": rec.end,
                        }
                    )
    seg = pd.concat([seg, pd.DataFrame(extra)], ignore_index=True)
    meta = pd.DataFrame(interviews)
    seg = seg.merge(meta, on="interview_id")
    seg["text"] = [
        transcripts[i][s:e]
        for i, s, e in zip(seg["interview_id"], seg["start"], seg["end"], strict=True)
    ]
    seg = seg.sort_values(["interview_id", "coder", "start", "code"], ignore_index=True)
    seg = seg[["interview_id", "la", "role", "coder", "code", "start", "end", "text"]]
    return seg, transcripts, meta


def _write_csv(
    path: Path, frame: pd.DataFrame, bom: bool = False, quote_all: bool = False
) -> None:
    buf = io.StringIO()
    buf.write(f"# {FICTIONAL_LABEL}\n")
    frame.to_csv(
        buf,
        index=False,
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
        lineterminator="\n",
    )
    path.write_text(buf.getvalue(), encoding="utf-8-sig" if bom else "utf-8")


def write_demo(out_dir: Path, seed: int, scheme: Scheme | None = None) -> dict[str, Path]:
    """Write the FICTIONAL demo interview set.

    Parameters
    ----------
    out_dir : Path
        Folder to write into (created; git-ignored places only, e.g. ``build/``).
    seed : int
        Random seed; the same seed writes byte-identical files.
    scheme : Scheme, optional
        Coding scheme; defaults to the project's tracked scheme.

    Returns
    -------
    dict of str to Path
        The files written, by role (``qdpx``, ``cwi_csv``, ``qualcoder_csv``, ``taguette_csv``,
        ``interviews``, ``transcripts``, ``readme``).
    """
    scheme = scheme or load_scheme()
    out_dir = Path(out_dir)
    (out_dir / "transcripts").mkdir(parents=True, exist_ok=True)
    seg, transcripts, meta = generate_demo(scheme, seed)
    label = {
        c: f"{c} {lbl}" for c, lbl in zip(scheme.codes["code"], scheme.codes["label"], strict=True)
    }

    readme = out_dir / "README_FICTIONAL.txt"
    readme.write_text(
        f"{FICTIONAL_LABEL}.\n\nGenerated by cwi.interviews.demo.write_demo(seed={seed}) with coding "
        f"scheme {scheme.version}. Every transcript, quote, LA pseudonym and coder is invented.\n",
        encoding="utf-8",
    )
    for iid, text in transcripts.items():
        (out_dir / "transcripts" / f"{iid}.txt").write_text(text, encoding="utf-8")
    _write_csv(out_dir / "interviews.csv", meta)
    cwi_csv = out_dir / "segments_cwi.csv"
    _write_csv(cwi_csv, seg)

    qc = pd.DataFrame(
        {
            "File": seg["interview_id"],
            "Coder": seg["coder"],
            "Coded": seg["text"],
            "Id": [f"ctid:{i + 1}" for i in range(len(seg))],
            "Codename": seg["code"].map(label),
            "Coded_Memo": "",
            "Category": seg["code"].map(
                dict(zip(scheme.codes["code"], scheme.codes["theme"], strict=True))
            ),
            "FileVar_la": seg["la"],
            "FileVar_role": seg["role"],
        }
    )
    # planted problems for the validation report (QualCoder file only)
    first_thr = qc.index[qc["Codename"].str.startswith("THR-01")][0]
    qc.loc[first_thr, "Codename"] = label["THR-00"]
    unknown = qc.iloc[[0]].copy()
    unknown["Id"] = f"ctid:{len(qc) + 1}"
    unknown["Codename"] = "Resilience"
    qc = pd.concat([qc, unknown], ignore_index=True)
    qc_csv = out_dir / "segments_qualcoder.csv"
    _write_csv(qc_csv, qc, bom=True, quote_all=True)

    tg = seg[seg["coder"] == "Coder-1"]
    tg = pd.DataFrame(
        {
            "id": range(1, len(tg) + 1),
            "document": tg["interview_id"].to_numpy(),
            "tag": tg["code"].to_numpy(),
            "content": tg["text"].to_numpy(),
        }
    )
    tg_csv = out_dir / "segments_taguette.csv"
    _write_csv(tg_csv, tg)

    qdpx = write_qdpx(
        out_dir / "interviews_FICTIONAL.qdpx",
        seg,
        transcripts,
        interviews=meta,
        scheme=scheme,
        name="FICTIONAL demo interviews (cwi)",
        description=FICTIONAL_LABEL,
    )
    return {
        "qdpx": qdpx,
        "cwi_csv": cwi_csv,
        "qualcoder_csv": qc_csv,
        "taguette_csv": tg_csv,
        "interviews": out_dir / "interviews.csv",
        "transcripts": out_dir / "transcripts",
        "readme": readme,
    }
