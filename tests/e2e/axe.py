"""axe-core in the browser tests: run it on the page as it stands and fail on serious or critical.

`assert_accessible(page)` injects the vendored axe-core (tests/e2e/vendor/axe-core) once per
document, runs the WCAG 2.1 A and AA rules, and raises AssertionError listing every violation
whose impact is serious or critical (rule, impact, the first nodes' selectors and summaries).
Moderate and minor findings are returned, not raised.
"""

from pathlib import Path

AXE_JS = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


def axe_results(page, *, context=None) -> dict:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Through the DevTools protocol, not a <script> tag: the portal's CSP allows no inline script.
        page.evaluate("(source) => { (0, eval)(source); }", AXE_JS)
    return page.evaluate(
        """async ([context, tags]) => await window.axe.run(context || document,
               {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})""",
        [context, TAGS],
    )


def describe(violations) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {' '.join(node['target'])}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)


def assert_accessible(page, *, context=None) -> list:
    """Fail on serious/critical violations on the current page; return the lesser ones."""
    violations = axe_results(page, context=context)["violations"]
    blocking = [v for v in violations if v.get("impact") in BLOCKING]
    assert not blocking, f"axe on {page.url}:\n{describe(blocking)}"
    return [v for v in violations if v.get("impact") not in BLOCKING]
