from functools import lru_cache

from django import template
from django.utils.safestring import mark_safe

from cases.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    # Safe to mark: render_markdown sanitizes with an allow-list (nh3). Only for text that has
    # no stored rendering (a consensus, write-once once signed); the rest use stored_html.
    return mark_safe(_render_memoized(text or ""))  # noqa: S308


@lru_cache(maxsize=128)
def _render_memoized(text: str) -> str:
    # The same text renders the same HTML: a consensus shown on every view of the case page
    # is rendered once per process, not once per view.
    return render_markdown(text)


@register.filter
def stored_html(html: str) -> str:
    """HTML rendered and sanitized when its Markdown was written (cases.markdown)."""
    # Safe to mark: only RendersMarkdown fields reach this filter, each written by
    # render_markdown (an nh3 allow-list) when the source was saved.
    return mark_safe(html or "")  # noqa: S308


@register.filter
def filesize(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1048576:.1f} MB"
