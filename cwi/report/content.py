"""Build the report's variables and fragments from the results store.

One function per chapter fills a :class:`ReportContent`. Every number comes from a published
(disclosure-controlled) table of the store; nothing here reads private data or refits a model.
Figures are drawn into ``report/_generated/figures/`` and referenced relative to ``report/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cwi.config import Settings
from cwi.disclosure import rule_text
from cwi.profiles import data_source_label
from cwi.publish import TABLE_TITLES
from cwi.report import sentences as s
from cwi.report.tables import Col, table_fragment
from cwi.schemas import MEASURE_LABELS, MEASURES
from cwi.site.markdown import figure_block
from cwi.store import ResultsStore

REGION = "REGION"
FIGURES = "_generated/figures"  # relative to report/


@dataclass
class ReportContent:
    """What the report's page sources read: ``{{< var >}}`` values and ``{{< fragment >}}`` blocks.

    Attributes
    ----------
    variables : dict
        Nested; leaves are plain text (no markdown), written to ``_variables.yml``.
    fragments : dict of str to str
        Fragment name (``"q1/decile_table"``) -> markdown.
    sentences : list of str
        Every generated sentence, so a test can find each one in the rendered report.
    """

    variables: dict[str, Any] = field(default_factory=dict)
    fragments: dict[str, str] = field(default_factory=dict)
    sentences: list[str] = field(default_factory=list)

    def var(self, dotted: str, value: Any, sentence: bool = False) -> str:
        """Set ``variables[a][b]... = value`` from ``"a.b..."``; return the value as text."""
        node = self.variables
        *path, last = dotted.split(".")
        for key in path:
            node = node.setdefault(key, {})
        text = (
            value
            if isinstance(value, (int, float)) and not isinstance(value, bool)
            else str(value)
        )
        node[last] = text
        if sentence:
            self.sentences.append(str(value))
        return str(value)

    def get(self, dotted: str) -> Any:
        """Value of a dotted variable (``KeyError`` if unset)."""
        node: Any = self.variables
        for key in dotted.split("."):
            node = node[key]
        return node


def _label(m: str) -> str:
    return MEASURE_LABELS.get(m, m)


def _first(frame: pd.DataFrame, **where: Any) -> pd.Series | None:
    sel = frame
    for k, v in where.items():
        if k not in sel.columns:
            return None
        sel = sel[sel[k] == v]
    return None if sel.empty else sel.iloc[0]


class _Ctx:
    """Store, settings and shared words of one build."""

    def __init__(
        self, settings: Settings, store: ResultsStore, fig_dir: Path | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.year = settings.main_year
        self.source = data_source_label(settings)
        self.fig_dir = fig_dir or settings.root / "report" / FIGURES
        self.fig_dir.mkdir(parents=True, exist_ok=True)
        area = store.table("area_rates")
        reg = area[(area["area_type"] == "region") & (area["year"] == self.year)]
        self.region = str(reg["area_name"].iloc[0]) if not reg.empty else "the region"
        self.snapshot = f"31 March {self.year}"

    def table(self, name: str) -> pd.DataFrame:
        """A published table, or an empty frame if this build has none."""
        return self.store.table(name) if self.store.has_table(name) else pd.DataFrame()

    def main(self, name: str) -> pd.DataFrame:
        """Rows of the main year (all rows when the table has no year)."""
        t = self.table(name)
        return t[t["year"] == self.year] if "year" in t.columns and not t.empty else t

    def region_rows(self, name: str) -> pd.DataFrame:
        """Main-year region rows of a table with ``area_code``."""
        t = self.main(name)
        if t.empty or "area_code" not in t.columns:
            return t
        return t[t["area_code"] == REGION]

    def figure(self, name: str) -> Path:
        """Where figure ``name`` is drawn."""
        return self.fig_dir / f"{name}.png"


# ---- meta ---------------------------------------------------------------------------------
def _meta(c: ReportContent, x: _Ctx) -> None:
    settings, store = x.settings, x.store
    manifest = store.manifest()
    code = manifest.get("code_version", {})
    kind = {
        "demo": "synthetic demo region (not real children)",
        "real-geography": "synthetic children placed on real neighbourhoods (not real children)",
    }.get(settings.data_source, "local authority returns (SSDA903 and CIN census)")
    las = [
        a
        for a in x.main("area_rates")[lambda d: d["area_type"] == "la"]["area_code"].unique()
        if not settings.la_list or a in settings.la_list
    ]
    c.var("title", settings.title)
    c.var("region", x.region)
    c.var("year", x.year)
    c.var("snapshot", x.snapshot)
    c.var("years", ", ".join(str(y) for y in settings.years))
    c.var("n_las", len(las))
    c.var("source", x.source)
    c.var("meta.data_kind", kind)
    c.var("meta.synthetic", "yes" if settings.data_source in ("demo", "real-geography") else "no")
    c.var("meta.version", str(code.get("package", "")))
    c.var("meta.commit", str(code.get("commit", ""))[:10])
    c.var("meta.built", str(manifest.get("built_at", ""))[:10])
    c.var(
        "meta.imd",
        "IMD (demo)" if settings.imd_vintage == "demo" else f"IMD {settings.imd_vintage}",
    )
    c.var("meta.disclosure_rule", rule_text(settings.disclosure))
    area = x.region_rows("area_rates")
    for m in MEASURES:
        r = _first(area, measure=m)
        c.var(f"rate.{m.lower()}", s.fmt(r["rate"], 1) if r is not None else "[x]")


# ---- Q1 -----------------------------------------------------------------------------------
def _q1(c: ReportContent, x: _Ctx) -> None:
    from cwi.charts.deprivation import decile_rates_chart

    deciles = x.region_rows("q1_decile_rates")
    rr = x.region_rows("q1_rate_ratio")
    grad = x.region_rows("q1_gradient")
    shares = x.region_rows("q1_case_shares")
    conc = x.region_rows("q1_concentration")
    sii = x.region_rows("q1_sii_rii")
    for m in MEASURES:
        k, label = m.lower(), _label(m)
        r = _first(rr, measure=m, comparison="decile 1 vs 10")
        if r is not None:
            c.var(f"q1.{k}.decile_ratio", s.fmt(r["estimate"], 1))
            c.var(
                f"verdict.q1.{k}",
                s.decile_contrast(label, r["estimate"], r["lower"], r["upper"]),
                sentence=True,
            )
        else:
            c.var(f"q1.{k}.decile_ratio", "[x]")
            c.var(f"verdict.q1.{k}", s.decile_contrast(label, float("nan"), 0, 0), sentence=True)
        for model, key in (("negbin", "pooled"), ("within_la", "within")):
            g = _first(grad, measure=m, model=model)
            est, lo, hi = (g["estimate"], g["lower"], g["upper"]) if g is not None else (None,) * 3
            c.var(f"q1.{k}.{key}_step", s.fmt(est) if est is not None else "[x]")
            c.var(
                f"q1.{k}.{key}_sentence",
                s.gradient(label, key, est, lo, hi),  # type: ignore[arg-type]
                sentence=True,
            )
        for group, key in (("most deprived 10%", "share10"), ("most deprived 20%", "share20")):
            r = _first(shares, measure=m, group=group)
            cases = r["estimate"] if r is not None else float("nan")
            kids = r["share_children"] if r is not None else float("nan")
            c.var(f"q1.{k}.{key}_cases", s.pct(cases))
            c.var(f"q1.{k}.{key}_children", s.pct(kids))
            c.var(
                f"q1.{k}.{key}_sentence",
                s.case_share(
                    label, group.replace("most deprived ", "most deprived "), cases, kids
                ),
                sentence=True,
            )
        r = _first(conc, measure=m)
        c.var(
            f"q1.{k}.concentration_sentence",
            s.concentration(
                label, *(r[["estimate", "lower", "upper"]] if r is not None else [None] * 3)
            ),
            sentence=True,
        )
        a, b = _first(sii, measure=m, index="SII"), _first(sii, measure=m, index="RII")
        vals = [None] * 6
        if a is not None and b is not None:
            vals = [a["estimate"], a["lower"], a["upper"], b["estimate"], b["lower"], b["upper"]]
        c.var(f"q1.{k}.sii_sentence", s.sii_rii(label, *vals, per=x.settings.rate_per), True)
    dirs = []
    for m in MEASURES:
        r = _first(rr, measure=m, comparison="decile 1 vs 10")
        dirs.append(s.direction(r["lower"], r["upper"]) if r is not None else "not estimable")
        g_p = _first(grad, measure=m, model="negbin")
        g_w = _first(grad, measure=m, model="within_la")
        vals = [None] * 6
        if g_p is not None and g_w is not None:
            vals = [g_w["estimate"], g_w["lower"], g_w["upper"],
                    g_p["estimate"], g_p["lower"], g_p["upper"]]  # fmt: skip
        c.var(f"q1.{m.lower()}.within_vs_pooled", s.within_vs_pooled(_label(m), *vals), True)  # type: ignore[arg-type]
    c.var("q1.answer", s.q1_answer(dirs), sentence=True)
    # figure + decile table
    if not deciles.empty:
        frame = deciles.assign(series=deciles["area_name"].astype(str))
        top = [c.get(f"q1.{m.lower()}.decile_ratio") for m in MEASURES]
        fig = decile_rates_chart(
            frame,
            x.figure("q1_region_deciles"),
            title="Rates rise with every step of neighbourhood deprivation"
            if all(v != "[x]" and float(v) > 1 for v in top)
            else "Rates by neighbourhood deprivation",
            subtitle=f"Rate per 10,000 children aged 0-17 by IMD decile, {x.region}, {x.snapshot}",
            source=x.source,
            alt=(
                f"Line charts of CIN, CPP and CLA rates by IMD decile in {x.region}, decile 1 = "
                f"most deprived. Most against least deprived decile: CIN {top[0]}, CPP {top[1]}, "
                f"CLA {top[2]} times the rate. Values are in the table."
            ),
        )
        wide = deciles.pivot_table(
            index="imd_decile", columns="measure", values=["n", "rate", "lower", "upper"]
        )
        notes = deciles.pivot_table(
            index="imd_decile", columns="measure", values="note", aggfunc="first"
        )
        rows = pd.DataFrame({"imd_decile": range(1, 11)})
        cols = [Col("decile_label", "IMD decile (1 = most deprived)")]
        for m in MEASURES:
            if ("rate", m) not in wide.columns:
                continue
            rows[f"{m}_n"] = rows["imd_decile"].map(wide[("n", m)])
            rows[f"{m}_rate"] = rows["imd_decile"].map(wide[("rate", m)])
            rows[f"{m}_lo"] = rows["imd_decile"].map(wide[("lower", m)])
            rows[f"{m}_hi"] = rows["imd_decile"].map(wide[("upper", m)])
            cols += [
                Col(f"{m}_n", f"{m} children", "int"),
                Col(f"{m}_rate", f"{m} rate per 10,000", "dec1"),
                Col(f"{m}_lo", f"{m} 95% CI", "ci", upper=f"{m}_hi", decimals=1),
            ]
        rows["decile_label"] = rows["imd_decile"].astype(str)
        rows["note"] = (
            rows["imd_decile"].map(notes.bfill(axis=1).iloc[:, 0]) if not notes.empty else ""
        )
        table = table_fragment(
            rows,
            cols,
            name="q1/decile_table",
            title="Rates by neighbourhood deprivation decile",
            subtitle=f"Children and rate per 10,000 children aged 0-17, {x.region}, {x.snapshot}",
            source=x.source,
            notes=["Counts are not rounded. [c] marks a count withheld to protect children."],
        )
        c.fragments["q1/decile_chart"] = figure_block(
            f"{FIGURES}/{x.figure('q1_region_deciles').name}", fig.as_dict(), table_md=table
        )
        c.fragments["q1/decile_table"] = table
    # summary table of the Q1 measures, one row per measure
    rows = []
    for m in MEASURES:
        k = m.lower()
        rr_m = _first(rr, measure=m, comparison="decile 1 vs 10")
        g_p, g_w = (
            _first(grad, measure=m, model="negbin"),
            _first(grad, measure=m, model="within_la"),
        )
        a, b = _first(sii, measure=m, index="SII"), _first(sii, measure=m, index="RII")
        cc = _first(conc, measure=m)
        rows.append(
            {
                "measure": _label(m).capitalize(),
                "ratio": rr_m["estimate"] if rr_m is not None else None,
                "ratio_lo": rr_m["lower"] if rr_m is not None else None,
                "ratio_hi": rr_m["upper"] if rr_m is not None else None,
                "pooled": g_p["estimate"] if g_p is not None else None,
                "pooled_lo": g_p["lower"] if g_p is not None else None,
                "pooled_hi": g_p["upper"] if g_p is not None else None,
                "within": g_w["estimate"] if g_w is not None else None,
                "within_lo": g_w["lower"] if g_w is not None else None,
                "within_hi": g_w["upper"] if g_w is not None else None,
                "sii": a["estimate"] if a is not None else None,
                "sii_lo": a["lower"] if a is not None else None,
                "sii_hi": a["upper"] if a is not None else None,
                "rii": b["estimate"] if b is not None else None,
                "rii_lo": b["lower"] if b is not None else None,
                "rii_hi": b["upper"] if b is not None else None,
                "ci": cc["estimate"] if cc is not None else None,
            }
        )
        del k
    summary = pd.DataFrame(rows).astype({"measure": str})
    c.fragments["q1/measures_table"] = table_fragment(
        summary,
        [
            Col("measure", "Measure"),
            Col("ratio", "Decile 1 vs 10 rate ratio", "dec1"),
            Col("ratio_lo", "95% CI", "ci", upper="ratio_hi", decimals=1),
            Col("pooled", "Per decile step, pooled", "dec2"),
            Col("pooled_lo", "95% CI", "ci", upper="pooled_hi"),
            Col("within", "Per decile step, within LAs", "dec2"),
            Col("within_lo", "95% CI", "ci", upper="within_hi"),
        ],
        name="q1/measures_table",
        title="How steeply rates rise with deprivation",
        subtitle=f"Rate ratios, {x.region}, {x.snapshot}",
        source=x.source,
        notes=[
            "Pooled: negative binomial model of neighbourhood counts across the region. Within "
            "LAs: Poisson model with local-authority fixed effects, comparing neighbourhoods "
            "inside the same LA."
        ],
    )
    c.fragments["q1/inequality_table"] = table_fragment(
        summary,
        [
            Col("measure", "Measure"),
            Col("sii", "Slope index of inequality (per 10,000)", "dec1"),
            Col("sii_lo", "95% CI", "ci", upper="sii_hi", decimals=1),
            Col("rii", "Relative index of inequality", "dec1"),
            Col("rii_lo", "95% CI", "ci", upper="rii_hi", decimals=1),
            Col("ci", "Concentration index", "dec3"),
        ],
        name="q1/inequality_table",
        title="Inequality across all ten deciles",
        subtitle=f"Slope, relative and concentration indices, {x.region}, {x.snapshot}",
        source=x.source,
        notes=[
            "Slope and relative indices per Low & Low (2004), as PHEindicatormethods; limits by "
            "simulation. Concentration index below 0 = concentrated among the most deprived."
        ],
    )
    if not shares.empty:
        sh = shares.sort_values(["measure", "group"])
        sh = sh.assign(measure=sh["measure"].map(lambda m: _label(m).capitalize()))
        c.fragments["q1/shares_table"] = table_fragment(
            sh,
            [
                Col("measure", "Measure"),
                Col("group", "Neighbourhoods"),
                Col("estimate", "Share of cases", "pct1"),
                Col("lower", "95% CI", "ci", upper="upper", decimals=3),
                Col("share_children", "Share of children", "pct1"),
                Col("ratio", "Cases / children", "dec2"),
            ],
            name="q1/shares_table",
            title="Share of cases against share of children in the most deprived areas",
            subtitle=f"{x.region}, {x.snapshot}",
            source=x.source,
            notes=["95% CI of the share of cases, as a proportion (Wilson score)."],
        )


# ---- Q2 -----------------------------------------------------------------------------------
_AGE_WORDS = {"Under 1": "babies under 1", "1 to 4": "children aged 1-4",
              "5 to 9": "children aged 5-9", "10 to 15": "children aged 10-15",
              "16 to 17": "young people aged 16-17"}  # fmt: skip


def _q2(c: ReportContent, x: _Ctx) -> None:
    adj = x.main("q2_adjusted")
    for m in MEASURES:
        k, label = m.lower(), _label(m)
        sex = (
            adj[(adj["measure"] == m) & (adj["dimension"] == "sex")
                & (adj["adjustment"] != "unadjusted")]
            if not adj.empty else adj
        )  # fmt: skip
        r = sex.iloc[0] if len(sex) else None
        c.var(
            f"q2.sex.{k}",
            s.group_ratio(
                "girls", "boys", label,
                *(r[["estimate", "lower", "upper"]] if r is not None else [None] * 3),
                adjusted_for="allowing for age and deprivation",
            ),
            sentence=True,
        )  # fmt: skip
        age = (
            adj[(adj["measure"] == m) & (adj["dimension"] == "age_band")
                & (adj["adjustment"] != "unadjusted")]
            if not adj.empty else adj
        )  # fmt: skip
        if len(age):
            hi, lo = age.loc[age["estimate"].idxmax()], age.loc[age["estimate"].idxmin()]
            ref = _AGE_WORDS.get(str(hi["reference"]), str(hi["reference"]))
            c.var(
                f"q2.age.{k}_highest",
                s.group_ratio(_AGE_WORDS.get(str(hi["group"]), str(hi["group"])), ref, label,
                              hi["estimate"], hi["lower"], hi["upper"],
                              adjusted_for="allowing for sex and deprivation"),
                sentence=True,
            )  # fmt: skip
            c.var(
                f"q2.age.{k}_lowest",
                s.group_ratio(_AGE_WORDS.get(str(lo["group"]), str(lo["group"])), ref, label,
                              lo["estimate"], lo["lower"], lo["upper"],
                              adjusted_for="allowing for sex and deprivation"),
                sentence=True,
            )  # fmt: skip
        else:
            for end in ("highest", "lowest"):
                c.var(
                    f"q2.age.{k}_{end}",
                    s.group_ratio("age groups", "each other", label, None, None, None),  # type: ignore[arg-type]
                    sentence=True,
                )
    gap = x.region_rows("q2_gender_gap")
    for m in MEASURES:
        a = _first(gap, measure=m, imd_decile=1) if len(gap) else None
        b = _first(gap, measure=m, imd_decile=10) if len(gap) else None
        vals = [None] * 6
        if a is not None and b is not None:
            vals = [a["estimate"], a["lower"], a["upper"], b["estimate"], b["lower"], b["upper"]]
        c.var(f"q2.gender_gap.{m.lower()}", s.gender_gap_trend(_label(m), *vals), True)  # type: ignore[arg-type]
    # ethnicity
    eth = x.main("q2_ethnic")
    for m in MEASURES:
        k = m.lower()
        e = eth[eth["measure"] == m] if not eth.empty else eth
        groups = sorted(e["ethnic_group"].astype(str).unique()) if len(e) else []
        for g in sorted(set(groups) | {"Asian", "Black", "Mixed", "Other"}):
            r = _first(e, ethnic_group=g) if len(e) else None
            vals = (
                [r["unadjusted"], r["estimate"], r["lower"], r["upper"]]
                if r is not None
                else [None] * 4
            )
            c.var(
                f"q2.ethnic.{k}.{g.lower()}",
                s.ethnic_paradox(g, _label(m), *vals),  # type: ignore[arg-type]
                sentence=True,
            )
    if len(eth):
        _q2_ethnic_chart(c, x, eth)
        c.fragments["q2/ethnic_table"] = table_fragment(
            eth.sort_values(["measure", "ethnic_group"]).assign(
                measure=lambda d: d["measure"].map(lambda m: _label(m).capitalize())
            ),
            [
                Col("measure", "Measure"),
                Col("ethnic_group", "Ethnic group"),
                Col("unadjusted", "Unadjusted", "dec2"),
                Col("unadjusted_lower", "95% CI", "ci", upper="unadjusted_upper"),
                Col("estimate", "Deprivation-adjusted", "dec2"),
                Col("lower", "95% CI", "ci", upper="upper"),
                Col("la_adjusted", "Deprivation- and LA-adjusted", "dec2"),
                Col("la_adjusted_lower", "95% CI", "ci", upper="la_adjusted_upper"),
            ],
            name="q2/ethnic_table",
            title="Ethnic rate ratios before and after allowing for deprivation",
            subtitle=f"Rate ratio against White children, {x.region}",
            source=x.source,
        )
    # disability
    dis = x.region_rows("q2_disability")
    if len(dis):
        d = dis.sort_values("imd_decile")
        first, last = d.iloc[0], d.iloc[-1]
        c.var(
            "q2.disability",
            s.share_trend(
                "the share of children in need recorded as disabled",
                first["estimate"], last["estimate"],
                (first["lower"] / last["upper"]) if last["upper"] else float("nan"),
                (first["upper"] / last["lower"]) if last["lower"] else float("nan"),
            ),
            sentence=True,
        )  # fmt: skip
        c.fragments["q2/disability_table"] = table_fragment(
            d.assign(decile=d["imd_decile"].astype(int).astype(str)),
            [
                Col("decile", "IMD decile (1 = most deprived)"),
                Col("recorded", "Children in need with disability recorded", "int"),
                Col("disabled", "Recorded as disabled", "int"),
                Col("estimate", "Share disabled", "pct1"),
                Col("lower", "95% CI", "ci", upper="upper", decimals=3),
            ],
            name="q2/disability_table",
            title=TABLE_TITLES["q2_disability"],
            subtitle=x.region,
            source=x.source,
        )
    else:
        c.var("q2.disability", s.share_trend("the share recorded as disabled", *[None] * 4), True)  # type: ignore[arg-type]
    # interactions: does the gradient differ by group?
    inter = x.main("q2_interactions")
    words = {"age_band": "age", "sex": "sex", "ethnic_group": "ethnic group"}
    for m in MEASURES:
        for dim, w in words.items():
            r = _first(inter, measure=m, dimension=dim) if len(inter) else None
            c.var(
                f"q2.interaction.{m.lower()}.{dim}",
                s.interaction(_label(m), w, r["p_value"] if r is not None else None),  # type: ignore[arg-type]
                sentence=True,
            )
    if len(adj):
        a = adj[adj["adjustment"] != "unadjusted"].assign(
            measure=lambda d: d["measure"].map(lambda m: _label(m).capitalize()),
            dimension=lambda d: d["dimension"].map(lambda v: words.get(v, v)),
            group=lambda d: d["group"].map(lambda v: {"F": "Girls", "M": "Boys"}.get(v, v)),
            reference=lambda d: d["reference"].map(
                lambda v: {"F": "Girls", "M": "Boys"}.get(v, v)
            ),
        )
        c.fragments["q2/adjusted_table"] = table_fragment(
            a,
            [
                Col("measure", "Measure"),
                Col("dimension", "By"),
                Col("group", "Group"),
                Col("reference", "Against"),
                Col("estimate", "Rate ratio", "dec2"),
                Col("lower", "95% CI", "ci", upper="upper"),
                Col("p_value", "p", "p"),
            ],
            name="q2/adjusted_table",
            title="Sex and age: rate ratios allowing for each other and for deprivation",
            subtitle=x.region,
            source=x.source,
        )
    if len(inter):
        c.fragments["q2/interactions_table"] = table_fragment(
            inter.assign(
                measure=inter["measure"].map(lambda m: _label(m).capitalize()),
                dimension=inter["dimension"].map(lambda v: words.get(v, v)),
            ),
            [
                Col("measure", "Measure"),
                Col("dimension", "Gradient compared across"),
                Col("statistic", "F statistic", "dec2"),
                Col("df", "df", "int"),
                Col("p_value", "p", "p"),
            ],
            name="q2/interactions_table",
            title=TABLE_TITLES["q2_interactions"],
            subtitle=x.region,
            source=x.source,
        )


def _q2_ethnic_chart(c: ReportContent, x: _Ctx, e: pd.DataFrame) -> None:
    from cwi.charts.estimates import estimates_chart

    series = {
        "Unadjusted": ("unadjusted", "unadjusted_lower", "unadjusted_upper"),
        "Deprivation-adjusted": ("estimate", "lower", "upper"),
        "Deprivation- and LA-adjusted": ("la_adjusted", "la_adjusted_lower", "la_adjusted_upper"),
    }
    frame = pd.concat(
        [
            pd.DataFrame(
                {
                    "panel": e["measure"],
                    "label": e["ethnic_group"],
                    "series": name,
                    "estimate": e[cols[0]],
                    "lower": e[cols[1]],
                    "upper": e[cols[2]],
                }
            )
            for name, cols in series.items()
            if cols[0] in e.columns
        ],
        ignore_index=True,
    )
    asian = _first(e, measure="CLA", ethnic_group="Asian")
    title = "Allowing for deprivation changes the picture of ethnic differences"
    if asian is not None and s.direction(asian["lower"], asian["upper"]) != "not estimable":
        title = (
            f"Allowing for deprivation, Asian children were {s.likelihood_phrase(asian['estimate'])}"
            f" {s.as_or_than(asian['estimate'])} White children to be looked after"
        )
    fig = estimates_chart(
        frame,
        x.figure("q2_ethnic"),
        title=title,
        subtitle=f"Rate ratio against White children, by measure, {x.region}, {x.snapshot} (log scale)",
        source=x.source,
        alt=(
            "Dot-and-range charts of rate ratios against White children for each ethnic group and "
            "measure, unadjusted, adjusted for deprivation, and adjusted for deprivation and LA. "
            "Values are in the ethnic rate ratios table."
        ),
        axis_label="Rate ratio against White children",
    )
    c.fragments["q2/ethnic_chart"] = figure_block(f"{FIGURES}/q2_ethnic.png", fig.as_dict())


# ---- Q3 -----------------------------------------------------------------------------------
def _score_words(model: object) -> str:
    """The LA-level deprivation measure of the Q3 models, in words."""
    text = str(model)
    if "rank" in text:
        return "average IMD rank"
    return "overall (mean) IMD score"


def _q3(c: ReportContent, x: _Ctx) -> None:
    mvs = x.main("q3_mix_vs_score")
    for m in MEASURES:
        k = m.lower()
        r = _first(mvs, measure=m) if len(mvs) else None
        vals = (
            [r["mix_explained"], r["score_explained"], r["p_mix_beyond_score"],
             r["p_score_beyond_mix"]]
            if r is not None else [None] * 4
        )  # fmt: skip
        c.var(f"q3.{k}.mix_explained", s.pct(vals[0]))
        c.var(f"q3.{k}.score_explained", s.pct(vals[1]))
        name = _score_words(r["score_measure"]) if r is not None and "score_measure" in r else None
        c.var(
            f"verdict.q3.{k}",
            s.mix_vs_score(_label(m), *vals, score_name=name or "overall IMD score"),  # type: ignore[arg-type]
            sentence=True,
        )
    if len(mvs):
        c.fragments["q3/mix_vs_score_table"] = table_fragment(
            mvs.assign(measure=mvs["measure"].map(lambda m: _label(m).capitalize())),
            [
                Col("measure", "Measure"),
                Col("mix_explained", "Explained by deprivation mix", "pct"),
                Col("score_explained", "Explained by LA overall deprivation", "pct"),
                Col("p_mix_beyond_score", "Mix adds to score: p", "p"),
                Col("p_score_beyond_mix", "Score adds to mix: p", "p"),
                Col("n_la", "LAs", "int"),
            ],
            name="q3/mix_vs_score_table",
            title="Deprivation within LAs against their overall deprivation",
            subtitle=f"Share of between-LA deviance explained, {x.region}",
            source=x.source,
            notes=[
                "Deprivation mix: the rate expected from the LA's children by neighbourhood decile "
                "and age at regional rates. Overall deprivation: "
                + _score_words(mvs["score_measure"].iloc[0] if "score_measure" in mvs else "")
                + ". p: quasi-likelihood F test of adding one to the other."
            ],
        )
    inv = x.main("q3_inverse_intervention")
    for m in MEASURES:
        r = None
        if len(inv):
            sel = inv[(inv["measure"] == m) & inv["term"].astype(str).str.startswith("LA third")]
            r = sel.iloc[0] if len(sel) else None
        c.var(
            f"q3.{m.lower()}.inverse",
            s.inverse_intervention(
                _label(m), *(r[["estimate", "lower", "upper"]] if r is not None else [None] * 3)
            ),
            sentence=True,
        )
    if len(inv):
        c.fragments["q3/inverse_table"] = table_fragment(
            inv.assign(measure=inv["measure"].map(lambda m: _label(m).capitalize())),
            [
                Col("measure", "Measure"),
                Col("term", "Comparison at equal neighbourhood deprivation"),
                Col("estimate", "Rate ratio", "dec2"),
                Col("lower", "95% CI", "ci", upper="upper"),
                Col("p_value", "p", "p"),
                Col("n_la", "LAs", "int"),
            ],
            name="q3/inverse_table",
            title="The inverse intervention test",
            subtitle=x.region,
            source=x.source,
        )
    ml = x.main("q3_multilevel")
    if len(ml):
        c.fragments["q3/multilevel_table"] = table_fragment(
            ml.assign(
                measure=ml["measure"].map(lambda m: _label(m).capitalize()),
                model=ml["model"].astype(str).str.lstrip("'"),
            ),
            [
                Col("measure", "Measure"),
                Col("model", "Model"),
                Col("tau2", "Between-LA variance", "dec3"),
                Col("tau2_lower", "95% CI", "ci", upper="tau2_upper", decimals=3),
                Col("estimate", "Median rate ratio", "dec2"),
                Col("lower", "95% CI", "ci", upper="upper"),
            ],
            name="q3/multilevel_table",
            title="How much LAs differ, before and after allowing for deprivation",
            subtitle=x.region,
            source=x.source,
            notes=[
                "Median rate ratio: the typical ratio between two LAs' rates (Merlo et al. 2006)."
            ],
        )
        for m in MEASURES:
            sel = ml[ml["measure"] == m]
            if len(sel) >= 3:
                c.var(f"q3.{m.lower()}.mrr_raw", s.fmt(sel.iloc[0]["estimate"]))
                c.var(f"q3.{m.lower()}.mrr_full", s.fmt(sel.iloc[-1]["estimate"]))
    _q3_funnel(c, x)


def _with_limits(sr: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    """Each LA's 99.8% funnel limits at its own expected count.

    Allowing for overdispersion where the published limits table carries ``tau2`` (Spiegelhalter
    2005), else the Poisson limits of the standardised-ratio table.
    """
    from cwi.analysis.funnels import overdispersed_ratio_limits

    out = sr.copy()
    out["lower_limit"], out["upper_limit"], out["adjusted"] = (
        out["lower_3sd"],
        out["upper_3sd"],
        False,
    )
    if limits.empty or "tau2" not in limits.columns:
        return out
    for m, tau2 in limits.groupby("measure")["tau2"].first().items():
        sel = out["measure"] == m
        if not sel.any() or not pd.notna(tau2):
            continue
        lim = overdispersed_ratio_limits(out.loc[sel, "expected"], float(tau2), levels=(0.998,))
        out.loc[sel, "lower_limit"] = lim["lower_99.8"].to_numpy()
        out.loc[sel, "upper_limit"] = lim["upper_99.8"].to_numpy()
        out.loc[sel, "adjusted"] = True
    return out


def _q3_funnel(c: ReportContent, x: _Ctx) -> None:
    from cwi.charts.funnel import funnel_chart

    sr = x.main("q3_standardised")
    limits = x.table("q3_funnel_limits")
    if sr.empty:
        for m in MEASURES:
            c.var(f"q3.{m.lower()}.funnel", s.funnel_sentence(_label(m), 0, 0, 0), True)
        c.var("q3.funnel_limits", "")
        return
    sr = _with_limits(sr, limits)
    shown = sr.dropna(subset=["estimate"]).copy()
    above = shown["estimate"] > shown["upper_limit"]
    below = shown["estimate"] < shown["lower_limit"]
    for m in MEASURES:
        sel = shown["measure"] == m
        c.var(
            f"q3.{m.lower()}.funnel",
            s.funnel_sentence(_label(m), int((above & sel).sum()), int((below & sel).sum()),
                              int(sel.sum())),
            sentence=True,
        )  # fmt: skip
    n_out = int((above | below).sum())
    n = sr["la_code"].nunique()
    adjusted = bool(sr["adjusted"].any())
    c.var(
        "q3.funnel_limits",
        "The limits allow for more variation between authorities than chance alone would give "
        "(overdispersion, Spiegelhalter 2005); the faint lines are the limits for chance alone."
        if adjusted
        else "The limits are those for chance variation alone (Poisson).",
    )
    if not limits.empty:
        outside = (sr["estimate"] < sr["lower_limit"]) | (sr["estimate"] > sr["upper_limit"])
        fig = funnel_chart(
            sr.assign(outside=outside, label=sr["la_name"].where(outside, "").fillna("")),
            limits,
            x.figure("q3_funnel"),
            title=s.funnel_title(n_out, len(shown)),
            subtitle=(
                f"Observed / deprivation-expected number of children, {n} local authorities, "
                f"{x.region}, {x.snapshot}"
            ),
            source=x.source,
            alt=(
                f"Funnel plots for CIN, CPP and CLA: each point is a local authority's "
                f"standardised ratio against its expected count; {n_out} of {len(shown)} points "
                "lie outside the 99.8% limits"
                + (" allowing for overdispersion" if adjusted else "")
                + " and are labelled with their names. Values are in the standardised ratios table."
            ),
        )
        c.fragments["q3/funnel_chart"] = figure_block(f"{FIGURES}/q3_funnel.png", fig.as_dict())
    wide = sr.pivot_table(index=["la_code", "la_name"], columns="measure",
                          values=["estimate", "lower", "upper"]).reset_index()  # fmt: skip
    flat = pd.DataFrame({"la_name": wide["la_name"]})
    cols = [Col("la_name", "Local authority")]
    for m in MEASURES:
        if ("estimate", m) in wide.columns:
            flat[f"{m}_sr"] = wide[("estimate", m)].to_numpy()
            flat[f"{m}_lo"] = wide[("lower", m)].to_numpy()
            flat[f"{m}_hi"] = wide[("upper", m)].to_numpy()
            cols += [Col(f"{m}_sr", f"{m} ratio", "dec2"),
                     Col(f"{m}_lo", "95% CI", "ci", upper=f"{m}_hi")]  # fmt: skip
    hidden = sr[sr["estimate"].isna()]
    flat["note"] = flat["la_name"].map(lambda n: "[c]" if n in set(hidden["la_name"]) else "")
    c.fragments["q3/standardised_table"] = table_fragment(
        flat.sort_values("la_name"),
        cols,
        name="q3/standardised_table",
        title=TABLE_TITLES["q3_standardised"],
        subtitle=f"Observed / expected from each LA's deprivation and age mix, {x.snapshot}",
        source=x.source,
        notes=["1 = the number the LA's deprivation mix predicts at regional rates."],
    )


# ---- Q4 -----------------------------------------------------------------------------------
def _q4(c: ReportContent, x: _Ctx) -> None:
    from cwi.charts.estimates import estimates_chart

    diff = x.table("q4_difference")
    steeper, shallower, parts = [], [], []
    for other in ("CPP", "CIN"):
        sel = (
            diff[diff["comparison"].astype(str).str.startswith(f"CLA vs {other}")
                 & diff["method"].astype(str).str.startswith("Bootstrap")]
            if len(diff) else diff
        )  # fmt: skip
        if len(sel) == 0 and len(diff):
            sel = diff[diff["comparison"].astype(str).str.startswith(f"CLA vs {other}")]
        r = sel.iloc[0] if len(sel) else None
        vals = r[["estimate", "lower", "upper"]] if r is not None else [None] * 3
        text = s.gradient_comparison(_label("CLA"), _label(other), *vals)
        c.var(f"q4.cla_vs_{other.lower()}", text, sentence=True)
        parts.append(text)
        d = s.direction(*vals[1:]) if r is not None else "not estimable"
        if d == "higher":
            steeper.append(_label(other))
        elif d == "lower":
            shallower.append(_label(other))
    title = s.q4_title(steeper, shallower, _label("CLA"))
    c.var("verdict.q4", title + ". " + " ".join(parts), sentence=False)
    c.var("q4.title", title)
    grad = x.region_rows("q1_gradient")
    g = grad[grad["model"].isin(["within_la", "negbin"])] if len(grad) else grad
    if len(g):
        labels = {"within_la": "Within LAs (LA fixed effects)", "negbin": "Region (pooled)"}
        frame = pd.DataFrame(
            {
                "panel": "Per decile step towards the most deprived",
                "label": g["measure"],
                "series": g["model"].map(labels),
                "estimate": g["estimate"],
                "lower": g["lower"],
                "upper": g["upper"],
            }
        )
        fig = estimates_chart(
            frame,
            x.figure("q4_gradients"),
            title=title,
            subtitle=(
                f"Incidence rate ratio per IMD decile step, {x.region}, {x.snapshot} (log scale)"
            ),
            source=x.source,
            alt=(
                "Dot-and-range chart of the rate ratio per decile step of deprivation for CIN, CPP "
                f"and CLA, within LAs and region-wide. {' '.join(parts)}"
            ),
            axis_label="Rate ratio per decile step",
            height=2.4,
        )
        c.fragments["q4/gradients_chart"] = figure_block(
            f"{FIGURES}/q4_gradients.png", fig.as_dict()
        )
    if len(diff):
        c.fragments["q4/difference_table"] = table_fragment(
            diff,
            [
                Col("comparison", "Comparison"),
                Col("estimate", "Estimate", "dec3"),
                Col("lower", "95% CI", "ci", upper="upper", decimals=3),
                Col("p_value", "p", "p"),
                Col("method", "Method"),
            ],
            name="q4/difference_table",
            title=TABLE_TITLES["q4_difference"],
            subtitle=f"{x.region}, {x.snapshot}",
            source=x.source,
            notes=["Estimates above 1: the first outcome's gradient is steeper."],
        )


# ---- England, allocation, published --------------------------------------------------------
def _england(c: ReportContent, x: _Ctx) -> None:
    eng = x.region_rows("england") if not x.table("england").empty else pd.DataFrame()
    c.var("england.available", "yes" if len(eng) else "no")
    for m in MEASURES:
        r = _first(eng, measure=m) if len(eng) else None
        vals = (
            [r["rate"], r["england_rate"], r["lower"], r["upper"]] if r is not None else [None] * 4
        )
        c.var(f"england.{m.lower()}", s.against_england(_label(m), *vals), sentence=True)  # type: ignore[arg-type]
    if len(eng):
        c.fragments["england/table"] = table_fragment(
            eng.assign(measure=eng["measure"].map(lambda m: _label(m).capitalize())),
            [
                Col("measure", "Measure"),
                Col("rate", "Region rate per 10,000", "dec1"),
                Col("england_rate", "England rate per 10,000", "dec1"),
                Col("estimate", "Region / England", "dec2"),
                Col("lower", "95% CI", "ci", upper="upper"),
            ],
            name="england/table",
            title="The region against England",
            subtitle="Rate per 10,000 children aged 0-17",
            source=f"{x.source}; DfE children's social care statistics",
        )
    else:
        c.fragments["england/table"] = (
            "_No England comparison in this build: the DfE LA tables do not cover these local "
            "authorities (the demo region's LAs are fictional)._\n"
        )


def _allocation(c: ReportContent, x: _Ctx) -> None:
    al = x.main("allocation")
    spend = _s251_shares(x)
    c.var("allocation.spend", "yes" if spend is not None else "no")
    c.var(
        "allocation.spend_note",
        "The last column is each authority's share of the region's net spending on children's "
        "social care (Section 251 outturn, the latest year up to the snapshot): set beside the "
        "share of need, it shows whether money follows deprivation."
        if spend is not None
        else "No spending column: Section 251 spending is published for real local authorities "
        "only, and these are not (or the spending file is not in this build).",
    )
    for m in MEASURES:
        a = al[al["measure"] == m] if len(al) else al
        a = a.dropna(subset=["share_need", "share_caseload"]) if len(a) else a
        more = int((a["share_caseload"] > 1.1 * a["share_need"]).sum()) if len(a) else 0
        less = int((a["share_caseload"] < a["share_need"] / 1.1).sum()) if len(a) else 0
        c.var(f"allocation.{m.lower()}", s.need_vs_caseload(_label(m), more, less, len(a)), True)
    if al.empty:
        c.fragments["allocation/table"] = "_No allocation table in this build._\n"
        return
    wide = al.pivot_table(index=["la_code", "la_name"], columns="measure",
                          values=["share_need", "share_caseload"]).reset_index()  # fmt: skip
    flat = pd.DataFrame({"la_code": wide["la_code"], "la_name": wide["la_name"]})
    pop = al.drop_duplicates("la_code").set_index("la_code")["share_population"]
    flat["share_population"] = flat["la_code"].map(pop)
    cols = [
        Col("la_name", "Local authority"),
        Col("share_population", "Share of children", "pct1"),
    ]
    for m in MEASURES:
        if ("share_need", m) in wide.columns:
            flat[f"{m}_need"] = wide[("share_need", m)].to_numpy()
            flat[f"{m}_case"] = wide[("share_caseload", m)].to_numpy()
            cols += [Col(f"{m}_need", f"{m} share of need", "pct1"),
                     Col(f"{m}_case", f"{m} share of caseload", "pct1")]  # fmt: skip
    if spend is not None:
        flat["spend"] = flat["la_code"].map(spend[0])
        fy = f"{spend[1] - 1}-{str(spend[1])[-2:]}"
        cols.append(Col("spend", f"Share of Section 251 net spend, {fy}", "pct1"))
    notes = [
        "Share of need: the LA's share of the region's deprivation-expected children (regional "
        "rates by IMD decile and age applied to its children)."
    ]
    if spend is None:
        notes.append(
            "No spend column: Section 251 spending is published for real LAs only"
            + (
                " and the reader is not in this build."
                if x.settings.data_source != "demo"
                else "."
            )
        )
    c.fragments["allocation/table"] = table_fragment(
        flat.sort_values("la_name"),
        cols,
        name="allocation/table",
        title="Shares of deprivation-weighted need, children and caseload",
        subtitle=f"Each LA's share of the region, {x.snapshot}",
        source=x.source,
        notes=notes,
    )


def _s251_shares(x: _Ctx) -> tuple[pd.Series, int] | None:
    """Each LA's share of the region's Section 251 children's social care spend (public data).

    Only where the LAs are real (not the demo), from ``<reference_dir>/s251/``; the latest
    financial year ending no later than the snapshot year. ``None`` (and the table says so) when
    the file or the LAs are not there.
    """
    if x.settings.data_source == "demo":
        return None
    path = x.settings.reference_dir / "s251" / "s251_childrens_social_care_by_la.csv"
    if not path.is_file():
        return None
    from cwi.reference.s251 import read_s251, spend_by_la

    spend = spend_by_la(read_s251(path))
    las = set(x.main("allocation")["la_code"].astype(str))
    spend = spend[spend["la_code"].isin(las) & (spend["year"] <= x.year)].dropna(
        subset=["net_gbp"]
    )
    if spend.empty:
        return None
    year = int(spend["year"].max())
    sub = spend[spend["year"] == year].groupby("la_code")["net_gbp"].sum()
    if sub.sum() <= 0 or len(sub) < len(las):
        return None
    return sub / sub.sum(), year


#: Published figures (``../shared/reference/published_figures.md``) set beside ours.
PUBLISHED = [
    ("CPP", "decile 1 vs 10 rate ratio", "q1.cpp.decile_ratio", 12.6,
     "England 2015, Bywaters et al. 2020 (ratio 10:1 in their orientation)"),
    ("CLA", "decile 1 vs 10 rate ratio", "q1.cla.decile_ratio", 11.1,
     "England 2015, Bywaters et al. 2020"),
    ("CPP", "rate ratio per decile step (pooled)", "q1.cpp.pooled_step", 1.32,
     "England 2015, geometric mean step (CWIP)"),
    ("CLA", "rate ratio per decile step (pooled)", "q1.cla.pooled_step", 1.31,
     "England 2015, geometric mean step (CWIP)"),
]  # fmt: skip


def _published(c: ReportContent, x: _Ctx) -> None:
    rows = []
    for m, what, key, value, source in PUBLISHED:
        ours = c.get(key)
        ours_f = float(ours) if ours not in ("[x]", None) else float("nan")
        rows.append(
            {"measure": m, "what": what, "ours": ours_f, "published": value, "source": source}
        )
    inv = x.main("q3_inverse_intervention")
    for m in ("CPP", "CLA"):
        r = None
        if len(inv):
            sel = inv[(inv["measure"] == m) & inv["term"].astype(str).str.startswith("LA third")]
            r = sel.iloc[0] if len(sel) else None
        rows.append({
            "measure": m, "what": "most vs least deprived third of LAs, equal neighbourhoods",
            "ours": r["estimate"] if r is not None else float("nan"), "published": 0.5,
            "source": "West Midlands 2012, Bywaters et al. 2014/2016 ('around double' in the least deprived third)",
        })  # fmt: skip
    eth = x.main("q2_ethnic")
    r = _first(eth, measure="CLA", ethnic_group="Asian") if len(eth) else None
    rows.append({
        "measure": "CLA", "what": "Asian vs White, deprivation-adjusted rate ratio",
        "ours": r["estimate"] if r is not None else float("nan"), "published": 1 / 6,
        "source": "England, Bywaters et al. 2016/2019: after deprivation and age, up to six-fold lower (about 0.17)",
    })  # fmt: skip
    frame = pd.DataFrame(rows)
    c.sentences  # noqa: B018 - (no sentence: the table says it)
    c.var(
        "published.cla_ratio",
        s.against_published(
            frame.iloc[1]["ours"], 11.1, "CLA ratio of most to least deprived decile"
        ),
        sentence=True,
    )
    c.fragments["published/table"] = table_fragment(
        frame,
        [
            Col("measure", "Measure"),
            Col("what", "Figure"),
            Col("ours", f"This report ({x.region})", "dec2"),
            Col("published", "Published", "dec2"),
            Col("source", "Published source"),
        ],
        name="published/table",
        title="Our results beside published ones",
        subtitle=f"This report: {x.region}, {x.snapshot}; published: as sourced",
        source=f"{x.source}; published figures as listed",
        notes=[
            "The demo region is synthetic and calibrated to these published figures, so closeness "
            "there checks the engine, not the world."
            if x.settings.data_source == "demo"
            else "Published figures refer to other years and areas: a guide, not a test."
        ],
    )


# ---- methods, downloads, interviews, home -------------------------------------------------
def _methods(c: ReportContent, x: _Ctx) -> None:
    link = x.table("linkage")
    if len(link):
        lk = link[link["year"] == x.year] if "year" in link.columns else link
        c.var("methods.linkage_min", s.pct(lk["linkage_rate"].min(), 1))
        c.var("methods.linkage_median", s.pct(lk["linkage_rate"].median(), 1))
    else:
        c.var("methods.linkage_min", "[x]")
        c.var("methods.linkage_median", "[x]")
    notes = x.table("analysis_notes")
    lines = [
        f"- {TABLE_TITLES.get(str(r['table']), r['table'])}: {r['reason']}"
        for r in notes.to_dict("records")
    ] if len(notes) else []  # fmt: skip
    manifest = x.store.manifest()
    for note in manifest.get("reference_notes", []):
        lines.append(f"- Reference data: {note}")
    c.fragments["methods/not_computed"] = (
        "\n".join(lines) + "\n" if lines else "Every analysis of this report ran on these data.\n"
    )


def _downloads(c: ReportContent, x: _Ctx) -> None:
    rows = []
    for path in sorted(x.store.tables_dir.glob("*.csv")):
        n = sum(1 for _ in path.open(encoding="utf-8")) - 1
        rows.append({"file": path.name, "what": TABLE_TITLES.get(path.stem, path.stem.replace("_", " ")),
                     "rows": n})  # fmt: skip
    frame = pd.DataFrame(rows, columns=["file", "what", "rows"])
    c.var("downloads.n_tables", len(frame))


def interview_ratios(store: ResultsStore, year: int) -> pd.DataFrame | None:
    """The CLA standardised ratios the interview chapter groups LAs by (``la_code, sr, ...``)."""
    if not store.has_table("q3_standardised"):
        return None
    sr = store.table("q3_standardised")
    sr = sr[(sr["year"] == year) & (sr["measure"] == "CLA")].dropna(subset=["estimate"])
    return sr.rename(columns={"estimate": "sr"})[
        ["la_code", "measure", "year", "sr", "lower", "upper"]
    ]


def _interviews(c: ReportContent, x: _Ctx) -> None:
    try:
        from cwi.interviews import build_tables, chapter_markdown, load_scheme
    except ImportError:
        c.fragments["interviews/body"] = "_The interview strand is not in this build._\n"
        return
    tables = build_tables(x.settings, sr=interview_ratios(x.store, x.year))
    sizes = tables.get("la_groups", pd.DataFrame())
    c.var(
        "interviews.groups_linked",
        "yes" if len(sizes) and sizes["las"].astype(int).sum() else "no",
    )
    c.fragments["interviews/body"] = chapter_markdown(tables, load_scheme())


def _home(c: ReportContent, x: _Ctx) -> None:
    lines = []
    for m in MEASURES:
        k = m.lower()
        lines.append(
            f"- **{_label(m).capitalize()}:** {c.get(f'rate.{k}')} per 10,000 children. "
            f"{c.get(f'verdict.q1.{k}')}"
        )
    c.fragments["home/key_findings"] = "\n".join(lines) + "\n"


def build_report_content(
    settings: Settings, store: ResultsStore | None = None, fig_dir: Path | None = None
) -> ReportContent:
    """Everything the report's page sources read, from the results store.

    Parameters
    ----------
    settings : Settings
        The build's settings (store location, main year, data source).
    store : ResultsStore, optional
        Defaults to the store of ``settings``.
    fig_dir : Path, optional
        Where the figures are drawn (default ``report/_generated/figures``, where the
        fragments name them; a build draws them into a staging folder and copies them there).

    Returns
    -------
    ReportContent
        ``variables`` (nested, for ``_variables.yml``), ``fragments`` (name -> markdown) and the
        list of generated sentences.
    """
    x = _Ctx(settings, store or ResultsStore(settings), fig_dir)
    c = ReportContent()
    for m in MEASURES:  # values only some data support: say so rather than fail the render
        c.var(f"q3.{m.lower()}.mrr_raw", "[x]")
        c.var(f"q3.{m.lower()}.mrr_full", "[x]")
    for step in (_meta, _q1, _q2, _q3, _q4, _england, _allocation, _published, _methods,
                 _downloads, _interviews, _home):  # fmt: skip
        step(c, x)
    for name in FRAGMENTS:
        c.fragments.setdefault(
            name,
            "_Not in this build: the analysis behind it could not run on these data (see "
            "the methods chapter)._\n",
        )
    return c


#: Every fragment the page sources use (each is present in every build, if only to say why not).
FRAGMENTS = (
    "home/key_findings", "interviews/body", "methods/not_computed",
    "q1/decile_chart", "q1/decile_table", "q1/measures_table", "q1/inequality_table",
    "q1/shares_table", "q2/adjusted_table", "q2/ethnic_chart", "q2/ethnic_table",
    "q2/disability_table", "q2/interactions_table", "q3/mix_vs_score_table",
    "q3/inverse_table", "q3/multilevel_table", "q3/funnel_chart", "q3/standardised_table",
    "q4/gradients_chart", "q4/difference_table", "england/table", "allocation/table",
    "published/table",
)  # fmt: skip
