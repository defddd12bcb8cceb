import pandas as pd
import pytest

from cwi.interviews.importers import (
    SegmentImportError,
    attach_metadata,
    read_interviews_csv,
    read_segments_csv,
)
from cwi.interviews.scheme import load_scheme
from cwi.interviews.validate import usable_segments, validate_segments


def _write(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return path


def test_taguette_layout(tmp_path):
    path = _write(
        tmp_path / "all_tags.csv",
        "id,document,tag,content\n"
        "1,INT-01,POL-01,We use a strengths-based model.\n"
        "1,INT-01,Caseloads,We use a strengths-based model.\n"
        "2,INT-02,,An untagged highlight.\n",
    )
    cs = read_segments_csv(path, coder="JB")
    seg = cs.segments
    assert seg.attrs["layout"] == "taguette"
    assert seg["interview_id"].tolist() == ["INT-01", "INT-01", "INT-02"]
    assert seg["coder"].unique().tolist() == ["JB"]
    assert seg["segment_id"].tolist() == ["1", "1", "2"]
    assert seg["row"].tolist() == [1, 2, 3]
    resolved, findings = validate_segments(seg, load_scheme())
    assert resolved["code"].tolist()[:2] == ["POL-01", "WFC-01"]
    assert findings.loc[findings["rule"] == "missing_field", "row"].tolist() == [3]


def test_qualcoder_layout_with_bom_variables_and_non_text(tmp_path):
    text = (
        '"File","Coder","Coded","Id","Codename","Coded_Memo","Category","FileVar_LA","FileVar_role"\n'
        '"INT-01","ab","Too many cases.","ctid:4","WFC-01 Caseloads","","Workforce","LA-B","social worker"\n'
        '"INT-01","ab","image","imid:2","WFC-01 Caseloads","","Workforce","LA-B","social worker"\n'
        '"INT-02","cd","Threshold talk.","ctid:9","THR-00 Threshold document","","Thr","LA-C","director"\n'
    )
    path = _write(tmp_path / "report.csv", text, encoding="utf-8-sig")
    cs = read_segments_csv(path)
    seg = cs.segments
    assert seg.attrs["layout"] == "qualcoder"
    assert seg["segment_id"].tolist() == ["ctid:4", "ctid:9"]
    assert seg["la"].tolist() == ["LA-B", "LA-C"] and seg["role"].tolist() == [
        "social worker",
        "director",
    ]
    assert seg["row"].tolist() == [1, 3]
    resolved, findings = validate_segments(seg, load_scheme(), seg.attrs["dropped_non_text"])
    assert set(findings["rule"]) == {"retired_code", "non_text_coding"}
    retired = findings[findings["rule"] == "retired_code"].iloc[0]
    assert retired["row"] == 3 and "THR-01" in retired["message"]
    usable = usable_segments(resolved, load_scheme())
    assert usable["code"].tolist() == ["WFC-01", "THR-01"]


def test_qualcoder_case_layout(tmp_path):
    path = _write(
        tmp_path / "cases.csv",
        "Case,Filename,Coder,Coded,Id,Codename,Coded_Memo\nCase 1,INT-07,ab,Some text.,ctid:1,EH-01,\n",
    )
    seg = read_segments_csv(path).segments
    assert seg["interview_id"].tolist() == ["INT-07"]


def test_validation_flags_unknown_codes_per_row(tmp_path):
    path = _write(
        tmp_path / "seg.csv",
        "# a comment line\n"
        "interview_id,la,role,coder,code,start,end,text\n"
        "INT-01,LA-A,director,ab,POL-01,0,10,aaaa\n"
        "INT-01,LA-A,director,ab,Resilience,0,10,aaaa\n"
        "INT-02,LA-B,chief executive,ab,POL-02,5,2,bbbb\n"
        "INT-03,,director,,Made-up code,,,cccc\n"
        "INT-04,LA-D,director,ab,also unknown,,,dddd\n",
    )
    seg = read_segments_csv(path).segments
    resolved, findings = validate_segments(seg, load_scheme())
    unknown = findings[findings["rule"] == "unknown_code"]
    assert unknown["row"].tolist() == [2, 4, 5]
    assert unknown["code"].tolist() == ["Resilience", "Made-up code", "also unknown"]
    assert (unknown["severity"] == "error").all()
    assert (
        "row 2" in unknown.iloc[0]["message"] and "coding_scheme.yml" in unknown.iloc[0]["message"]
    )
    rules_by_row = findings.groupby("row")["rule"].apply(set).to_dict()
    assert rules_by_row[3] == {"unknown_role", "bad_position"}
    assert rules_by_row[4] == {"missing_field", "unknown_code", "missing_metadata"}
    assert 1 not in rules_by_row
    # no finding message quotes the coded text
    assert not findings["message"].str.contains("aaaa|bbbb|cccc").any()
    assert usable_segments(resolved, load_scheme())["row"].tolist() == [1, 3]


def test_unknown_header_message(tmp_path):
    path = _write(tmp_path / "x.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(SegmentImportError, match="Taguette"):
        read_segments_csv(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("id,document,tag,content\n1,d,t,caf\xe9\n".encode("latin-1"))
    with pytest.raises(SegmentImportError, match="UTF-8"):
        read_segments_csv(path)


def test_metadata_fills_la_and_role(tmp_path):
    meta = read_interviews_csv(
        _write(tmp_path / "interviews.csv", "interview_id,la,role\nINT-01,LA-A,director\n")
    )
    seg = pd.DataFrame(
        {"interview_id": ["INT-01", "INT-09"], "la": [pd.NA, pd.NA], "role": [pd.NA, "x"]}
    )
    out = attach_metadata(seg.astype("string"), meta)
    assert out["la"].tolist()[0] == "LA-A" and pd.isna(out["la"].tolist()[1])
    assert out["role"].tolist() == ["director", "x"]
