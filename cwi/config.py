"""Project paths and release settings, resolved from one root, as a typed model.

Every path the project reads or writes is derived here from ``ROOT`` (the folder holding
``settings.yml``), so no module depends on the working directory and nothing calls ``chdir``.
Release settings live in the one tracked settings file ``settings.yml``; an alternative file can
be named with the ``CWI_SETTINGS`` environment variable (a partial file is merged over the
tracked one). Every key is declared below as a pydantic model and validated on load: a wrong
key or value raises :class:`SettingsError` with one line per problem naming the key and the fix.
"""

from __future__ import annotations

import copy
import datetime as _dt
import os
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from cwi.io import load_yaml

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_FILE = ROOT / "settings.yml"
SHARED_PUBLIC = ROOT.parent / "shared" / "data" / "public"

#: Smallest thresholds allowed for published outputs (documented in settings.yml and the
#: README). Lower values need ``disclosure.unsafe_allow_low_thresholds: true``, which stamps
#: every output "NOT FOR PUBLICATION".
THRESHOLD_MINIMUMS = {
    "la_total_min": 6,
    "crosstab_min": 10,
    "zero_safe_margin": 10,
    "round_regional_to": 10,
}
#: Earliest collection year the statutory returns and reference data support.
FIRST_YEAR = 2009
MEASURES = ("CIN", "CPP", "CLA")
_LA_CODE = re.compile(r"^[EWX](0[6-9]|1[0-2])\d{6}$")


class SettingsError(ValueError):
    """A settings file is missing, unreadable or holds an invalid value."""


def _deep_merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Year = Annotated[StrictInt, Field(ge=FIRST_YEAR)]
PathStr = Annotated[str, Field(min_length=1)]


class ReleaseSettings(_Section):
    """``release:`` what is being published."""

    title: str
    region_name: str | None = None
    main_year: Year
    years: list[Year] = Field(min_length=1)
    imd_vintage: Literal["demo", "2010", "2019", "2025"]
    lsoa_edition: Literal["2011", "2021"] = "2011"
    la_list: Literal["all"] | Annotated[list[str], Field(min_length=1)] = "all"

    @field_validator("imd_vintage", "lsoa_edition", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("years")
    @classmethod
    def _years_known(cls, value: list[int]) -> list[int]:
        this_year = _dt.date.today().year
        future = [y for y in value if y > this_year]
        if future:
            raise ValueError(
                f"{future} not yet collected (latest possible collection year is {this_year})"
            )
        if len(set(value)) != len(value):
            raise ValueError("lists a year twice")
        return sorted(value)

    @field_validator("la_list")
    @classmethod
    def _codes(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list):
            bad = [c for c in value if not _LA_CODE.match(str(c))]
            if bad:
                raise ValueError(
                    f"{bad} not LA codes (9 characters like E06000019); use 'all' or a list of "
                    "codes of the reference data"
                )
        return value

    @model_validator(mode="after")
    def _main_in_years(self) -> ReleaseSettings:
        if self.main_year not in self.years:
            raise ValueError(
                f"release.main_year {self.main_year} is not in release.years {self.years}; "
                "add it to years or pick one of them"
            )
        return self


class DataSettings(_Section):
    """``data:`` where the inputs are."""

    source: Literal["demo", "real-geography", "extracts", "public"]
    demo_dir: PathStr
    extracts_dir: PathStr
    reference_dir: PathStr
    reference_cache: PathStr
    private_dir: PathStr
    region_code: str | None = None
    real_la_list: list[str] | None = None
    postcode_directory: PathStr | list[PathStr] | None = None
    reference_mirror: str | None = None
    postcode_coverage_min: Annotated[float, Field(ge=0.0, le=1.0)] = 0.95
    postcode_coverage_action: Literal["stop", "restrict"] = "stop"
    accept_errors: list[str] = Field(default_factory=list)
    pseudo_key_file: str | None = None


class DemoSettings(_Section):
    """``demo:`` the synthetic region generator."""

    seed: StrictInt
    n_las: Annotated[StrictInt, Field(ge=1, le=200)]
    years: list[Year] = Field(min_length=1)


class AnalysisSettings(_Section):
    """``analysis:`` statistics."""

    confidence: Annotated[float, Field(gt=0.5, lt=1.0)]
    rate_per: Annotated[StrictInt, Field(gt=0)]
    measures: list[Literal["CIN", "CPP", "CLA"]] = Field(min_length=1)
    neighbours_file: str | None = None


class DisclosureSettings(_Section):
    """``disclosure:`` suppression thresholds and rounding."""

    la_total_min: StrictInt
    crosstab_min: StrictInt
    zero_safe_margin: StrictInt
    round_regional_to: StrictInt
    unsafe_allow_low_thresholds: StrictBool = False

    @model_validator(mode="after")
    def _minimums(self) -> DisclosureSettings:
        for key, low in THRESHOLD_MINIMUMS.items():
            value = getattr(self, key)
            if value < 1:
                raise ValueError(f"disclosure.{key} is {value}: it must be a whole number >= 1")
            if value < low and not self.unsafe_allow_low_thresholds:
                raise ValueError(
                    f"disclosure.{key} is {value}, below the minimum {low} for published "
                    f"outputs; use at least {low} (or, for outputs that will never be "
                    "published, set disclosure.unsafe_allow_low_thresholds: true)"
                )
        return self


class OutputSettings(_Section):
    """``output:`` where the build writes."""

    build_dir: PathStr
    results_dir: PathStr
    templates_dir: PathStr = "templates"
    site_dir: PathStr
    pdf_dir: PathStr
    site_url: str | None = None  # public address of the website: report PDF links use it


class PublicSettings(_Section):
    """``public:`` the public-data edition (every English LA from published tables)."""

    enabled: StrictBool = True
    data_dir: str | None = None
    decile_rates: Literal["published"] = "published"
    neighbours: Annotated[StrictInt, Field(ge=1, le=50)] = 10


class InterviewSettings(_Section):
    """``interviews:`` the qualitative strand."""

    scheme: str | None = None


class SettingsModel(_Section):
    """The whole settings file."""

    release: ReleaseSettings
    data: DataSettings
    demo: DemoSettings
    analysis: AnalysisSettings
    disclosure: DisclosureSettings
    output: OutputSettings
    interviews: InterviewSettings = InterviewSettings()
    public: PublicSettings = PublicSettings()


_FIXES = {
    "release.years": "a list of collection years, e.g. years: [2021, 2022, 2023]",
    "release.main_year": "one collection year from release.years, e.g. 2023",
    "release.la_list": "'all' or a list of LA codes, e.g. [E06000019, E06000020]",
    "release.imd_vintage": "one of demo, 2010, 2019, 2025",
    "analysis.measures": "a list drawn from CIN, CPP, CLA, e.g. [CIN, CPP, CLA]",
    "data.source": "one of demo, real-geography, extracts, public",
}


def _describe(exc: ValidationError, path: Path | None) -> str:
    lines = []
    seen: set[str] = set()
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
        # pydantic appends the union branch ("list[str]", "literal[...]") to the location
        loc = [p for p in loc if not p.startswith(("list[", "literal[", "str", "function-"))]
        key = ".".join(loc) or "(top level)"
        if key in seen:
            continue
        seen.add(key)
        got = err.get("input")
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "is not a known setting; remove it or check its spelling (see settings.yml)"
        elif err["type"] == "missing":
            msg = "is missing; copy it from the tracked settings.yml"
        elif key in _FIXES:
            msg = f"must be {_FIXES[key]} ({msg})"
        shown = "" if err["type"] in ("missing", "extra_forbidden") else f" (got {got!r})"
        if isinstance(got, dict | list) and len(repr(got)) > 80:
            shown = ""
        lines.append(f"Settings error: {key} {msg}{shown}")
    where = f" in {path}" if path else ""
    return "\n".join(lines) + (f"\n(settings{where})" if lines else "")


def _validate(raw: object, path: Path | None) -> SettingsModel:
    if not isinstance(raw, dict):
        raise SettingsError(f"Settings error: {path} must hold a mapping of sections.")
    for section, value in raw.items():
        if value is None:
            raise SettingsError(
                f"Settings error: {section} is empty (null); restore the {section}: section "
                "from the tracked settings.yml"
            )
    try:
        return SettingsModel.model_validate(raw)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, path)) from None


class Settings:
    """Release settings plus every path of the build, all absolute.

    Parameters
    ----------
    raw : dict
        The parsed settings (validated into :attr:`model`; the dict itself is private to this
        module).
    root : Path
        Project root that relative paths are resolved against.
    source_file : Path
        The settings file the values came from (recorded in the manifest).
    overrides : dict, optional
        Sections replaced by :meth:`with_overrides` (kept for copies).
    """

    def __init__(
        self,
        raw: dict,
        root: Path = ROOT,
        source_file: Path = SETTINGS_FILE,
        overrides: dict | None = None,
    ) -> None:
        self._raw = copy.deepcopy(raw)
        self.root = Path(root)
        self.source_file = Path(source_file)
        self.overrides = overrides or {}
        self.model = _validate(self._raw, self.source_file)

    def __repr__(self) -> str:
        return f"Settings(source_file={self.source_file!s})"

    def _resolve(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.root / path

    def as_dict(self) -> dict:
        """The validated settings as plain data (recorded in the results store's manifest)."""
        return self.model.model_dump(mode="json")

    # ---- release -------------------------------------------------------------------------
    @property
    def release(self) -> ReleaseSettings:
        """The ``release`` section."""
        return self.model.release

    @property
    def title(self) -> str:
        """Report title."""
        return self.model.release.title

    @property
    def region_name(self) -> str | None:
        """Region name set by the user (``None``: taken from the data)."""
        return self.model.release.region_name

    @property
    def main_year(self) -> int:
        """Collection year of the headline snapshot (31 March of that year)."""
        return self.model.release.main_year

    @property
    def years(self) -> list[int]:
        """All collection years analysed (for trends)."""
        return list(self.model.release.years)

    @property
    def imd_vintage(self) -> str:
        """IMD edition: ``demo``, ``2010``, ``2019`` or ``2025``."""
        return self.model.release.imd_vintage

    @property
    def lsoa_edition(self) -> str:
        """LSOA edition the build works on (``2011`` or ``2021``)."""
        return self.model.release.lsoa_edition

    @property
    def la_list(self) -> list[str] | None:
        """LA codes to build, or ``None`` for every LA with an extract."""
        value = self.model.release.la_list
        return None if value == "all" else [str(v) for v in value]

    # ---- data ----------------------------------------------------------------------------
    @property
    def data_source(self) -> str:
        """``demo`` (generated synthetic region), ``real-geography`` or ``extracts``."""
        return self.model.data.source

    @property
    def demo_dir(self) -> Path:
        """Folder the demo region is generated into (git-ignored)."""
        return self._resolve(self.model.data.demo_dir)

    @property
    def extracts_dir(self) -> Path:
        """Folder of real LA extracts, one sub-folder per LA (see data/README.md)."""
        return self._resolve(self.model.data.extracts_dir)

    @property
    def reference_dir(self) -> Path:
        """Folder of local copies of the public reference files."""
        return self._resolve(self.model.data.reference_dir)

    @property
    def reference_cache(self) -> Path:
        """Download cache of ``cwi reference fetch`` (git-ignored)."""
        return self._resolve(self.model.data.reference_cache)

    @property
    def private_dir(self) -> Path:
        """Child- and LSOA-level intermediates. Never published, never scanned into the site."""
        return self._resolve(self.model.data.private_dir)

    @property
    def region_code(self) -> str | None:
        """Region of a real-geography build (``None``: West Midlands)."""
        return self.model.data.region_code

    @property
    def real_la_list(self) -> list[str] | None:
        """LAs the real-geography generator places children in (``None``: the whole region)."""
        value = self.model.data.real_la_list
        return None if value is None else [str(v) for v in value]

    @property
    def postcode_directories(self) -> list[Path]:
        """Postcode directory files named in ``data.postcode_directory`` (may be empty)."""
        value = self.model.data.postcode_directory
        if value is None:
            return []
        values = [value] if isinstance(value, str) else list(value)
        return [self._resolve(v) for v in values]

    @property
    def reference_mirror(self) -> str | None:
        """Mirror URL of the reference downloads (``None``: the official sites)."""
        return self.model.data.reference_mirror

    @property
    def postcode_coverage_min(self) -> float:
        """Smallest share of an LA's LSOAs with a live postcode before the build stops."""
        return float(self.model.data.postcode_coverage_min)

    @property
    def postcode_coverage_action(self) -> str:
        """``stop`` (default) or ``restrict`` an under-covered LA to its covered LSOAs."""
        return self.model.data.postcode_coverage_action

    @property
    def accept_errors(self) -> list[str]:
        """LA codes whose error-severity ingest findings the user accepts."""
        return [str(v) for v in self.model.data.accept_errors]

    @property
    def pseudo_key_file(self) -> str | None:
        """Pseudonym key file as written in ``data.pseudo_key_file`` (checked by cwi.ingest.pseudo)."""
        return self.model.data.pseudo_key_file

    # ---- analysis / disclosure -----------------------------------------------------------
    @property
    def confidence(self) -> float:
        """Confidence level of every interval (e.g. 0.95)."""
        return float(self.model.analysis.confidence)

    @property
    def rate_per(self) -> int:
        """Rate multiplier (10,000 children aged 0-17)."""
        return int(self.model.analysis.rate_per)

    @property
    def measures(self) -> list[str]:
        """Measures analysed, a subset of CIN, CPP, CLA."""
        return [str(m) for m in self.model.analysis.measures]

    @property
    def neighbours_file(self) -> Path | None:
        """Statistical neighbours CSV (``la_code,neighbour_code``), if set."""
        value = self.model.analysis.neighbours_file
        return self._resolve(value) if value else None

    @property
    def disclosure(self) -> dict[str, int]:
        """Suppression thresholds and rounding (see ``cwi.disclosure``), all integers."""
        d = self.model.disclosure
        return {k: int(getattr(d, k)) for k in THRESHOLD_MINIMUMS}

    @property
    def unsafe_low_thresholds(self) -> bool:
        """True when a threshold is below its published minimum (outputs NOT FOR PUBLICATION)."""
        d = self.model.disclosure
        return any(getattr(d, k) < low for k, low in THRESHOLD_MINIMUMS.items())

    @property
    def demo(self) -> DemoSettings:
        """Demo generator settings (``seed``, ``n_las``, ``years``)."""
        return self.model.demo

    @property
    def interview_scheme(self) -> Path | None:
        """Interview coding scheme file from ``interviews.scheme`` (``None``: the default)."""
        value = self.model.interviews.scheme
        return self._resolve(value) if value else None

    # ---- outputs -------------------------------------------------------------------------
    @property
    def build_dir(self) -> Path:
        """Working folder of a build."""
        return self._resolve(self.model.output.build_dir)

    @property
    def results_dir(self) -> Path:
        """The results store: disclosure-controlled tables plus manifest."""
        return self._resolve(self.model.output.results_dir)

    @property
    def templates_dir(self) -> Path:
        """Jinja2 templates and stylesheets (LA page, print page, site shell)."""
        return self._resolve(self.model.output.templates_dir)

    @property
    def site_dir(self) -> Path:
        """Rendered website."""
        return self._resolve(self.model.output.site_dir)

    @property
    def site_url(self) -> str | None:
        """Public address of the website, for links in the report PDF (``None`` if unknown)."""
        value = self.model.output.site_url
        return str(value).rstrip("/") if value else None

    @property
    def pdf_dir(self) -> Path:
        """One A4 PDF per LA."""
        return self._resolve(self.model.output.pdf_dir)

    # ---- public-data edition ---------------------------------------------------------------
    @property
    def public(self) -> PublicSettings:
        """The ``public`` section (public-data edition)."""
        return self.model.public

    @property
    def public_data_dir(self) -> Path:
        """Folder of the published reference files the public edition reads."""
        value = self.model.public.data_dir
        return self._resolve(value) if value else SHARED_PUBLIC

    @cached_property
    def quarto_file(self) -> Path:
        """The Quarto project file whose navigation the pandoc renderer follows."""
        return self.root / "_quarto.yml"

    def with_overrides(self, **sections: dict) -> Settings:
        """Return a copy with some settings replaced, e.g. ``output={"site_dir": tmp}``."""
        return Settings(
            raw=_deep_merge(self._raw, sections),
            root=self.root,
            source_file=self.source_file,
            overrides=_deep_merge(self.overrides, sections),
        )


def load_settings(path: Path | str | None = None, root: Path | None = None) -> Settings:
    """Read and validate the settings file.

    Parameters
    ----------
    path : Path or str, optional
        Settings file; defaults to ``$CWI_SETTINGS`` or ``<root>/settings.yml``.
    root : Path, optional
        Project root for relative paths; defaults to the folder of this package's project.

    Returns
    -------
    Settings
        Validated settings with absolute paths.

    Raises
    ------
    SettingsError
        If the file is missing, not valid YAML or holds a wrong key or value: one line per
        problem naming the key and the fix.
    """
    root = Path(root) if root else ROOT
    if path is None:
        env = os.environ.get("CWI_SETTINGS")
        path = Path(env) if env else root / "settings.yml"
    path = Path(path)
    if not path.is_file():
        raise SettingsError(
            f"Settings file not found: {path}. Restore settings.yml from git "
            "(git checkout settings.yml) or set CWI_SETTINGS to your own copy."
        )
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SettingsError(
            f"Settings error: {path} is not valid YAML ({first}); fix the line it names."
        ) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SettingsError(f"Settings error: {path} must hold sections like release: and data:.")
    if path.resolve() != (root / "settings.yml").resolve() and (root / "settings.yml").is_file():
        # A partial override file is merged over the tracked defaults.
        base = load_yaml((root / "settings.yml").read_text(encoding="utf-8"))
        for section, value in raw.items():
            if value is None and isinstance(base.get(section), dict):
                raise SettingsError(
                    f"Settings error: {section} is empty (null) in {path}; remove the line or "
                    f"give the {section}: keys you want to change"
                )
        raw = _deep_merge(base, raw)
    return Settings(raw=raw, root=root, source_file=path)
