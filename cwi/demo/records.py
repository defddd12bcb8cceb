"""Turn drawn children into one LA's statutory records for one year, with planted faults.

Builds, for one LA and collection year, the SSDA903 Header and Episodes (as tables), the CIN census
children and the address extract, each row carrying the codes of the faults planted in it (column
``_f``: ``RULE:COLUMN`` items joined by ``|``). :mod:`cwi.demo.writers` turns them into files and
the fault list. Dates are ``numpy`` day numbers until the last step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cwi.demo.geography import ETHNIC_LIST, Geography
from cwi.demo.postcodes import NFA_VALUES, PLACEHOLDERS, UNIT2

# ---- fault rates (documented in data/README.md) -----------------------------------------------
#: Child-level home-postcode content faults and their probabilities.
CONTENT_FAULTS: dict[str, float] = {
    "PC_TERMINATED": 0.015,
    "PC_PARTIAL_SECTOR": 0.005,
    "PC_UNKNOWN": 0.004,
    "PC_NON_ENGLISH": 0.003,
    "PC_PLACEHOLDER": 0.002,
    "PC_NFA": 0.002,
}
REFORMAT_RATE = 0.03
ETHNIC_INVALID_RATE = 0.003
SEX_INVALID_RATE = 0.002
ID_DAMAGE_RATE = 0.005
DUPLICATE_RATE = 0.003
OLD_ADDRESS_RATE = 0.08
INVALID_ETHNIC_VALUES = ("WBR", "ASIAN", "OTHR")
INVALID_SEX_903 = ("3", "0")
INVALID_SEX_CIN = ("3", "X")

_LS = (["C2", "V2", "C1", "E1", "J2"], [0.55, 0.22, 0.12, 0.08, 0.03])
_NEED = (["N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8"], [0.6, 0.03, 0.04, 0.08, 0.12, 0.02, 0.01, 0.10])  # fmt: skip
_PLACE = (
    ["U1", "U2", "U3", "U4", "U5", "U6", "K2", "R1", "P1", "S1"],
    [0.10, 0.05, 0.30, 0.10, 0.10, 0.05, 0.12, 0.03, 0.12, 0.03],
)
_PROVIDER = (["PR1", "PR2", "PR3", "PR4", "PR5"], [0.45, 0.05, 0.05, 0.40, 0.05])
_REC_END = (["E11", "E12", "E13", "E4A", "E41", "E8", "E3"], [0.1, 0.05, 0.35, 0.15, 0.05, 0.2, 0.1])  # fmt: skip
_REASON = ["CARPL", "CLOSE", "ALLEG", "STAND", "APPRR", "CREQB", "CREQO", "CHILD", "LAREQ", "PLACE", "OTHER"]  # fmt: skip
_REF_SOURCE = ["1A", "1B", "1C", "2A", "2B", "3A", "3B", "3C", "3D", "3E", "4", "5A", "5B", "6", "7", "9"]  # fmt: skip
_DISABILITY = ["LD", "AUT", "COMM", "BEH", "MOB", "HAND", "PC", "INC", "HEAR", "VIS", "CON"]
_ABUSE = (["NEG", "EMO", "PHY", "SAB", "MUL"], [0.5, 0.35, 0.07, 0.04, 0.04])
_CLOSE = ["RC1", "RC2", "RC3", "RC4", "RC5", "RC6", "RC7", "RC8"]


def _choice(rng: np.random.Generator, spec, n: int) -> np.ndarray:
    values, p = spec
    p = np.asarray(p, float)
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p / p.sum())]


def day(date: str) -> int:
    """Day number (days since 1970-01-01) of an ISO date."""
    return int(np.datetime64(date, "D").astype(np.int64))


_DATE_TABLES: dict[str, np.ndarray] = {}
_FIRST_DAY = int(np.datetime64("1980-01-01", "D").astype(np.int64))
_LAST_DAY = int(np.datetime64("2060-12-31", "D").astype(np.int64))


def _date_table(style: str) -> np.ndarray:
    if style not in _DATE_TABLES:
        iso = np.datetime_as_string(
            np.arange(_FIRST_DAY, _LAST_DAY + 1).astype("datetime64[D]"), unit="D"
        ).tolist()
        if style == "903":
            iso = [f"{d[8:10]}/{d[5:7]}/{d[0:4]}" for d in iso]
        _DATE_TABLES[style] = np.array(iso, dtype=object)
    return _DATE_TABLES[style]


def fmt_dates(days: np.ndarray, style: str) -> np.ndarray:
    """Format day numbers as ``dd/mm/YYYY`` (``903``) or ``YYYY-mm-dd`` (``iso``); -1 -> ''."""
    days = np.asarray(days, dtype=np.int64)
    table = _date_table(style)
    ok = days >= 0
    if ok.any() and (days[ok].min() < _FIRST_DAY or days[ok].max() > _LAST_DAY):
        raise ValueError("Date outside the supported range 1980-2060.")
    out = np.full(len(days), "", dtype=object)
    out[ok] = table[days[ok] - _FIRST_DAY]
    return out


@dataclass
class PostcodeIndex:
    """Fast access to the directory: live/terminated postcodes per LSOA, non-English list."""

    pcs: np.ndarray
    outward: np.ndarray
    inward: np.ndarray
    live_start: np.ndarray
    live_n: np.ndarray
    term_start: np.ndarray
    term_n: np.ndarray
    non_english: np.ndarray

    @classmethod
    def build(cls, pcs: pd.DataFrame, n_lsoa: int) -> PostcodeIndex:
        """Index a postcode table from :func:`cwi.demo.postcodes.synthesize_postcodes`."""
        eng = pcs[pcs["lsoa"] >= 0]
        pos = np.arange(len(pcs))[pcs["lsoa"].to_numpy() >= 0]
        live = eng["live"].to_numpy()
        li = eng["lsoa"].to_numpy()
        ls = np.full(n_lsoa, -1)
        ln = np.bincount(li[live], minlength=n_lsoa)
        ts = np.full(n_lsoa, -1)
        tn = np.bincount(li[~live], minlength=n_lsoa)
        # rows are grouped by LSOA with live rows first
        first_live = pd.Series(pos[live]).groupby(li[live]).min()
        first_term = pd.Series(pos[~live]).groupby(li[~live]).min()
        ls[first_live.index.to_numpy()] = first_live.to_numpy()
        ts[first_term.index.to_numpy()] = first_term.to_numpy()
        return cls(
            pcs=pcs["pcds"].to_numpy(object),
            outward=pcs["outward"].to_numpy(object),
            inward=pcs["inward"].to_numpy(object),
            live_start=ls,
            live_n=ln,
            term_start=ts,
            term_n=tn,
            non_english=pcs.loc[pcs["lsoa"] < 0, "pcds"].to_numpy(object),
        )

    def live_in(self, rng: np.random.Generator, lsoa: np.ndarray) -> np.ndarray:
        """Row index of a random live postcode in each LSOA."""
        return self.live_start[lsoa] + (rng.random(len(lsoa)) * self.live_n[lsoa]).astype(np.int64)

    def terminated_in(self, rng: np.random.Generator, lsoa: np.ndarray) -> np.ndarray:
        """Row index of a random terminated postcode in each LSOA (-1 where there is none)."""
        n = self.term_n[lsoa]
        idx = self.term_start[lsoa] + (rng.random(len(lsoa)) * np.maximum(n, 1)).astype(np.int64)
        return np.where(n > 0, idx, -1)


def home_values(
    rng: np.random.Generator, pidx: PostcodeIndex, lsoa: np.ndarray, term_boost: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Draw each child's home postcode value and its content-fault code ('' when clean)."""
    n = len(lsoa)
    row = pidx.live_in(rng, lsoa)
    value = pidx.pcs[row].copy()
    codes = np.array(list(CONTENT_FAULTS), dtype=object)
    p = np.array(list(CONTENT_FAULTS.values()))
    p[0] *= term_boost
    r = rng.random(n)
    cum = np.cumsum(p)
    k = np.searchsorted(cum, r, side="right")
    code = np.where(k < len(codes), codes[np.minimum(k, len(codes) - 1)], "").astype(object)
    out, inn = pidx.outward[row], pidx.inward[row]
    for i in np.flatnonzero(code != ""):
        c = code[i]
        if c == "PC_TERMINATED":
            t = pidx.terminated_in(rng, lsoa[i : i + 1])[0]
            if t < 0:
                code[i] = ""
            else:
                value[i] = pidx.pcs[t]
        elif c == "PC_PARTIAL_SECTOR":
            value[i] = f"{out[i]} {inn[i][0]}"
        elif c == "PC_UNKNOWN":
            value[i] = f"{out[i]} {inn[i][0]}Z{UNIT2[rng.integers(0, len(UNIT2))]}"
        elif c == "PC_NON_ENGLISH":
            value[i] = pidx.non_english[rng.integers(0, len(pidx.non_english))]
        elif c == "PC_PLACEHOLDER":
            value[i] = PLACEHOLDERS[rng.integers(0, len(PLACEHOLDERS))]
        elif c == "PC_NFA":
            value[i] = NFA_VALUES[rng.integers(0, len(NFA_VALUES))]
    return value, code


_REFORMATS = ("lower", "unspaced", "nbsp", "tab", "double", "lower_unspaced")


def reformat(value: str, how: str) -> str:
    """Damage the formatting of a canonical postcode the way case systems do."""
    if how == "lower":
        return value.lower()
    if how == "unspaced":
        return value.replace(" ", "")
    if how == "nbsp":
        return value.replace(" ", "\u00a0")
    if how == "tab":
        return value.replace(" ", "\t")
    if how == "double":
        return value.replace(" ", "  ")
    return value.lower().replace(" ", "")


def render_rows(
    rng: np.random.Generator, value: np.ndarray, code: np.ndarray, column: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per postcode-bearing row: final text and fault items (content code or reformatting)."""
    value = value.copy()
    items = np.where(code != "", np.char.add(code.astype(str), f":{column}"), "").astype(object)
    eligible = (code == "") & (value != "")
    hit = eligible & (rng.random(len(value)) < REFORMAT_RATE)
    hows = rng.integers(0, len(_REFORMATS), len(value))
    for i in np.flatnonzero(hit):
        value[i] = reformat(value[i], _REFORMATS[hows[i]])
        items[i] = f"PC_REFORMATTED:{column}"
    return value, items


def _join(*cols: np.ndarray) -> np.ndarray:
    out = np.full(len(cols[0]), "", dtype=object)
    for c in cols:
        both = (out != "") & (c != "")
        out = np.where(both, out + "|" + c, np.where(c != "", c, out))
    return out


def _code_faults(rng, n, rate, values, column, rule) -> tuple[np.ndarray, np.ndarray]:
    hit = rng.random(n) < rate
    bad = np.asarray(values, dtype=object)[rng.integers(0, len(values), n)]
    return hit, np.where(hit, bad, None), np.where(hit, f"{rule}:{column}", "").astype(object)


@dataclass
class LAYearRecords:
    """Tables of one LA and year, each with a ``_f`` fault column (see module docstring)."""

    header: pd.DataFrame
    episodes: pd.DataFrame
    cin: pd.DataFrame
    cin_details: pd.DataFrame
    addresses: pd.DataFrame
    csv_903: bool


def build_la_year(
    rng: np.random.Generator,
    geo: Geography,
    pidx: PostcodeIndex,
    kids: pd.DataFrame,
    la: int,
    year: int,
    next_id: int,
) -> tuple[LAYearRecords, int]:
    """Build the records of LA ``la`` (row index) for collection ``year``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    geo : Geography
        Geography (LSOAs, LA list).
    pidx : PostcodeIndex
        Postcode directory index.
    kids : pandas.DataFrame
        This LA's children for the year (see :class:`cwi.demo.model.Children`).
    la : int
        LA row index.
    year : int
        Collection year (31 March snapshot).
    next_id : int
        First free child id number in this LA.

    Returns
    -------
    tuple
        The records and the next free id number.
    """
    T, S = day(f"{year}-03-31"), day(f"{year - 1}-04-01")
    n = len(kids)
    lea = geo.las["lea"].iloc[la]
    status = kids["status"].to_numpy(object)
    age = kids["age"].to_numpy()
    # ids: unique in the LA across years, shuffled
    gaps = rng.integers(1, 30, n)
    ids_num = next_id + np.cumsum(gaps)
    next_id = int(ids_num[-1]) + 1 if n else next_id
    ids = rng.permutation(ids_num).astype(str).astype(object)
    # dates of birth: age completed years at T
    lo = np.array([day(f"{year - a - 1}-04-01") for a in range(18)])
    hi = np.array([day(f"{year - a}-03-31") for a in range(18)])
    a = np.clip(age, 0, 17)
    dob = lo[a] + (rng.random(n) * (hi[a] - lo[a] + 1)).astype(np.int64)
    closed = np.isin(status, ["CLA_CEASED", "CIN_CLOSED"])
    dob = np.where(closed & (dob > T - 40), T - 40 - rng.integers(0, 60, n), dob)
    dob = np.maximum(dob, lo[a])
    unborn = status == "UNBORN"
    dob = np.where(unborn, -1, dob)
    edd = np.where(unborn, T + rng.integers(1, 181, n), -1)
    sex = kids["sex"].to_numpy()
    eth = np.array(ETHNIC_LIST, dtype=object)[kids["eth"].to_numpy()]
    lsoa = kids["lsoa"].to_numpy()
    uasc = status == "UASC"
    la_lsoas = np.flatnonzero(geo.lsoas["la_code"].to_numpy() == geo.las["la_code"].iloc[la])
    place_lsoa = np.where(lsoa >= 0, lsoa, la_lsoas[rng.integers(0, len(la_lsoas), n)])
    home, home_code = home_values(rng, pidx, place_lsoa)
    # UASC: home unknown in the SSDA903 (blank HOME_POST); the address extract holds the placement
    home903 = np.where(uasc, "", home).astype(object)
    home903_code = np.where(uasc, "PC_BLANK_EXPECTED", home_code).astype(object)
    addr_home = np.where(uasc, pidx.pcs[pidx.live_in(rng, place_lsoa)], home).astype(object)
    addr_code = np.where(uasc, "", home_code).astype(object)
    letters = np.array(list("ABCDEFGHJKLMNPQRTUVWXYZ"), dtype=object)
    upn = (
        letters[rng.integers(0, len(letters), n)]
        + lea
        + rng.integers(10**8, 10**9, n).astype(str).astype(object)
    )
    upn = np.where((age >= 4), upn, "")

    # ---- looked-after periods ---------------------------------------------------------------
    cla = np.isin(status, ["CLA", "CLA_CEASED", "UASC"])
    ci = np.flatnonzero(cla)
    m = len(ci)
    dur = np.where(uasc[ci], rng.exponential(300, m), rng.exponential(800, m)) + 1
    ceased = status[ci] == "CLA_CEASED"
    cease = np.where(ceased, S + rng.integers(0, T - S, m), -1)
    cease = np.where(ceased, np.clip(cease, dob[ci] + 2, T - 1), -1)
    end = np.where(ceased, cease, T)
    start_p = np.clip(end - dur.astype(np.int64), dob[ci], np.where(ceased, end - 1, end))
    e0 = np.where(
        (start_p < S) & (rng.random(m) < 0.5),
        start_p + (rng.random(m) * (S - start_p)).astype(np.int64),
        start_p,
    )
    e0 = np.where(ceased, np.minimum(e0, end - 1), e0)
    lo_c = np.maximum(e0, S - 1)
    window = end - lo_c
    k = np.minimum(rng.poisson(0.5, m), 3)
    k = np.maximum(np.minimum(k, (window - 2) // 2), 0)
    ls = _choice(rng, _LS, m)
    ls = np.where(uasc[ci], "V2", ls)
    need = np.where(uasc[ci], "N8", _choice(rng, _NEED, m))
    rec_end = _choice(rng, _REC_END, m)
    # episode rows
    ep_child = np.repeat(np.arange(m), k + 1)
    ep_no = np.arange(len(ep_child)) - np.repeat(np.cumsum(k + 1) - (k + 1), k + 1)
    n_chg = int(k.sum())
    chg_child = np.repeat(np.arange(m), k)
    u = rng.random(n_chg)
    order = np.lexsort((u, chg_child))
    u_sorted = u[order]
    chg_no = np.arange(n_chg) - np.repeat(np.cumsum(k) - k, k) + 1
    chg_day = lo_c[chg_child] + np.floor(u_sorted * (window[chg_child] - k[chg_child] - 1)).astype(np.int64) + chg_no  # fmt: skip
    decom = np.empty(len(ep_child), dtype=np.int64)
    first = ep_no == 0
    decom[first] = e0
    decom[~first] = chg_day
    last = ep_no == k[ep_child]
    nxt = np.roll(decom, -1)
    dec = np.where(last, np.where(ceased[ep_child], cease[ep_child], -1), nxt)
    rec = np.where(last, np.where(ceased[ep_child], rec_end[ep_child], ""), "X1")
    rne = np.where(first, np.where(e0[ep_child] == start_p[ep_child], "S", "P"), "P")
    place = _choice(rng, _PLACE, len(ep_child))
    place = np.where(uasc[ci][ep_child] & (place == "P1"), "U1", place)
    provider = np.where(place == "P1", "PR0", _choice(rng, _PROVIDER, len(ep_child)))
    reason = np.where(rne == "P", np.array(_REASON, dtype=object)[rng.integers(0, len(_REASON), len(ep_child))], "")  # fmt: skip
    urn = np.where(place == "K2", np.char.add("SC", np.char.zfill(rng.integers(0, 999999, len(ep_child)).astype(str), 6)), "XXXXXXX").astype(object)  # fmt: skip
    pl_post = pidx.pcs[pidx.live_in(rng, la_lsoas[rng.integers(0, len(la_lsoas), len(ep_child))])]
    child_of_ep = ci[ep_child]
    # A placement postcode equal to the home postcode is only plausible when placed with parents
    # (DfE check 392d); re-draw the rare chance collisions so the demo carries no unrecorded finding.
    for _ in range(20):
        clash = np.flatnonzero((pl_post == home903[child_of_ep]) & (place != "P1"))
        if clash.size == 0:
            break
        redraw = la_lsoas[rng.integers(0, len(la_lsoas), clash.size)]
        pl_post[clash] = pidx.pcs[pidx.live_in(rng, redraw)]
    hp, hp_items = render_rows(rng, home903[child_of_ep], home903_code[child_of_ep], "HOME_POST")
    episodes = pd.DataFrame(
        {
            "_child": child_of_ep,
            "CHILD": ids[child_of_ep],
            "DECOM": decom,
            "RNE": rne,
            "LS": ls[ep_child],
            "CIN": need[ep_child],
            "PLACE": place,
            "PLACE_PROVIDER": provider,
            "DEC": dec,
            "REC": rec,
            "REASON_PLACE_CHANGE": reason,
            "HOME_POST": hp,
            "PL_POST": pl_post,
            "URN": urn,
            "_f": hp_items,
        }
    )
    # ---- short breaks (disabled children in need) ------------------------------------------------
    sb = np.flatnonzero(kids["short_break"].to_numpy())
    lo_s = np.maximum(S, dob[sb])
    w = T - lo_s
    ks = np.minimum(rng.integers(1, 5, len(sb)), (w - 16) // 10)
    ks = np.maximum(ks, 0)
    sb_child = np.repeat(sb, ks)
    sb_no = np.arange(len(sb_child)) - np.repeat(np.cumsum(ks) - ks, ks)
    us = rng.random(len(sb_child))
    us = us[np.lexsort((us, sb_child))]
    kk = np.repeat(ks, ks)
    base = np.repeat(lo_s, ks)
    ww = np.repeat(w, ks)
    sdecom = base + np.floor(us * (ww - 10 * kk - 6)).astype(np.int64) + 10 * sb_no
    sdec = sdecom + rng.integers(1, 6, len(sb_child))
    sls = np.repeat(np.where(rng.random(len(sb)) < 0.5, "V3", "V4"), ks)
    n_sb = len(sb_child)
    short = pd.DataFrame(
        {
            "_child": sb_child,
            "CHILD": ids[sb_child],
            "DECOM": sdecom,
            "RNE": "S",
            "LS": sls,
            "CIN": "N2",
            "PLACE": "K2",
            "PLACE_PROVIDER": "PR1",
            "DEC": sdec,
            "REC": "E13",
            "REASON_PLACE_CHANGE": "",
            "HOME_POST": "",
            "PL_POST": "",
            "URN": np.char.add(
                "SC", np.char.zfill(rng.integers(0, 999999, n_sb).astype(str), 6)
            ).astype(object),  # fmt: skip
            "_f": np.full(n_sb, "SHORT_BREAK:LS|PC_BLANK_EXPECTED:HOME_POST", dtype=object),
        }
    )
    episodes = pd.concat([episodes, short], ignore_index=True)
    episodes = episodes.sort_values(["_child", "DECOM"], kind="stable").reset_index(drop=True)
    episodes["_order"] = episodes["CHILD"].astype(np.int64)
    episodes = episodes.sort_values(["_order", "DECOM"], kind="stable").drop(columns="_order")
    episodes = episodes.reset_index(drop=True)
    episodes["DECOM"] = fmt_dates(episodes["DECOM"].to_numpy(), "903")
    episodes["DEC"] = fmt_dates(episodes["DEC"].to_numpy(), "903")

    # ---- SSDA903 header -------------------------------------------------------------------------
    in903 = np.unique(episodes["_child"].to_numpy())
    hn = len(in903)
    sex903 = np.where(sex[in903] == 0, "1", "2").astype(object)
    hit_s, bad_s, f_s = _code_faults(
        rng, hn, SEX_INVALID_RATE, INVALID_SEX_903, "SEX", "SEX_INVALID"
    )
    sex903 = np.where(hit_s, bad_s, sex903)
    eth903 = eth[in903].copy()
    hit_e, bad_e, f_e = _code_faults(rng, hn, ETHNIC_INVALID_RATE, INVALID_ETHNIC_VALUES, "ETHNIC", "ETHNIC_INVALID")  # fmt: skip
    eth903 = np.where(hit_e, bad_e, eth903)
    header = pd.DataFrame(
        {
            "_child": in903,
            "CHILD": ids[in903],
            "SEX": sex903,
            "DOB": fmt_dates(dob[in903], "903"),
            "ETHNIC": eth903,
            "UPN": upn[in903],
            "MOTHER": "",
            "MC_DOB": "",
            "UASC": np.where(uasc[in903], "1", ""),
            "_f": _join(f_s, f_e),
        }
    )
    header["_order"] = header["CHILD"].astype(np.int64)
    header = (
        header.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)
    )

    # ---- CIN census -------------------------------------------------------------------------------
    ref = np.full(n, -1, dtype=np.int64)
    closure = np.full(n, -1, dtype=np.int64)
    ref_cla = start_p - rng.integers(0, 120, m)
    ref[ci] = np.maximum(ref_cla, dob[ci])
    closure[ci] = np.where(ceased, cease, -1)
    cpp_start = np.full(n, -1, dtype=np.int64)
    cp = np.flatnonzero(status == "CPP")
    cpp_start[cp] = np.clip(T - rng.exponential(220, len(cp)).astype(np.int64), dob[cp], T)
    ref[cp] = np.maximum(cpp_start[cp] - rng.integers(0, 90, len(cp)), dob[cp])
    op = np.flatnonzero(np.isin(status, ["CIN_DIS", "CIN_ND"]))
    ref[op] = np.clip(T - rng.exponential(400, len(op)).astype(np.int64), dob[op], T)
    cl = np.flatnonzero(status == "CIN_CLOSED")
    closure[cl] = np.clip(S + rng.integers(0, T - S, len(cl)), dob[cl] + 1, T - 1)
    ref[cl] = np.clip(closure[cl] - rng.integers(1, 200, len(cl)), dob[cl], closure[cl])
    ub = np.flatnonzero(unborn)
    ref[ub] = T - rng.integers(0, 150, len(ub))
    disabled = kids["disabled"].to_numpy()
    dis_codes = np.array(_DISABILITY, dtype=object)
    d1 = dis_codes[rng.integers(0, len(dis_codes), n)]
    d2 = dis_codes[rng.integers(0, len(dis_codes), n)]
    two = rng.random(n) < 0.3
    disab = np.where(disabled, np.where(two & (d1 != d2), d1 + "|" + d2, d1), "NONE")
    if year >= 2025:
        sexc = np.where(unborn, "U", np.where(sex == 0, "M", "F")).astype(object)
    else:
        sexc = np.where(unborn, "0", np.where(sex == 0, "1", "2")).astype(object)
    hit_s, bad_s, f_s = _code_faults(rng, n, SEX_INVALID_RATE, INVALID_SEX_CIN, "Sex" if year >= 2025 else "GenderCurrent", "SEX_INVALID")  # fmt: skip
    hit_s &= ~unborn
    f_s = np.where(unborn, "", f_s)
    sexc = np.where(hit_s, bad_s, sexc)
    ethc = eth.copy()
    hit_e, bad_e, f_e = _code_faults(rng, n, ETHNIC_INVALID_RATE, INVALID_ETHNIC_VALUES, "Ethnicity", "ETHNIC_INVALID")  # fmt: skip
    ethc = np.where(hit_e, bad_e, ethc)
    cin = pd.DataFrame(
        {
            "_child": np.arange(n),
            "LAchildID": ids,
            "UPN": upn,
            "PersonBirthDate": fmt_dates(dob, "iso"),
            "ExpectedPersonBirthDate": fmt_dates(edd, "iso"),
            "SexCode": sexc,
            "Ethnicity": ethc,
            "Disabilities": disab,
            "CINreferralDate": fmt_dates(ref, "iso"),
            "ReferralSource": np.array(_REF_SOURCE, dtype=object)[rng.integers(0, len(_REF_SOURCE), n)],
            "PrimaryNeedCode": np.where(disabled & (status == "CIN_DIS"), "N2", _choice(rng, _NEED, n)),
            "CINclosureDate": fmt_dates(closure, "iso"),
            "ReasonForClosure": np.where(closure >= 0, np.array(_CLOSE, dtype=object)[rng.integers(0, len(_CLOSE), n)], ""),
            "CPPstartDate": fmt_dates(cpp_start, "iso"),
            "InitialCategoryOfAbuse": _choice(rng, _ABUSE, n),
            "NumberOfPreviousCPP": rng.poisson(0.3, n).astype(str),
            "_f": _join(f_s, f_e, np.where(unborn, "UNBORN:ExpectedPersonBirthDate", "").astype(object)),
        }
    )  # fmt: skip
    cin["_order"] = cin["LAchildID"].astype(np.int64)
    cin = cin.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)

    # ---- address extract ----------------------------------------------------------------------------
    start_addr = np.where(unborn, ref, np.maximum(ref, dob))
    as_at = start_addr + (rng.random(n) * (T - start_addr + 1)).astype(np.int64)
    as_at = np.where(unborn, ref, np.minimum(as_at, T))
    v, items = render_rows(rng, addr_home, addr_code, "postcode")
    cur = pd.DataFrame(
        {"_child": np.arange(n), "LAchildID": ids, "postcode": v, "as_at": as_at, "_f": items}
    )
    old = np.flatnonzero((~unborn) & (as_at - dob > 400) & (rng.random(n) < OLD_ADDRESS_RATE))
    span = np.minimum(1500, as_at[old] - dob[old])
    old_at = as_at[old] - 200 - (rng.random(len(old)) * np.maximum(span - 200, 1)).astype(np.int64)
    old_at = np.maximum(old_at, dob[old])
    olsoa = la_lsoas[rng.integers(0, len(la_lsoas), len(old))]
    ov, oc = home_values(rng, pidx, olsoa, term_boost=6.0)
    ov, oitems = render_rows(rng, ov, oc, "postcode")
    prev = pd.DataFrame(
        {"_child": old, "LAchildID": ids[old], "postcode": ov, "as_at": old_at, "_f": oitems}
    )
    addresses = pd.concat([cur, prev], ignore_index=True)
    addresses["_order"] = addresses["LAchildID"].astype(np.int64)
    addresses = addresses.sort_values(["_order", "as_at"], kind="stable").drop(columns="_order")
    addresses = addresses.reset_index(drop=True)
    addresses["as_at"] = fmt_dates(addresses["as_at"].to_numpy(), "iso")
    recs = LAYearRecords(
        header=header,
        episodes=episodes,
        cin=cin,
        cin_details=pd.DataFrame(),
        addresses=addresses,
        csv_903=bool(geo.las["csv_903"].iloc[la]),
    )
    return recs, next_id


def damage_ids_and_duplicate(
    rng: np.random.Generator, df: pd.DataFrame, id_col: str, allow_duplicates: bool = True
) -> pd.DataFrame:
    """Plant spreadsheet-damaged ids (``123456.0``) and exact duplicate rows in a CSV table."""
    df = df.copy()
    n = len(df)
    hit = rng.random(n) < ID_DAMAGE_RATE
    df.loc[hit, id_col] = df.loc[hit, id_col] + ".0"
    df["_f"] = _join(
        df["_f"].to_numpy(object), np.where(hit, f"ID_EXCEL_DAMAGED:{id_col}", "").astype(object)
    )
    if not allow_duplicates:
        return df
    dup = (df["_f"].to_numpy(object) == "") & (rng.random(n) < DUPLICATE_RATE)
    reps = np.where(dup, 2, 1)
    out = df.loc[df.index.repeat(reps)].reset_index(drop=True)
    second = np.zeros(len(out), dtype=bool)
    pos = np.cumsum(reps) - 1
    second[pos[dup]] = True
    out.loc[second, "_f"] = "ROW_DUPLICATE:"
    return out
