"""RESULTS.md from RESULTS.template.md: each `@@name@@` line is replaced by results/<name>.md, the table
the benchmark script wrote, so the page always shows the figures the last runs produced.

    uv run python -m benchmarks.results_page
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLACEHOLDER = re.compile(r"^@@([\w.-]+)@@$", re.MULTILINE)


def render(template: str, results: Path) -> str:
    def table(match: re.Match[str]) -> str:
        path = results / f"{match.group(1)}.md"
        if not path.exists():
            return f"_(no results yet: `{path.name}` is missing from {results.name}/)_"
        text = path.read_text(encoding="utf-8").strip()
        # Each table file starts with its own heading; the page has headings of its own.
        return "\n".join(line for line in text.splitlines() if not line.startswith("### "))

    return PLACEHOLDER.sub(table, template)


def main() -> int:
    page = render((HERE / "RESULTS.template.md").read_text(encoding="utf-8"), HERE / "results")
    (HERE / "RESULTS.md").write_text(page, encoding="utf-8")
    print(f"wrote {HERE / 'RESULTS.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
