"""The registry, cross-table margins and the recovery audit, on small rate tables.

The attacks of issue 12 (item 2) are reproduced here first: quintile 5 minus decile 9 gives the
hidden decile 10; a crude ratio in a sentence gives back a hidden count; the per-row ``method``
says which hidden counts are small. Each test shows the attack working without the defence and
failing with it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cwi.analysis.verdicts import verdicts
from cwi.disclosure import (
    DisclosureError,
    crude_ratio,
    protect_family,
    publication_stamp,
    published_value,
)
from cwi.disclosure.audit import audit_published
from cwi.disclosure.registry import (
    MARGINS,
    REGISTRY,
    SPECS,
    TABLE_TITLES,
    documented_limit,
)
from cwi.disclosure.symbols import DOCUMENTED_MINIMUM
from tests.disclosure_attack import (
    TH,
    _confidential_recovered,
    attack,
    build_tables,
    protect_tables,
    thirds_frame,
)

# LA A: decile 10 = 2 (confidential), decile 9 = 50, so quintile 5 = 52 gives it away.
QUINTILE_CASE = {
    "A": [80, 70, 60, 55, 45, 40, 35, 30, 50, 2],
    "B": [90, 85, 70, 66, 60, 52, 44, 38, 31, 25],
    "C": [75, 64, 61, 58, 57, 49, 43, 37, 33, 28],
}


def test_quintile_minus_decile_attack_works_without_margins_and_fails_with_them():
    tables = build_tables(QUINTILE_CASE)
    public = {**protect_tables(tables, margins=()), "q3_la_deprivation": pd.DataFrame()}
    dec = public["q1_decile_rates"]
    a10 = dec[(dec.area_code == "A") & (dec.imd_decile == 10)]
    assert a10["n"].isna().all()  # hidden in the decile table...
    before = attack(public)
    assert (2024, "CLA", "A", 10) in before.recovered_exactly()  # ...but 52 - 50 = 2
    assert _confidential_recovered(tables, public, before)
    # with the registry's margins the quintile (or decile 9) is hidden too
    public = protect_tables(tables)
    after = attack(public)
    assert _confidential_recovered(tables, public, after) == []
    counted = {n: t for n, t in tables.items() if n in SPECS}
    assert audit_published(counted, public, TH, context=tables).ok


def test_la_thirds_attack_is_closed_by_the_thirds_margin():
    # LA A alone in third 1: its deciles are the third's deciles (a third is an LA sum).
    counts = {**QUINTILE_CASE, "D": [60, 58, 52, 50, 47, 44, 40, 36, 34, 30]}
    thirds = {"A": 1, "B": 2, "C": 3, "D": 3}
    tables = build_tables(counts, thirds)
    no_margin = [m for m in MARGINS if "thirds" not in m.name]
    public = {
        **protect_tables(tables, margins=no_margin),
        "q3_la_deprivation": thirds_frame(thirds),
    }
    before = attack(public)
    assert _confidential_recovered(tables, public, before)
    public = {**protect_tables(tables), "q3_la_deprivation": thirds_frame(thirds)}
    assert _confidential_recovered(tables, public, attack(public)) == []


def test_a_planted_recoverable_cell_is_caught_by_the_audit():
    tables = build_tables(QUINTILE_CASE)
    counted = {n: t for n, t in tables.items() if n in SPECS}
    public = protect_tables(tables)
    assert audit_published(counted, public, TH, context=tables).ok
    # Plant: publish again every hidden decile-table cell of LA A except decile 10.
    leaky = {k: v.copy() for k, v in public.items()}
    dec, orig = leaky["q1_decile_rates"], tables["q1_decile_rates"]
    plant = (dec.area_code == "A") & (dec.imd_decile != 10) & dec.n.isna()
    assert plant.any()
    dec.loc[plant, "n"] = orig.loc[plant, "n"]
    report = audit_published(counted, leaky, TH, context=tables)
    assert not report.ok and report.recoverable
    assert any("area_code=A" in r and "imd_decile=10" in r for r in report.recoverable)
    assert "2" not in " ".join(r.split("(")[0] for r in report.recoverable).replace("2024", "")
    with pytest.raises(DisclosureError, match="can be worked out"):
        report.raise_if_recoverable()
    # ...and the independent attacker agrees
    assert _confidential_recovered(tables, leaky, attack(leaky))


def test_a_margin_that_does_not_hold_stops_the_build():
    tables = build_tables(QUINTILE_CASE)
    q = tables["q1_quintile_rates"]
    q.loc[q.index[0], "n"] += 1
    with pytest.raises(DisclosureError, match="does not hold"):
        protect_tables(tables)


def test_method_column_does_not_say_which_hidden_counts_are_small():
    from cwi.disclosure.publish import protect_all

    tables = build_tables(QUINTILE_CASE)
    raw_methods = set(tables["q1_decile_rates"]["method"])
    assert raw_methods == {"Exact", "Byars"}  # the tell-tale, before publication

    class S:
        disclosure = TH

    out = protect_all(tables, S())
    for name in ("q1_decile_rates", "q1_quintile_rates", "area_rates"):
        assert out[name]["method"].nunique() == 1, name


def test_crude_ratio_is_hidden_with_its_cells_and_sentences_leave_it_out():
    tables = build_tables(QUINTILE_CASE)
    public = protect_tables(tables)
    dec = public["q1_decile_rates"]
    region = dec[dec.area_code == "REGION"]
    # region decile 10 is 55 (2 + 25 + 28): published, so its crude ratio is quoted
    assert not math.isnan(crude_ratio(region, {"imd_decile": 1}, {"imd_decile": 10}))
    la_a = dec[dec.area_code == "A"]
    assert math.isnan(crude_ratio(la_a, {"imd_decile": 1}, {"imd_decile": 10}))
    assert math.isnan(published_value(la_a, {"imd_decile": 10}))
    # the verdict sentence: with decile 10 hidden at region level, no "times as likely"
    hidden_region = dec.copy()
    sel = (hidden_region.area_code == "REGION") & (hidden_region.imd_decile == 10)
    hidden_region.loc[sel, ["n", "rate"]] = np.nan
    hidden_region.loc[sel, "note"] = "[c]"
    gradient = pd.DataFrame(
        {"year": [2024], "area_code": ["REGION"], "model": ["within_la"], "measure": ["CLA"],
         "estimate": [1.2], "lower": [1.1], "upper": [1.3], "method": ["m"]}
    )  # fmt: skip
    shown = verdicts({"q1_gradient": gradient, "q1_decile_rates": dec})
    assert "times as likely" in shown["verdict"].iloc[0]
    hidden = verdicts({"q1_gradient": gradient, "q1_decile_rates": hidden_region})
    assert "times as likely" not in hidden["verdict"].iloc[0]
    assert "nan" not in hidden["verdict"].iloc[0]


def test_registry_is_the_one_list_of_published_tables():
    from cwi.publish import SPECS as OLD_SPECS
    from cwi.publish import TABLE_TITLES as OLD_TITLES

    assert OLD_SPECS is SPECS and OLD_TITLES is TABLE_TITLES  # old imports still work
    for name, table in REGISTRY.items():
        assert table.title and table.chapter, name
        if table.spec is not None:
            assert table.spec.name == name
    for m in MARGINS:
        assert m.total in SPECS and m.parts in SPECS, m.name
    # the scanner's limits come from the documented minimum, never the user's setting
    assert documented_limit("area_rates") == DOCUMENTED_MINIMUM["la_total_min"]
    assert documented_limit("q1_decile_rates") == DOCUMENTED_MINIMUM["crosstab_min"]
    assert documented_limit("no_such_table") == DOCUMENTED_MINIMUM["crosstab_min"]


def test_low_thresholds_are_stamped_not_for_publication():
    assert publication_stamp(TH) is None
    stamp = publication_stamp({**TH, "crosstab_min": 3})
    assert stamp and stamp.startswith("NOT FOR PUBLICATION") and "crosstab_min = 3" in stamp
    assert publication_stamp({**TH, "la_total_min": 0})


def test_gender_gap_rates_are_hidden_with_their_small_counts():
    """A girls' rate with the public population gives the girls' count: it is a count."""
    n_m = [40, 35, 30, 28, 25, 22, 20, 18, 15, 12]
    n_f = [38, 33, 29, 26, 24, 20, 19, 16, 14, 3]  # decile 10: 3 girls
    gap = pd.DataFrame(
        {
            "year": 2024, "area_code": "REGION", "measure": "CLA",
            "imd_decile": range(1, 11), "n_m": n_m, "n_f": n_f,
            "rate_m": [n * 2.0 for n in n_m], "rate_f": [n * 2.1 for n in n_f],
            "estimate": 1.0, "lower": 0.9, "upper": 1.1, "difference": 0.5,
            "difference_lower": 0.1, "difference_upper": 0.9, "method": "m",
        }
    )  # fmt: skip
    out = protect_family({"q2_gender_gap": gap}, {"q2_gender_gap": SPECS["q2_gender_gap"]}, TH)
    gap_out = out["q2_gender_gap"]
    d10 = gap_out[gap_out.imd_decile == 10].iloc[0]
    assert pd.isna(d10["n_f"]) and pd.isna(d10["rate_f"]) and pd.isna(d10["estimate"])
    assert gap_out["rate_f"].isna().sum() >= 2  # and another decile, so the sum does not tell


def test_structural_counts_pass_and_unknown_child_counts_stop_the_build():
    from cwi.disclosure.publish import protect_all

    class S:
        disclosure = TH

    models = pd.DataFrame(
        {"measure": ["CLA"], "estimate": [1.1], "n_la": [3], "n_lsoa": [4], "n_years": [2]}
    )
    assert "n_la" in protect_all({"q3_models_x": models}, S())["q3_models_x"]
    leaky = models.assign(n_children=[4])
    with pytest.raises(DisclosureError, match="no spec"):
        protect_all({"q3_models_x": leaky}, S())


def test_a_share_is_hidden_when_either_of_its_counts_is():
    """disabled / recorded: with ``disabled`` published, the share gives back ``recorded``."""
    spec = SPECS["q2_disability"]
    frame = pd.DataFrame(
        {"year": 2024, "measure": "CIN", "area_code": "REGION", "imd_decile": range(1, 11),
         # decile 10 is small in both; the next smallest is decile 1 for disabled, 9 for recorded
         "disabled": [11, 28, 26, 24, 22, 20, 18, 16, 14, 5],
         "recorded": [300, 280, 260, 240, 220, 200, 180, 160, 140, 8]}
    )  # fmt: skip
    frame["estimate"] = frame["disabled"] / frame["recorded"]
    frame["lower"], frame["upper"] = frame["estimate"] - 0.01, frame["estimate"] + 0.01
    out = protect_family({"q2_disability": frame}, {"q2_disability": spec}, TH)["q2_disability"]
    only_recorded = out["recorded"].isna() & out["disabled"].notna()
    assert only_recorded.any()  # the case the attack needs
    assert out.loc[only_recorded, "estimate"].isna().all()


def test_unadjusted_ratios_are_hidden_with_a_hidden_group_count():
    """An unadjusted (crude) ratio of a group's rate to the reference's gives the group's count
    back from the published populations: hidden where either regional count is hidden."""
    from cwi.disclosure.publish import mask_ethnic_crude, mask_unadjusted_ratios

    rates = pd.DataFrame(
        {"year": 2024, "measure": "CLA", "area_code": "REGION",
         "age_band": ["Under 1", "1 to 4", "10 to 15"], "n": [np.nan, 40.0, 90.0]}
    )  # fmt: skip
    adjusted = pd.DataFrame(
        {"year": 2024, "measure": "CLA", "dimension": "age_band",
         "group": ["Under 1", "1 to 4", "Under 1"], "reference": "10 to 15",
         "adjustment": ["unadjusted", "unadjusted", "adjusted for sex and IMD decile"],
         "estimate": [0.2, 0.5, 0.3], "lower": 0.1, "upper": 0.9, "p_value": 0.01}
    )  # fmt: skip
    out = mask_unadjusted_ratios(adjusted, {"q2_rates_age_band": rates})
    assert out["estimate"].isna().tolist() == [True, False, False]  # the model ratio stays
    assert out["note"].tolist() == ["[c]", "", ""]
    eth_rates = pd.DataFrame(
        {"year": 2024, "measure": "CLA", "area_code": "REGION",
         "ethnic_group": ["White", "Asian", "Black"], "n": [500.0, np.nan, 60.0]}
    )  # fmt: skip
    ethnic = pd.DataFrame(
        {"year": 2024, "measure": "CLA", "ethnic_group": ["Asian", "Black"], "reference": "White",
         "unadjusted": [0.4, 1.3], "unadjusted_lower": 0.3, "unadjusted_upper": 1.5,
         "estimate": [0.5, 1.1]}
    )  # fmt: skip
    out = mask_ethnic_crude(ethnic, eth_rates)
    assert out["unadjusted"].isna().tolist() == [True, False]
    assert out["estimate"].notna().all()


def test_linkage_share_is_hidden_when_few_children_are_unlinked():
    """linked / children with the LA's published count gives back the unlinked children."""
    from cwi.disclosure.publish import linkage_for_publication

    linkage = pd.DataFrame(
        {"year": 2024, "la_code": ["A", "B", "C"], "measure": "CLA",
         "children": [200, 203, 260], "linked": [200, 200, 240]}
    )  # fmt: skip
    linkage["linkage_rate"] = linkage["linked"] / linkage["children"]
    out = linkage_for_publication(linkage, TH)
    assert out["linkage_rate"].isna().tolist() == [False, True, False]  # 3 unlinked in B
    assert out["note"].tolist() == ["", "[c]", ""]
    assert "children" not in out and "linked" not in out


# Ten LAs as in the 10-LA demo subset: only the four least deprived (third 3) have children
# in decile 10 (1, 1, 1 and 4), so the region's decile 10 (7) is small and one third holds
# all of it; decile 9 is published in every LA, and the region total, the LA column and the
# region's quintile 5 (deciles 9 + 10) would each give the hidden region cell back.
TEN_LA_CASE = {
    **{f"L{i:02d}": [90 - i, 80, 70, 60, 50, 40, 30, 20, 12 + i, 0] for i in range(1, 7)},
    "L07": [60, 55, 50, 45, 40, 35, 30, 25, 20, 1],
    "L08": [58, 54, 49, 44, 39, 34, 29, 24, 19, 1],
    "L09": [56, 52, 48, 43, 38, 33, 28, 23, 18, 1],
    "L10": [54, 50, 46, 42, 37, 32, 27, 22, 17, 4],
}
TEN_LA_THIRDS = {la: 1 if i < 3 else 2 if i < 6 else 3 for i, la in enumerate(TEN_LA_CASE)}


def test_one_third_holding_a_small_region_decile_is_protected_not_refused():
    """The pattern that stopped a 10-LA demo build: suppression now finishes, hides a
    complementary cell beside the small region decile, and nothing is recoverable."""
    tables = build_tables(TEN_LA_CASE, TEN_LA_THIRDS)
    counted = {n: t for n, t in tables.items() if n in SPECS}
    public = protect_tables(tables)  # raised "can be worked out ... Publish fewer margins"
    report = audit_published(counted, public, TH, context=tables)
    assert report.ok and report.recoverable == [] and report.summary()["recoverable"] == 0
    dec = public["q1_decile_rates"].set_index(["area_code", "imd_decile"])["n"]
    assert math.isnan(dec[("REGION", 10)])  # primary: 7
    # complementary: with decile 10 hidden, quintile 5 = deciles 9 + 10 gives it back unless
    # region decile 9 (or quintile 5 itself) is hidden too
    quint = public["q1_quintile_rates"].set_index(["area_code", "imd_quintile"])["n"]
    assert math.isnan(dec[("REGION", 9)]) or math.isnan(quint[("REGION", 5)])
    # the LA column: each third-3 LA's decile 10 is hidden, and the thirds table with them
    for la in ("L07", "L08", "L09", "L10"):
        assert math.isnan(dec[(la, 10)])
    thirds = public["q3_rates_by_la_third"].set_index(["la_third", "imd_decile"])["n"]
    assert math.isnan(thirds[(3, 10)])
    public["q3_la_deprivation"] = thirds_frame(TEN_LA_THIRDS)
    result = attack(public)
    assert result.bounds  # the attacker did bound the hidden cells
    assert _confidential_recovered(tables, public, result) == []
    # deterministic: the same input gives the same suppression pattern
    again = protect_tables(tables)
    for name, frame in again.items():
        pd.testing.assert_frame_equal(frame, public[name])


TEN_LAS = Path(__file__).parents[1] / "fixtures" / "disclosure_ten_las"


def test_ten_demo_las_publish_with_nothing_recoverable():
    """The 10-LA demo build's Q1/Q3 family (CLA, 2023: synthetic LA x decile counts) that
    stopped the disclosure stage; with the thirds' total modelled as the region's decile cell it
    is protected, the audit finds nothing and the independent attacker recovers nothing.

    With the old model (a line along ``la_third`` whose total is "known") no complementary cell
    could help -- third 3 holds all of decile 10 -- and the engine says so, naming that line.
    """
    import dataclasses

    from cwi.disclosure.engine import Line

    tables = {p.stem: pd.read_csv(p) for p in sorted(TEN_LAS.glob("*.csv"))}
    counted = {n: t for n, t in tables.items() if n in SPECS}
    public = protect_tables(tables)
    report = audit_published(counted, public, TH, context=tables)
    assert report.ok and report.summary()["recoverable"] == 0 and report.hidden > 0
    dec = public["q1_decile_rates"].set_index(["area_code", "imd_decile"])["n"]
    assert math.isnan(dec[("REGION", 10)])
    public["q3_la_deprivation"] = tables["q3_la_deprivation"]
    result = attack(public)
    assert len(result.bounds) == public["q1_decile_rates"]["n"].isna().sum() > 0
    truth = {"q1_decile_rates": tables["q1_decile_rates"]}
    from tests.disclosure_attack import confidential_recovered

    assert confidential_recovered(truth, result, TH["crosstab_min"]) == []

    old_spec = dataclasses.replace(
        SPECS["q3_rates_by_la_third"], lines=(Line("imd_decile"), Line("la_third"))
    )
    old_margins = [m for m in MARGINS if m.total != "q1_decile_rates"]
    with pytest.raises(DisclosureError, match="no further cell to hide.*la_third.*defect"):
        protect_family(
            counted, {**SPECS, "q3_rates_by_la_third": old_spec}, TH, old_margins, tables
        )
