"""axe-core in the browser tests: inject the vendored engine (tests/e2e/vendor/, never served
by the app) into a page and run it on the WCAG 2.0/2.1 A and AA rules plus best practice.

    problems = axe_problems(page)      # serious and critical violations, readable
    assert not problems, problems
"""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING = {"serious", "critical"}


def axe_run(page) -> list[dict]:
    """All violations axe finds on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # add_script_tag with content works under the page's CSP only when the context
        # bypasses it (new_context does, by default).
        page.add_script_tag(content=AXE.read_text())
    return page.evaluate(
        """async (tags) => {
          const result = await window.axe.run(document, {
            runOnly: { type: "tag", values: tags },
            resultTypes: ["violations"],
          });
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
          }));
        }""",
        TAGS,
    )


def axe_problems(page, where: str = "") -> list[str]:
    """The serious and critical violations, one readable line per rule and node."""
    lines = []
    for v in axe_run(page):
        if v["impact"] not in FAILING:
            continue
        for node in v["nodes"][:5]:
            summary = (node["summary"] or "").replace("\n", " ")
            lines.append(
                f"{where or page.url}: {v['id']} ({v['impact']}) {v['help']} — {node['target']}: {summary}"
            )
    return lines
