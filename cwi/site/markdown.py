"""Small pandoc-markdown writers shared by the report chapters and the LA pages."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from cwi.config import ROOT
from cwi.site.safe import Markdown, md_attr, md_finalize, md_text, yaml_text


def pipe_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    align: str | None = None,
    caption: str = "",
) -> Markdown:
    """Return a pandoc pipe table; every cell is escaped as text unless it is :class:`Markdown`.

    Parameters
    ----------
    header : sequence of str
        Column headings.
    rows : sequence of sequences
        Cell values, already formatted as text.
    align : str, optional
        One letter per column: ``l`` left, ``r`` right (default: first left, others right).
    caption : str
        Table caption (pandoc ``: caption`` syntax).
    """
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else ":---" for a in align]

    def line(cells: Sequence[Any]) -> str:
        return "| " + " | ".join(md_text(c) for c in cells) + " |"

    out = [line(header), "|" + "|".join(rule) + "|", *(line(r) for r in rows)]
    if caption:
        out += ["", f": {md_text(caption)}"]
    return Markdown("\n".join(out) + "\n")


def figure_block(path: str, fig: dict[str, str], table_md: str | None = None) -> Markdown:
    """A chart with its words as text, and its table alternative in a tabset.

    The same markup is valid for Quarto (``panel-tabset``, ``fig-alt``) and plain pandoc. The
    words are escaped as text (they carry LA and region names).
    """
    title, subtitle, source = (md_text(fig[k]) for k in ("title", "subtitle", "source"))
    words = (
        f"**{title}**\n\n{subtitle}\n\n"
        f'![{title}]({path}){{fig-alt="{md_attr(fig["alt"])}"}}\n\n'
        f"Source: {source}\n"
    )
    if table_md is None:
        return Markdown(words)
    return Markdown(f"::: {{.panel-tabset}}\n\n## Chart\n\n{words}\n## Table\n\n{table_md}\n:::\n")


def bracket_env(folder: Path | None = None, **options: Any) -> Environment:
    """Jinja2 environment with ``[[ ]]`` / ``[% %]`` / ``[# #]`` delimiters and strict undefined.

    The delimiters leave Quarto shortcodes ``{{< ... >}}`` and pandoc attributes ``{...}`` alone.
    ``options`` (``autoescape``, ``finalize``...) are passed to :class:`jinja2.Environment`.
    """
    return Environment(
        loader=FileSystemLoader(folder or ROOT / "templates"),
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        **options,
    )


def template_env(folder: Path | None = None) -> Environment:
    """Jinja2 environment for markdown templates, escaping every value as markdown text.

    ``[[ var ]]`` and ``[% block %]`` are used, so Quarto shortcodes ``{{< ... >}}`` and pandoc
    attributes ``{...}`` pass through untouched. Every value is escaped by
    :func:`cwi.site.safe.md_finalize` (the markdown counterpart of HTML autoescape) unless it is
    :class:`cwi.site.safe.Markdown` written by the build; front matter values go through the
    ``yaml`` filter (a YAML scalar of the escaped text), so quotes cannot break it.
    """
    env = bracket_env(
        folder,
        autoescape=False,  # markdown, not HTML: md_finalize escapes instead
        finalize=md_finalize,
    )
    env.filters["yaml"] = yaml_text
    return env


def html_env(folder: Path | None = None) -> Environment:
    """Jinja2 environment for HTML templates (print page, site shell), autoescaped."""
    return Environment(
        loader=FileSystemLoader(folder or ROOT / "templates"),
        undefined=StrictUndefined,
        autoescape=True,
        keep_trailing_newline=True,
    )
