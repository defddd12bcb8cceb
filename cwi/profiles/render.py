"""Render an :class:`LaProfile` with the one template set: web page source or print HTML."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment
from markupsafe import Markup

from cwi.profiles.model import LaProfile
from cwi.site.markdown import bracket_env

TEMPLATE = "la_profile.j2"


@lru_cache(maxsize=8)  # one per template folder: the template is compiled once per process
def profile_env(folder: Path | None = None) -> Environment:
    """Jinja2 environment of the profile template: autoescaped, ``[[ ]]`` / ``[% %]`` delimiters.

    The delimiters leave Quarto shortcodes and pandoc attributes alone; autoescaping keeps any
    LA name or sentence from being read as markup on either page.
    """
    return bracket_env(folder, autoescape=True)


def render_web(
    profile: LaProfile, figure_src: dict[str, str], templates: Path | None = None
) -> str:
    """The LA's web page source (Quarto / pandoc markdown with HTML tables).

    Parameters
    ----------
    profile : LaProfile
        The LA's profile.
    figure_src : dict
        Figure key -> path as written in the page (relative to the page).
    templates : Path, optional
        Template folder (default ``templates/``).
    """
    return (
        profile_env(templates)
        .get_template(TEMPLATE)
        .render(profile=profile, variant="web", figure_src=figure_src, css="")
    )


def render_print(
    profile: LaProfile, figure_src: dict[str, str], css: str, templates: Path | None = None
) -> str:
    """The LA's A4 print page as standalone HTML (figures as file URIs, CSS inline)."""
    return (
        profile_env(templates)
        .get_template(TEMPLATE)
        .render(profile=profile, variant="print", figure_src=figure_src, css=Markup(css))  # noqa: S704 - our own stylesheet file
    )
