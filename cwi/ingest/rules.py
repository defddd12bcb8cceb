"""The validation rules' codes, severities and messages: one registry for ingest, demo and tests.

A finding in the validation report names its rule by ``code``. The demo generator records every
fault it injects under the same code (``data/demo/truth/faults.csv``), so a test can check that the
ingest report counts exactly what was planted. Messages never contain the offending value; they say
what is wrong and what to do.

Severity follows the DfE validators: ``error`` rows are not used; ``query`` rows are used but
should be checked; ``info`` records a repair made automatically.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One validation rule.

    Parameters
    ----------
    code : str
        Stable identifier used in reports, truth files and tests.
    severity : str
        ``error`` (row rejected), ``query`` (row kept, check it) or ``info`` (repaired).
    message : str
        What is wrong and what to do, without any data value.
    """

    code: str
    severity: str
    message: str


_RULES: tuple[Rule, ...] = (
    # ---- file level ----------------------------------------------------------------------
    Rule(
        "FILE_UNREADABLE",
        "error",
        "The file cannot be read. Check it is a complete CSV or XML export and not password-protected.",
    ),
    Rule(
        "FILE_ENCODING_BOM",
        "info",
        "The file starts with a byte-order mark; it was read as UTF-8. No action needed.",
    ),
    Rule(
        "FILE_ENCODING_CP1252",
        "query",
        "The file is not UTF-8; it was read as Windows-1252. Re-save it as UTF-8 to be sure accents survive.",
    ),
    Rule(
        "FILE_UNKNOWN_TABLE",
        "error",
        "The columns match no known table (SSDA903 Header/Episodes, CIN census, address extract, standard CSV). Check the header row.",
    ),
    Rule(
        "FILE_MISSING_COLUMNS",
        "error",
        "Required columns are missing. Re-export the table with every column of the return.",
    ),
    Rule("FILE_EMPTY", "query", "The file has no data rows."),
    Rule(
        "FILE_XML_MALFORMED",
        "error",
        "The XML is not well formed (truncated or damaged). Re-export the return.",
    ),
    Rule(
        "FILE_DELIMITER_SEMICOLON",
        "error",
        "The file is separated by semicolons (;), not commas. Re-save it as comma-separated CSV.",
    ),
    Rule(
        "FILE_DELIMITER_TAB",
        "error",
        "The file is separated by tabs, not commas. Re-save it as comma-separated CSV.",
    ),
    Rule(
        "FILE_DELIMITER_PIPE",
        "error",
        "The file is separated by pipes (|), not commas. Re-save it as comma-separated CSV.",
    ),
    Rule(
        "FILE_XML_NAMESPACE",
        "error",
        "The XML root element is in a namespace the SSDA903 and CIN census returns do not use. Re-export the return from the case-management system.",
    ),
    Rule(
        "FILE_YEAR_UNKNOWN",
        "error",
        "The collection year cannot be determined. Put the year in the folder name or the XML header.",
    ),
    # ---- row level: structure --------------------------------------------------------------
    Rule("ROW_DUPLICATE", "info", "An exact duplicate of an earlier row was dropped."),
    Rule(
        "ROW_FIELD_COUNT",
        "error",
        "The row has more or fewer fields than the header. Check for unquoted commas.",
    ),
    Rule(
        "ROW_ORPHAN",
        "error",
        "The row's child has no header/identifier record. Check the child appears in the Header table.",
    ),
    # ---- identifiers ----------------------------------------------------------------------
    Rule(
        "ID_MISSING", "error", "The child identifier is blank. Every row needs CHILD / LAchildID."
    ),
    Rule(
        "ID_EXCEL_DAMAGED",
        "query",
        "The child identifier looks damaged by a spreadsheet (e.g. '.0' added, scientific notation); it was repaired. Export IDs as text.",
    ),
    Rule(
        "ID_INVALID",
        "error",
        "The child identifier is longer than 20 characters or not alphanumeric.",
    ),
    # ---- dates ----------------------------------------------------------------------------
    Rule(
        "DATE_INVALID",
        "error",
        "A date cannot be read. Use dd/mm/yyyy (SSDA903) or yyyy-mm-dd (CIN census).",
    ),
    Rule(
        "DATE_ORDER",
        "error",
        "Dates are in an impossible order (e.g. end before start, birth after episode start).",
    ),
    Rule("DOB_FUTURE", "error", "The date of birth is after the snapshot date."),
    Rule(
        "AGE_OUT_OF_RANGE",
        "query",
        "The child is 18 or over at the snapshot; not counted among children aged 0-17.",
    ),
    Rule(
        "UNBORN",
        "info",
        "Unborn child (expected birth date only): counted in CIN totals, not in age-based rates.",
    ),
    # ---- codes ----------------------------------------------------------------------------
    Rule(
        "SEX_INVALID",
        "query",
        "Sex is not a valid code (SSDA903 1/2; CIN 0/1/2/9 or M/F/U); recorded as not known.",
    ),
    Rule(
        "ETHNIC_INVALID",
        "query",
        "Ethnicity is not one of the 20 DfE codes; recorded as not known.",
    ),
    Rule(
        "ETHNIC_ALIAS",
        "info",
        "A legacy ethnicity code (e.g. GROM, ACHN) was mapped by the alias table.",
    ),
    Rule("LEGAL_STATUS_INVALID", "error", "The legal status (LS) is not a valid SSDA903 code."),
    Rule(
        "SHORT_BREAK",
        "info",
        "Short-break legal status V3/V4: not counted as looked after at 31 March, as in DfE statistics.",
    ),
    # ---- postcode -> LSOA linkage ------------------------------------------------------------
    Rule(
        "PC_REFORMATTED",
        "info",
        "Home postcode was re-spaced or upper-cased to the standard form before lookup. No action needed.",
    ),
    Rule(
        "PC_BLANK_EXPECTED",
        "info",
        "Home postcode blank for an unaccompanied asylum-seeking child or short break, as expected; no LSOA assigned.",
    ),
    Rule(
        "PC_BLANK",
        "query",
        "Home postcode is blank; no LSOA assigned. Add the home postcode from the case record.",
    ),
    Rule(
        "PC_INVALID",
        "query",
        "Home postcode is not in a valid UK postcode format; no LSOA assigned. Correct it in the case record.",
    ),
    Rule(
        "PC_PARTIAL_SECTOR",
        "query",
        "Home postcode is a sector only (e.g. 'AB1 2'); a sector spans many LSOAs, so none is assigned. Supply the full postcode.",
    ),
    Rule(
        "PC_PARTIAL_DISTRICT",
        "query",
        "Home postcode is a district only (e.g. 'AB1'); no LSOA assigned. Supply the full postcode.",
    ),
    Rule(
        "PC_UNKNOWN",
        "query",
        "Home postcode is well formed but not in the postcode directory; no LSOA assigned. Check for typing errors or use a newer directory.",
    ),
    Rule(
        "PC_TERMINATED",
        "query",
        "Home postcode has been terminated; its last LSOA was used. Check the address is current.",
    ),
    Rule(
        "PC_NON_ENGLISH",
        "query",
        "Home postcode is outside England (Wales, Scotland, Northern Ireland, Channel Islands or Isle of Man); English IMD does not apply.",
    ),
    Rule("PC_PLACEHOLDER", "query", "Home postcode is a placeholder (ZZ99...); no LSOA assigned."),
    Rule("PC_NFA", "query", "No fixed abode recorded; no LSOA assigned."),
    Rule(
        "PC_OUTSIDE_LA",
        "query",
        "Home postcode lies outside the LA's area; the LSOA is used but the child is counted in the LA that returned them.",
    ),
    Rule(
        "ADDRESS_MISSING",
        "query",
        "No address record for this child in the address extract; no LSOA assigned.",
    ),
    # ---- added by the ingest step (issue 5) -------------------------------------------------
    Rule(
        "FILE_ENCODING_UTF16",
        "info",
        "The file is UTF-16; it was read as such. Re-save it as UTF-8 for other tools.",
    ),
    Rule(
        "FILE_DUPLICATE_COLUMNS",
        "query",
        "Two columns have the same name; the first was used. Remove the repeated column.",
    ),
    Rule(
        "FILE_DUPLICATE_TABLE",
        "error",
        "Another file in this folder already holds this table (same return as CSV and XML, or the same file twice); this file was not used. Keep one file per table.",
    ),
    Rule(
        "FILE_YEAR_MISMATCH",
        "query",
        "The year in the XML header differs from the folder's collection year; the folder's year was used. Check the file belongs to this year.",
    ),
    Rule(
        "ROW_DUPLICATE_KEY",
        "error",
        "Another row has the same key (child, or child and start date) with different values; this later row was rejected. Keep one record.",
    ),
    Rule(
        "PLACE_INVALID",
        "query",
        "The placement type is not valid for this collection year. Check the PLACE code against the year's code list.",
    ),
    Rule(
        "VALUE_OUT_OF_RANGE",
        "query",
        "A number is negative or implausibly large (e.g. NumberOfPreviousCPP, SDQ_SCORE). Check the value.",
    ),
    Rule(
        "EPISODE_OVERLAP",
        "query",
        "The child's episodes overlap or more than one is open; the child is counted once. Check the episode dates.",
    ),
    Rule(
        "PC_HOME_IS_PLACEMENT",
        "query",
        "Home postcode equals the placement postcode although the child is not placed with parents (P1); the placement postcode may have been copied. Check the home address.",
    ),
    Rule(
        "ADDRESS_CONFLICT",
        "query",
        "The child has two addresses with the same as-at date but different postcodes; neither was used. Keep one address per date.",
    ),
    Rule(
        "MEASURE_INVALID",
        "error",
        "The measure in the standard CSV is not CIN, CPP or CLA. Use one of these codes.",
    ),
    Rule(
        "DISABLED_INVALID",
        "query",
        "The disability flag in the standard CSV is not Y, N or U; recorded as not known.",
    ),
    Rule(
        "REF_LSOA_EDITION",
        "query",
        "The postcode directory gives LSOAs of a different edition (2011/2021) from the one the IMD edition in settings.yml uses. Use a directory with the matching LSOA column.",
    ),
    Rule(
        "RULE_CRASHED",
        "error",
        "A validation rule failed to run on this file; other rules ran. Report this to the CWI maintainers.",
    ),
)

RULES: dict[str, Rule] = {rule.code: rule for rule in _RULES}

#: Postcode reasons under which the child is linked to an LSOA (counted in deprivation analyses).
LINKED_REASONS: frozenset[str] = frozenset({"PC_OK", "PC_TERMINATED", "PC_OUTSIDE_LA"})


def rule(code: str) -> Rule:
    """Return the rule registered under ``code``.

    Raises
    ------
    KeyError
        If the code is not registered (a typo in a producer is caught at once).
    """
    return RULES[code]
