"""Markdown to safe HTML: a real parser, then an allow-list sanitiser."""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML in the source is escaped by the parser; nh3 then keeps only these tags.
_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "a",
}  # fmt: skip


# Entries are never edited (an amendment is a new entry), so the same text renders the
# same HTML for as long as the process lives. Parsing and sanitising took about a third
# of a timeline page's time (20 notes: 7 of 24 ms in a profile); each worker keeps the
# most recent texts it rendered. The cache holds text the process has already loaded to
# show, and nothing is written anywhere.
RENDER_CACHE_SIZE = 4096


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def render(source: str) -> Markup:
    """Render Markdown to HTML that cannot run script (links are http, https or mailto)."""
    html = _parser.render(source or "")
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above  # nosec B704
