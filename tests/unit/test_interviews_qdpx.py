import zipfile

import pandas as pd
import pytest
from lxml import etree

from cwi.interviews.qdpx import NS, QdpxError, read_qdpx, write_qdpx
from cwi.interviews.scheme import load_scheme

TEXTS = {
    "INT-A": "Header line\nRespondent: we step contacts down to early help.\nRespondent: caseloads are high — très.\n",
    "INT-B": "Header\nRespondent: the food bank picks families up.\n",
}


def _small_project():
    rows = [
        ("INT-A", "Coder-1", "THR-01", 12, 50),
        ("INT-A", "Coder-1", "EH-02", 12, 50),
        ("INT-A", "Coder-2", "THR-01", 12, 50),
        ("INT-A", "Coder-1", "WFC-01", 51, 88),
        ("INT-B", "Coder-2", "PAR-04", 7, 47),
    ]
    seg = pd.DataFrame(rows, columns=["interview_id", "coder", "code", "start", "end"])
    seg["text"] = [TEXTS[i][s:e] for i, _, _, s, e in rows]
    meta = pd.DataFrame(
        {
            "interview_id": ["INT-A", "INT-B"],
            "la": ["LA-A", "LA-B"],
            "role": ["director", "social worker"],
        }
    )
    return seg, meta


def _key(frame):
    return sorted(
        zip(
            frame["interview_id"],
            frame["coder"],
            frame["code"],
            frame["start"].astype(int),
            frame["end"].astype(int),
            frame["text"],
            strict=True,
        )
    )


@pytest.mark.parametrize("with_scheme", [True, False])
def test_round_trip_same_segments_and_codes(tmp_path, with_scheme):
    seg, meta = _small_project()
    scheme = load_scheme()
    path = write_qdpx(
        tmp_path / "p.qdpx", seg, TEXTS, interviews=meta, scheme=scheme if with_scheme else None
    )
    back = read_qdpx(path)
    back_seg = back.segments.assign(code=back.segments["code_raw"].map(scheme.resolve))
    assert _key(back_seg) == _key(seg)
    assert back.transcripts == TEXTS
    got_meta = back.interviews.set_index("interview_id")
    assert (
        got_meta.loc["INT-A", "la"] == "LA-A" and got_meta.loc["INT-B", "role"] == "social worker"
    )
    assert set(back_seg["la"]) == {"LA-A", "LA-B"}


def test_written_xml_structure(tmp_path):
    seg, meta = _small_project()
    path = write_qdpx(tmp_path / "p.qdpx", seg, TEXTS, interviews=meta, scheme=load_scheme())
    with zipfile.ZipFile(path) as zf:
        root = etree.fromstring(zf.read("project.qde"))
        members = zf.namelist()
    q = f"{{{NS}}}"
    assert root.tag == q + "Project"
    assert [c.tag.replace(q, "") for c in root] == ["Users", "CodeBook", "Variables", "Sources"]
    assert {u.get("name") for u in root.iter(q + "User")} == {"Coder-1", "Coder-2"}
    sel = next(root.iter(q + "PlainTextSelection"))
    assert sel.get("startPosition") and sel.get("endPosition") and sel.get("creatingUser")
    code_ref = sel.find(f"{q}Coding/{q}CodeRef")
    code_guids = {c.get("guid") for c in root.iter(q + "Code")}
    assert code_ref.get("targetGUID") in code_guids
    for src in root.iter(q + "TextSource"):
        assert src.get("plainTextPath").replace("internal://", "sources/") in members


def test_deterministic_bytes(tmp_path):
    seg, meta = _small_project()
    a = write_qdpx(tmp_path / "a.qdpx", seg, TEXTS, interviews=meta).read_bytes()
    b = write_qdpx(tmp_path / "b.qdpx", seg, TEXTS, interviews=meta).read_bytes()
    assert a == b


def test_reads_inline_content_and_case_variables(tmp_path):
    g = lambda n: f"00000000-0000-0000-0000-{n:012d}"  # noqa: E731
    xml = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="{NS}" name="x">
  <Users><User guid="{g(1)}" name="AB"/></Users>
  <CodeBook><Codes><Code guid="{g(2)}" name="Theme" isCodable="false">
    <Code guid="{g(3)}" name="Caseloads" isCodable="true"/></Code></Codes></CodeBook>
  <Variables><Variable guid="{g(4)}" name="LA" typeOfVariable="Text"/>
             <Variable guid="{g(5)}" name="Role" typeOfVariable="Text"/></Variables>
  <Cases><Case guid="{g(6)}" name="c1">
    <VariableValue><VariableRef targetGUID="{g(4)}"/><TextValue>LA-K</TextValue></VariableValue>
    <VariableValue><VariableRef targetGUID="{g(5)}"/><TextValue>team manager</TextValue></VariableValue>
    <SourceRef targetGUID="{g(7)}"/></Case></Cases>
  <Sources><TextSource guid="{g(7)}" name="T1">
    <PlainTextContent>Too many cases each.</PlainTextContent>
    <PlainTextSelection guid="{g(8)}" startPosition="0" endPosition="14" creatingUser="{g(1)}">
      <Coding guid="{g(9)}"><CodeRef targetGUID="{g(3)}"/></Coding>
    </PlainTextSelection></TextSource></Sources>
</Project>"""
    path = tmp_path / "nvivo.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", xml)
    cs = read_qdpx(path)
    row = cs.segments.iloc[0]
    assert (row["coder"], row["code_raw"], row["text"], row["la"], row["role"]) == (
        "AB",
        "Caseloads",
        "Too many cases",
        "LA-K",
        "team manager",
    )
    assert load_scheme().resolve(row["code_raw"]) == "WFC-01"


def test_not_a_zip(tmp_path):
    bad = tmp_path / "bad.qdpx"
    bad.write_text("hello")
    with pytest.raises(QdpxError, match="not a .qdpx"):
        read_qdpx(bad)


def test_zip_without_project(tmp_path):
    path = tmp_path / "empty.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "x")
    with pytest.raises(QdpxError, match="no project.qde"):
        read_qdpx(path)
