"""axe-core in Chromium: run the WCAG 2.2 A/AA rules on a page and describe what failed.

axe-core comes bundled in the `axe-playwright-python` dev dependency (its `axe.min.js`,
MPL-2.0, version in the file's first line); we only inject it and read the results, so a
failure message names each rule, its impact and every offending element with axe's own
explanation of how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from axe_playwright_python.base import AXE_SCRIPT
from playwright.async_api import Page

# WCAG 2.0, 2.1 and 2.2 at levels A and AA, plus axe's best practices (landmarks, headings):
# the latter are reported too, but only serious and critical findings fail a test.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING = {"serious", "critical"}
COLOUR_RULES = ["color-contrast", "link-in-text-block"]


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]
    summaries: tuple[str, ...]

    def describe(self) -> str:
        lines = [f"[{self.impact}] {self.rule}: {self.help}"]
        for target, summary in zip(self.targets, self.summaries, strict=True):
            lines.append(f"    {target}: {summary.splitlines()[-1] if summary else ''}")
        return "\n".join(lines)


async def audit(page: Page, *, rules: list[str] | None = None) -> list[Violation]:
    """Every violation axe finds on the page as it is now (only `rules` if given: a second
    colour theme changes colours, not structure, so it needs only the contrast rules)."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE_SCRIPT)
    only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": TAGS}
    raw: dict[str, Any] = await page.evaluate(
        "only => axe.run(document, {runOnly: only, resultTypes: ['violations']})", only
    )
    found = []
    for item in raw["violations"]:
        nodes = item["nodes"]
        found.append(
            Violation(
                rule=item["id"],
                impact=item.get("impact") or "minor",
                help=item["help"],
                targets=tuple(" ".join(map(str, node["target"])) for node in nodes),
                summaries=tuple(node.get("failureSummary") or "" for node in nodes),
            )
        )
    return found


def blocking(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.impact in BLOCKING]
