"""The shape every rule shares: code, name, message, four-part docs, fix kind and examples.

Examples are templates: `{KEY}`, `{SECRET}`, `{HEX}`, `{PEM}` stand for credentials that the test
suite generates at run time (so no key is ever committed), `{HTTP}`/`{WS}` for the insecure schemes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:
    from bkm_guard.static.model import Hit
    from bkm_guard.static.python.context import Context

FixKind = Literal["safe", "unsafe", "no"]
Applies = Literal["python", "text", "both"]


@dataclasses.dataclass(frozen=True)
class Valid:
    """Code that the rule must not report."""

    code: str
    path: str = "example.py"


@dataclasses.dataclass(frozen=True)
class Invalid:
    """Code that the rule reports on `line` (1-based); `fixed` is the expected fix, if any."""

    code: str
    line: int
    path: str = "example.py"
    fixed: str | None = None


_DISPLAY = {"{KEY}": "<64-char API key>", "{SECRET}": "<64-char API secret>",
            "{HEX}": "<64-hex testnet key>", "{PEM}": "-----BEGIN PRIVATE KEY-----\\n...",
            "{HTTP}": "http", "{WS}": "ws"}


def render(template: str) -> str:
    """An example as the docs show it (placeholders in readable form)."""
    for placeholder, shown in _DISPLAY.items():
        template = template.replace(placeholder, shown)
    return template


class Rule:
    CODE: ClassVar[str]
    NAME: ClassVar[str]
    MESSAGE: ClassVar[str]  # the message's shape, as documented
    WHAT: ClassVar[str]
    WHY: ClassVar[str]
    EXAMPLE: ClassVar[str]
    INSTEAD: ClassVar[str]
    FIX: ClassVar[FixKind] = "no"
    APPLIES: ClassVar[Applies] = "python"
    #: the byte-level check (bkm_guard.static.prefilter.PREFILTERS) a file must pass for this
    #: rule to be run on it at all
    PREFILTER: ClassVar[str]
    VALID: ClassVar[tuple[Valid, ...]] = ()
    INVALID: ClassVar[tuple[Invalid, ...]] = ()

    def check(self, ctx: Context) -> Iterable[Hit]:
        """Hits in one Python file (text files go through bkm_guard.static.text)."""
        return ()

    @classmethod
    def doc(cls) -> str:
        """The four-part documentation that `bkm-guard rule CODE` prints."""
        fix = {"safe": "safe (applied by --fix)", "unsafe": "unsafe (applied by --unsafe-fixes)",
               "no": "none"}[cls.FIX]
        return "\n".join([
            f"{cls.CODE} {cls.NAME}",
            f"Fix: {fix}",
            "",
            "What it does",
            f"  {cls.WHAT}",
            "",
            "Why is this bad?",
            f"  {cls.WHY}",
            "",
            "Example",
            *(f"  {line}" for line in render(cls.EXAMPLE).splitlines()),
            "",
            "Use instead",
            *(f"  {line}" for line in render(cls.INSTEAD).splitlines()),
        ])
