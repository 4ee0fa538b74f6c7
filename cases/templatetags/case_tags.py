from django import template
from django.utils.safestring import mark_safe

from cases.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    # Safe to mark: render_markdown sanitizes with an allow-list (nh3).
    return mark_safe(render_markdown(text or ""))  # noqa: S308


@register.filter
def filesize(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1048576:.1f} MB"
