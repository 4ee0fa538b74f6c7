"""Markdown for expert opinions: rendered once, sanitized by an allow-list, safe to show.

Clinicians write opinions in Markdown. Python-Markdown passes raw HTML through, so the
rendered HTML is untrusted until nh3 has cleaned it; nh3 is the only security boundary here.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as etree
from typing import ClassVar

import markdown
import nh3
from markdown.treeprocessors import Treeprocessor

# Opinions are a few pages at most; the bound keeps a pasted log file from tying up a worker.
MAX_SOURCE_CHARS = 100_000

# Images are left out on purpose: an <img> fetches its URL when the opinion is viewed or
# turned into the PDF report, which would let an author track readers or probe the network.
ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "b",
    "i",
    "sup",
    "sub",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "a",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
# Kept with their content removed: otherwise the script or CSS source shows up as text.
DROPPED_WITH_CONTENT = {"script", "style"}
LINK_SCHEMES = {"http", "https", "mailto"}
# Column alignment from the table syntax; the value set keeps the attribute a keyword.
CELL_ALIGN = {"align": {"left", "center", "right"}}

# The page owns <h1> and <h2>; an opinion's headings sit below them.
HEADING_SHIFT = 2


class _DemoteHeadings(Treeprocessor):
    """Shift `#` to <h3>, `##` to <h4> and so on, stopping at <h6>."""

    def run(self, root: etree.Element) -> None:
        for element in root.iter():
            if re.fullmatch(r"h[1-6]", element.tag):
                level = min(int(element.tag[1]) + HEADING_SHIFT, 6)
                element.tag = f"h{level}"


def _markdown_to_html(text: str) -> str:
    # A fresh converter per call: a Markdown instance keeps state and is not thread-safe.
    converter = markdown.Markdown(
        extensions=["tables", "sane_lists", "fenced_code", "nl2br"],
        # `align` instead of an inline `style`, which the sanitizer would drop.
        extension_configs={"tables": {"use_align_attribute": True}},
        output_format="html",
    )
    converter.treeprocessors.register(_DemoteHeadings(converter), "demote_headings", 0)
    return converter.convert(text[:MAX_SOURCE_CHARS])


def render_markdown(text: str) -> str:
    """Render an opinion's Markdown to sanitized HTML.

    Only the tags and attributes listed above survive; links keep http, https and mailto
    URLs and get rel="noopener noreferrer nofollow". Because every byte of the result has
    passed through nh3 with that allow-list, callers may wrap it in `mark_safe`.
    """
    return nh3.clean(
        _markdown_to_html(text),
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        tag_attribute_values={"th": CELL_ALIGN, "td": CELL_ALIGN},
        url_schemes=LINK_SCHEMES,
        # A relative link means nothing in an e-mail or a PDF and could point into the app.
        url_relative="deny",
        link_rel="noopener noreferrer nofollow",
    )


_TABLE_LAYOUT = re.compile(r"\s*(</?(?:table|thead|tbody|tr)>)\s*")
_CELL_GAP = re.compile(r"</t[hd]>\s*<t[hd][^>]*>")
_LIST_ITEM = re.compile(r"<li>(?:\s*<p>)?")
_BLOCK_END = re.compile(r"</(?:p|h[3-6]|ul|ol|blockquote|pre|table)>|<hr>")
_BLANK_LINES = re.compile(r"\n{3,}")


def render_markdown_plain(text: str) -> str:
    """Render an opinion's Markdown to plain text, for e-mails and the PDF summary.

    Blocks are separated by one blank line, list items start with "- " and a table row is
    one line with its cells joined by " | ".
    The result is unescaped text, not HTML: let the template escape it, never `mark_safe` it.
    """
    # Works on the sanitized HTML, whose tags carry no attributes except those allowed.
    rendered = render_markdown(text)
    rendered = _TABLE_LAYOUT.sub(r"\1", rendered)
    rendered = _CELL_GAP.sub(" | ", rendered)
    rendered = _LIST_ITEM.sub(r"\g<0>- ", rendered).replace("</tr>", "</tr>\n")
    rendered = _BLOCK_END.sub(r"\g<0>\n\n", rendered)
    stripped = html.unescape(nh3.clean(rendered, tags=set()))
    lines = (line.rstrip() for line in stripped.splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# --- Rendered once, when written ------------------------------------------------------------
# A page shows stored HTML; it never renders Markdown (a 120-opinion thread rendered on every
# view cost the case page most of its time). When the rules above change, `manage.py
# rerender_markdown` renders every stored text again.


class RendersMarkdown:
    """A model mixin keeping the sanitized HTML of its Markdown fields beside the source.

    ``markdown_fields`` maps a source field to the field that holds its rendering. The
    HTML is rendered on ``save`` whenever the source may have changed (always, unless
    ``update_fields`` leaves the source out), so every write path through the model keeps
    the two in step. A queryset ``update()`` of a source field would bypass it: do not.
    """

    markdown_fields: ClassVar[dict[str, str]] = {}

    def render_stored_markdown(self) -> list[str]:
        """Render every source into its field; the names of the fields that changed."""
        changed = []
        for source, target in self.markdown_fields.items():
            rendered = render_markdown(getattr(self, source) or "")
            if getattr(self, target) != rendered:
                setattr(self, target, rendered)
                changed.append(target)
        return changed

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is None:
            self.render_stored_markdown()
        elif set(update_fields) & set(self.markdown_fields):
            self.render_stored_markdown()
            kwargs["update_fields"] = {*update_fields, *self.markdown_fields.values()}
        super().save(*args, **kwargs)


def stored_markdown_rerender(*, models: list[type] | None = None, batch: int = 500) -> int:
    """Render every stored Markdown text again (the rules changed); rows updated."""
    from django.apps import apps
    from django.db import transaction

    if models is None:
        models = [m for m in apps.get_models() if issubclass(m, RendersMarkdown)]
    updated = 0
    for model in models:
        fields = [*model.markdown_fields, *model.markdown_fields.values()]
        changed = []
        for row in model.objects.only("pk", *fields).order_by("pk").iterator(chunk_size=batch):
            if row.render_stored_markdown():
                changed.append(row)
        with transaction.atomic():
            model.objects.bulk_update(changed, list(model.markdown_fields.values()), batch)
        updated += len(changed)
    return updated
