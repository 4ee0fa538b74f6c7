"""Opinions render as Markdown; whatever an author types, the HTML that comes out is inert."""

from __future__ import annotations

import html
import re

import pytest

from cases.markdown import (
    ALLOWED_TAGS,
    MAX_SOURCE_CHARS,
    render_markdown,
    render_markdown_plain,
)

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](jav&#x09;ascript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](vbscript:msgbox)",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
    "<img src=x onerror=alert(1)>",
    "![x](http://evil/x.png)",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="https://evil">',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "<details open ontoggle=alert(1)>",
    "<body onload=alert(1)>",
    "<<script>script>alert(1)<</script>/script>",
    '<object data="x">',
    '<embed src="https://evil/x.swf">',
    '<form action="x"><input></form>',
    "<style>body{}</style>text",
    '<p onclick="alert(1)">x</p>',
    '<a href="https://example.org" onmouseover="alert(1)">x</a>',
    "**bold<script>alert(1)</script>**",
]

FORBIDDEN_TAGS = ["script", "svg", "img", "iframe", "math", "object", "embed", "form", "input"]
ALLOWED_ATTRIBUTES = {"href", "title", "rel", "align"}
SAFE_HREF = re.compile(r"(https?://|mailto:)")


def _normalized(markup: str) -> str:
    # Browsers decode entities and skip tabs and newlines inside a URL scheme.
    return re.sub(r"[\x00-\x20]", "", html.unescape(markup)).lower()


def dangers(markup: str) -> list[str]:
    """What in `markup` could run script or fetch a remote resource; empty when inert."""
    found = []
    lowered = markup.lower()
    found += [f"<{tag}" for tag in FORBIDDEN_TAGS if f"<{tag}" in lowered]
    for scheme in ("javascript:", "vbscript:"):
        if scheme in _normalized(markup):
            found.append(scheme)
    if re.search(r"<[^>]*\bon[a-z]+\s*=", markup, re.IGNORECASE):
        found.append("event handler")
    if "style=" in lowered:
        found.append("style=")
    for href in re.findall(r"""href\s*=\s*["']?([^"'\s>]*)""", markup, re.IGNORECASE):
        if not SAFE_HREF.match(_normalized(href)):
            found.append(f"href={href}")
    for tag in re.findall(r"</?([a-zA-Z][a-zA-Z0-9]*)", markup):
        if tag.lower() not in ALLOWED_TAGS:
            found.append(f"tag {tag}")
    for attribute in re.findall(r"\s([a-zA-Z:-]+)\s*=", " ".join(re.findall(r"<[^>]*>", markup))):
        if attribute.lower() not in ALLOWED_ATTRIBUTES:
            found.append(f"attribute {attribute}")
    return found


@pytest.mark.parametrize(
    "markup",
    [
        '<a href="jav&#x09;ascript:alert(1)">x</a>',
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href="data:text/html,x">x</a>',
        "<img src=x onerror=alert(1)>",
        '<p style="color:red">x</p>',
        "<SCRIPT>alert(1)</SCRIPT>",
        '<span class="x">x</span>',
    ],
)
def test_danger_check_catches_unsafe_markup(markup):
    # The corpus below passes only if this check can fail.
    assert dangers(markup)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payload_renders_inert(payload):
    assert dangers(render_markdown(payload)) == []


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payload_code_never_reaches_plain_text(payload):
    plain = render_markdown_plain(payload)

    assert "alert" not in plain
    assert "body{}" not in plain


def test_script_content_is_dropped_not_shown():
    rendered = render_markdown("Before <script>alert('boo')</script> after")

    assert "alert" not in rendered
    assert "Before" in rendered
    assert "after" in rendered


def test_style_content_is_dropped_not_shown():
    rendered = render_markdown("<style>body{}</style>text")

    assert "body{}" not in rendered
    assert "text" in rendered


def test_image_is_dropped_without_fetching_its_url():
    rendered = render_markdown("See ![scan](http://evil/x.png) here")

    assert "evil" not in rendered
    assert rendered == "<p>See  here</p>"


def test_link_with_forbidden_scheme_keeps_its_text_but_loses_its_href():
    rendered = render_markdown("[guideline](javascript:alert(1))")

    assert rendered == '<p><a rel="noopener noreferrer nofollow">guideline</a></p>'


def test_relative_link_loses_its_href():
    assert "href" not in render_markdown("[log out](/accounts/logout/)")
    assert "href" not in render_markdown("[elsewhere](//evil.example/x)")


def test_bold_and_emphasis():
    rendered = render_markdown("**HER2-positive** and *ER-negative*")

    assert rendered == "<p><strong>HER2-positive</strong> and <em>ER-negative</em></p>"


def test_lists():
    rendered = render_markdown("- biopsy\n- MRI\n\n1. surgery\n2. chemotherapy")

    assert "<ul>\n<li>biopsy</li>\n<li>MRI</li>\n</ul>" in rendered
    assert "<ol>\n<li>surgery</li>\n<li>chemotherapy</li>\n</ol>" in rendered


def test_table_with_column_alignment():
    rendered = render_markdown("| Marker | Score |\n|:--|--:|\n| HER2 | 3+ |")

    assert '<th align="left">Marker</th>' in rendered
    assert '<td align="right">3+</td>' in rendered
    assert "style" not in rendered


def test_https_link_gets_rel_and_keeps_title():
    rendered = render_markdown('[guideline](https://example.org/nccn "NCCN")')

    assert rendered == (
        '<p><a href="https://example.org/nccn" title="NCCN" '
        'rel="noopener noreferrer nofollow">guideline</a></p>'
    )


def test_mailto_link_is_kept():
    assert 'href="mailto:tumorboard@example.org"' in render_markdown(
        "[write us](mailto:tumorboard@example.org)"
    )


@pytest.mark.parametrize(
    ("source", "heading"),
    [
        ("# Title", "<h3>Title</h3>"),
        ("## Title", "<h4>Title</h4>"),
        ("### Title", "<h5>Title</h5>"),
        ("###### Title", "<h6>Title</h6>"),
        ("Title\n=====", "<h3>Title</h3>"),
    ],
)
def test_headings_sit_below_the_page_headings(source, heading):
    rendered = render_markdown(source)

    assert rendered == heading
    assert "<h1" not in rendered
    assert "<h2" not in rendered


def test_raw_h1_loses_its_tag():
    assert render_markdown("<h1>Shouting</h1>") == "Shouting"


def test_code_block_content_is_escaped():
    rendered = render_markdown("```\n<b>not bold</b>\n```")

    assert rendered == "<pre><code>&lt;b&gt;not bold&lt;/b&gt;\n</code></pre>"


def test_inline_code_is_escaped():
    assert "<code>&lt;i&gt;</code>" in render_markdown("Use `<i>` sparingly")


def test_single_newline_is_a_line_break():
    assert render_markdown("Ki-67 30%\nGrade 2") == "<p>Ki-67 30%<br>\nGrade 2</p>"


def test_blockquote_and_subscript():
    rendered = render_markdown("> pT2 N1a\n\nH<sub>2</sub>O")

    assert "<blockquote>\n<p>pT2 N1a</p>\n</blockquote>" in rendered
    assert "H<sub>2</sub>O" in rendered


def test_long_source_is_truncated_before_rendering():
    rendered = render_markdown("a" * (MAX_SOURCE_CHARS + 50_000))

    assert rendered.count("a") == MAX_SOURCE_CHARS


def test_plain_text_is_readable():
    source = (
        "# Recommendation\n\n"
        "**Neoadjuvant** chemotherapy, tumour <5 mm & stable.\n"
        "Re-staging after 3 cycles.\n\n"
        "- MRI\n- biopsy\n\n"
        "| Marker | Score |\n|---|---|\n| HER2 | 3+ |\n| ER | 0 |\n\n"
        "<script>alert(1)</script>See [NCCN](https://example.org)."
    )

    assert render_markdown_plain(source) == (
        "Recommendation\n\n"
        "Neoadjuvant chemotherapy, tumour <5 mm & stable.\n"
        "Re-staging after 3 cycles.\n\n"
        "- MRI\n- biopsy\n\n"
        "Marker | Score\nHER2 | 3+\nER | 0\n\n"
        "See NCCN."
    )


def test_plain_text_keeps_code_verbatim():
    assert render_markdown_plain("```\nif a < b:\n    go()\n```") == "if a < b:\n    go()"
