import pytest
import yaml

from cwi.interviews.scheme import (
    CODE_FIELDS,
    SchemeError,
    default_scheme_path,
    load_scheme,
    parse_scheme,
)

STUDY_THEMES = {
    "Local policy and practice",
    "Thresholds and decision-making",
    "Early help",
    "Resources and their allocation",
    "Workforce skills and caseloads",
    "Awareness of poverty and deprivation",
    "Partnerships",
    "Data and performance management",
}


def test_tracked_scheme_is_complete():
    scheme = load_scheme(default_scheme_path())
    assert set(scheme.themes["theme"]) == STUDY_THEMES
    assert (
        scheme.version and scheme.change_log and scheme.change_log[0]["version"] == scheme.version
    )
    assert scheme.codes["label"].str.len().min() > 3
    for field in ("definition", "when_to_use", "when_not_to_use", "example"):
        assert scheme.codes[field].str.len().min() > 10, field
    assert scheme.codes["code"].is_unique
    assert set(scheme.roles) == {
        "director",
        "team manager",
        "social worker",
        "early help lead",
        "data analyst",
    }
    retired = scheme.codes[scheme.codes["status"] == "retired"]
    assert len(retired) >= 1
    assert set(retired["replaced_by"]) <= set(scheme.active_codes["code"])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("POL-01", "POL-01"),
        ("pol-01", "POL-01"),
        ("POL-01 Practice model", "POL-01"),
        ("POL-01: Practice model", "POL-01"),
        ("Practice model", "POL-01"),
        ("local policy and practice/POL-01 Practice model", "POL-01"),
        ("THR-00 Threshold document", "THR-00"),
        ("Resilience", None),
        ("", None),
        (None, None),
        ("ZZZ-99", None),
    ],
)
def test_resolve(name, expected):
    assert load_scheme().resolve(name) == expected


def _raw():
    return yaml.safe_load(default_scheme_path().read_text(encoding="utf-8"))


def test_missing_field_rejected():
    raw = _raw()
    del raw["themes"][0]["codes"][0]["when_not_to_use"]
    with pytest.raises(SchemeError, match="when_not_to_use"):
        parse_scheme(raw)


def test_duplicate_id_rejected():
    raw = _raw()
    raw["themes"][1]["codes"].append(dict(raw["themes"][0]["codes"][0]))
    with pytest.raises(SchemeError, match="duplicated"):
        parse_scheme(raw)


def test_retired_code_needs_active_replacement():
    raw = _raw()
    code = {k: "x" * 12 for k in CODE_FIELDS} | {
        "id": "POL-99",
        "status": "retired",
        "replaced_by": "NOPE-01",
    }
    raw["themes"][0]["codes"].append(code)
    with pytest.raises(SchemeError, match="replaced_by"):
        parse_scheme(raw)


def test_missing_file_message(tmp_path):
    with pytest.raises(SchemeError, match="not found"):
        load_scheme(tmp_path / "nope.yml")
