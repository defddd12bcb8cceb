import pandas as pd
import pytest

from cwi.interviews.redact import attribute, redaction_check, suppress_frame, suppress_small


@pytest.mark.parametrize(
    ("text", "kind", "needle"),
    [
        ("I spoke to Mrs Okonkwo-Lee about the plan.", "titled_name", "Mrs Okonkwo-Lee"),
        ("Dr. Zebedee Quarry chaired the panel.", "titled_name", "Dr. Zebedee Quarry"),
        ("Then Sarah said the family had moved.", "name", "Sarah"),
        ("Email jo.bloggs@council.gov.uk for the file.", "email", "jo.bloggs@council.gov.uk"),
        ("Ring 07700 900123 after five.", "phone", "07700 900123"),
        ("Ring +44 7700 900123 after five.", "phone", "+44 7700 900123"),
        ("The duty line is (0161) 496 0000.", "phone", "(0161) 496 0000"),
        ("The office is on 020 7946 0958.", "phone", "020 7946 0958"),
    ],
)
def test_redaction_catches_planted_identifiers(text, kind, needle):
    found = redaction_check(text)
    assert kind in set(found["kind"])
    hit = found[found["kind"] == kind].iloc[0]
    assert text[hit["start"] : hit["end"]] == needle


def test_extra_names_list():
    text = "The worker, Quillon, visited twice."
    assert redaction_check(text).empty
    assert redaction_check(text, names=["Quillon"])["kind"].tolist() == ["name"]


@pytest.mark.parametrize(
    "text",
    [
        "At the front door we step a lot of contacts straight to early help.",
        "In 2023 we had 1,250 referrals and 45 children entered care.",
        "Our rate per 10,000 is 74.5 against 70 for England.",
        "The director of LA-C said the team manager leads on this.",
        "",
    ],
)
def test_clean_text_passes(text):
    assert redaction_check(text).empty


def test_attribution_uses_role_and_pseudonym_only():
    assert attribute("team manager", "LA-C") == "Team manager, LA-C"
    assert attribute(pd.NA, None) == "Interviewee, LA not recorded"


def test_small_counts_suppressed():
    assert suppress_small(0, 10) == 0
    assert suppress_small(1, 10) == "[c]"
    assert suppress_small(9, 10) == "[c]"
    assert suppress_small(10, 10) == 10
    frame = pd.DataFrame({"role": ["a", "b", "c"], "segments": [3, 12, 0], "las": [2, 2, 2]})
    out = suppress_frame(frame, ["segments"], 10)
    assert out["segments"].tolist() == ["[c]", 12, 0]
    assert out["las"].tolist() == [2, 2, 2]


def test_protect_counts_hides_a_lone_small_cell_and_its_partner():
    from cwi.config import load_settings
    from cwi.interviews.redact import protect_counts

    frame = pd.DataFrame(
        {
            "theme": ["T1"] * 3 + ["T2"] * 3,
            "role": ["a", "b", "c"] * 2,
            "segments": [3, 25, 40, 12, 15, 30],
        }
    )
    out = protect_counts(
        frame, ("theme", "role"), "role", ["segments"], load_settings().disclosure
    )
    t1 = out[out["theme"] == "T1"]["segments"].tolist()
    assert t1[0] == "[c]"
    assert t1.count("[c]") >= 2  # the theme total is published, so one hidden cell is not enough
    assert "3" not in t1
