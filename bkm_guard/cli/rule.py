"""`bkm-guard rule [CODE]`: list the rules, or explain one with its examples."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bkm_guard.static.rules import ALL_RULES
from bkm_guard.static.rules.base import render

_FIX_LABEL = {"safe": "safe fix", "unsafe": "unsafe fix", "no": "no fix"}


def _listing() -> str:
    width = max(len(rule.NAME) for rule in ALL_RULES.values())
    lines = [f"{code}  {rule.NAME:<{width}}  {_FIX_LABEL[rule.FIX]}" for code, rule in ALL_RULES.items()]
    lines.append("")
    lines.append("`bkm-guard rule CODE` explains one rule.")
    return "\n".join(lines)


def explain(code: str) -> str | None:
    """The documentation of one rule with its valid and invalid examples; None for an unknown code."""
    rule = ALL_RULES.get(code.strip().upper())
    if rule is None:
        return None
    parts = [rule.doc(), "", "Reported (examples the test suite runs)"]
    for invalid in rule.INVALID:
        parts.append(f"  # {invalid.path}, line {invalid.line}")
        parts.extend(f"    {line}" for line in render(invalid.code).splitlines())
    parts.append("")
    parts.append("Not reported")
    for valid in rule.VALID:
        parts.append(f"  # {valid.path}")
        parts.extend(f"    {line}" for line in render(valid.code).splitlines())
    parts.append("")
    parts.append(f"Suppress one occurrence with `# bkm: ignore[{rule.CODE}]` on the reported line.")
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bkm-guard rule", description="Explain bkm-guard's rules.")
    parser.add_argument("code", nargs="?", help="a rule code such as BKM001; omit to list every rule")
    args = parser.parse_args(argv)
    if args.code is None:
        print(_listing())
        return 0
    text = explain(args.code)
    if text is None:
        print(f"bkm-guard rule: unknown rule code {args.code!r}; known: {', '.join(ALL_RULES)}",
              file=sys.stderr)
        return 2
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
