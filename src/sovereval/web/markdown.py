"""Untrusted text (model answers, justifications, uploaded reports) to safe HTML.

Markdown is rendered by markdown-it-py with raw HTML disabled, then sanitised by nh3 (ammonia) with an
allow-list of tags and attributes; links get ``rel="noopener noreferrer nofollow"`` and only http(s)
and mailto URLs survive.  Whatever a model writes, no script, event handler or ``javascript:`` URL
reaches the page.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}


def render(text: str) -> Markup:
    html = _MD.render(text or "")
    clean = nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # sanitised above
