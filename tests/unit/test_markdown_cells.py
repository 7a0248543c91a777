"""Static tables read each cell as Markdown: text cells are escaped so they show as written (a BMI level ">=30" was
drawn as a quotation), and a label from a user's mapping cannot become a link or an image."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from dashboard.render import markdown_literal

CASES = [">=30", "<25", "25-30", "- a list?", "1. numbered?", "2) also", "# heading?", "+ plus", "a_b_c",
         "_emphasis_", "*bold*", "[link](http://example.org)", "![image](x.png)", "`code`", "$x^2$", "~~struck~~",
         "a | b", "back\\slash", "<b>html</b>", "mean (SD)", "44.0 [30.0, 59.0]"]


def rendered_text(markdown: str) -> str:
    """The text a CommonMark renderer shows for ``markdown`` (tags stripped), or '' if it made any markup."""
    html = MarkdownIt("commonmark").render(markdown).strip()
    if not (html.startswith("<p>") and html.endswith("</p>")) or "<" in html[3:-4]:
        return ""
    return html[3:-4].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("&quot;", '"')


@pytest.mark.parametrize("text", CASES)
def test_escaped_text_renders_as_itself(text):
    assert rendered_text(markdown_literal(text)) == text


def test_the_cases_would_be_markup_unescaped():
    """The test above guards against real markup (CommonMark's; "$", "~~" and "|" are Streamlit's and GFM's)."""
    marked = {t for t in CASES if rendered_text(t) != t}
    assert marked == {">=30", "- a list?", "1. numbered?", "2) also", "# heading?", "+ plus", "*bold*", "_emphasis_",
                      "[link](http://example.org)", "![image](x.png)", "`code`", "<b>html</b>"}


def test_names_with_underscores_inside_them_are_left_as_they_are():
    assert markdown_literal("participant_id") == "participant_id"  # never emphasis, and what the tests read


def test_values_that_are_not_text_are_unchanged():
    assert markdown_literal(5) == 5 and markdown_literal(None) is None
