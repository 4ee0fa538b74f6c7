"""The text of a page's elements by id, as a reader (or a screen reader) gets it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements a reader takes as separate pieces: their text is set apart by a space.
BLOCK = {"dt", "dd", "td", "th", "li", "p", "div", "tr", "section", "h2", "h3", "h4", "ul", "ol"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class _ById(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None]] = []
        self.texts: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            if tag == "br":
                self.handle_data(" ")
            return
        if tag in BLOCK:
            self.handle_data(" ")
        element_id = dict(attrs).get("id")
        if element_id is not None:
            if element_id in self.texts:
                raise AssertionError(f"two elements with id {element_id!r}")
            self.texts[element_id] = []
        self.stack.append((tag, element_id))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if tag in BLOCK:
            self.handle_data(" ")
        while self.stack:
            open_tag, _id = self.stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        for _tag, element_id in self.stack:
            if element_id is not None:
                self.texts[element_id].append(data)


def texts_by_id(html: str) -> dict[str, str]:
    """{id: the element's text, whitespace collapsed} for every element with an id."""
    parser = _ById()
    parser.feed(html)
    parser.close()
    return {key: re.sub(r"\s+", " ", "".join(parts)).strip() for key, parts in parser.texts.items()}
