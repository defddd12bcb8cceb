"""The pandoc site shell: scrollable table regions, navigation hrefs, search text."""

from __future__ import annotations

from cwi.site.render import navigation, wrap_tables
from cwi.site.search import page_text, search_documents


def test_every_table_gets_a_labelled_focusable_scroll_region_with_a_unique_name():
    html = (
        "<h2>Rates</h2><table><tr><td>1</td></tr></table>"
        "<table><tr><td>2</td></tr></table>"
        "<table><caption>Counts <em>by</em> decile</caption><tr><td>3</td></tr></table>"
        "<p>no heading before</p>"
    )
    out = wrap_tables(html)
    assert out.count('<div class="table-wrap" role="region" tabindex="0"') == 3
    assert 'aria-label="Table: Rates"' in out
    assert 'aria-label="Table: Rates (2)"' in out
    assert 'aria-label="Table: Counts by decile"' in out
    assert wrap_tables("<p>x</p>") == "<p>x</p>"
    own = '<div class="table-scroll" role="region" aria-label="Rates" tabindex="0">\n<table></table></div>'
    assert wrap_tables(own) == own  # a table already in its own region is left alone
    assert wrap_tables("<table></table>").startswith(
        '<div class="table-wrap" role="region" tabindex="0" aria-label="Table 1">'
    )


def test_navigation_turns_qmd_into_html_and_keeps_other_files():
    project = {
        "website": {
            "navbar": {
                "left": [
                    {"href": "index.qmd", "text": "Home"},
                    {"text": "Findings", "menu": ["report/q1.qmd"]},
                    {"href": "pdf/report.pdf", "text": "Report (PDF)"},
                ]
            }
        }
    }
    nav = navigation(project, [])
    assert [n["href"] for n in nav] == ["index.html", None, "pdf/report.pdf"]
    assert nav[1]["children"][0]["href"] == "report/q1.html"


def test_search_documents_hold_the_visible_text_of_each_page():
    docs = search_documents(
        [("la/X1.html", "Northfield & Vale", "<h2>Rates</h2>\n<p>CIN <b>344.1</b></p>")]
    )
    assert docs == [
        {"objectID": "la/X1.html", "href": "la/X1.html", "title": "Northfield & Vale",
         "section": "", "text": "Rates CIN 344.1"}
    ]  # fmt: skip
    assert page_text("") == ""
