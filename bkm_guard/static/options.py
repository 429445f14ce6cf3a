"""The one options type of the static half: which rules, and what the configuration adds."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class Options:
    """What the analysis of one file needs to know (picklable: it travels to worker processes)."""

    select: frozenset[str] | None = None  # codes or prefixes; None = all
    ignore: frozenset[str] = frozenset()
    extra_client_names: tuple[str, ...] = ()  # more callables taking (api_key, api_secret)
    extra_key_names: tuple[str, ...] = ()  # more names that hold a key (a secret if "secret" in it)

    def wanted(self, code: str) -> bool:
        if self.select is not None and not any(code.startswith(s) for s in self.select):
            return False
        return not any(code.startswith(i) for i in self.ignore)


DEFAULT_OPTIONS = Options()
