"""`[tool.bkm-guard]` in pyproject.toml: the scan's configuration, checked strictly.

Every key does something; an unknown key, a wrong type or an unknown rule code is a
:class:`~bkm_guard.errors.ConfigError` (exit 2), never silently ignored.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bkm_guard.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

# The codes of DESIGN.md; the rule registry, when importable, is the authority.
_DESIGN_CODES = ("BKM001", "BKM002", "BKM003", "BKM004", "BKM101", "BKM102", "BKM201")
_CODE_SELECTOR_RE = re.compile(r"BKM[0-9]{0,3}")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")

KEYS = (
    "select",
    "ignore",
    "exclude",
    "per-file-ignores",
    "extra-client-names",
    "extra-key-names",
    "baseline",
)


@dataclasses.dataclass(frozen=True)
class Config:
    """The effective configuration: pyproject values, then command-line overrides."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    extra_client_names: tuple[str, ...] = ()
    extra_key_names: tuple[str, ...] = ()
    baseline: str | None = None
    source: str | None = None  # the pyproject.toml it came from, if any

    def selected_codes(self) -> frozenset[str] | None:
        """The concrete codes `select` names (prefixes expanded), or None for all."""
        if self.select is None:
            return None
        return expand_codes(self.select)

    def ignored_codes(self) -> frozenset[str]:
        return expand_codes(self.ignore)

    def ignored_for(self, path: str) -> frozenset[str]:
        """The codes `per-file-ignores` turns off for one display path."""
        from bkm_guard.static.globs import matches

        codes: set[str] = set()
        for pattern, selectors in self.per_file_ignores:
            if matches(path, pattern):
                codes |= expand_codes(selectors)
        return frozenset(codes)

    def render(self) -> str:
        """The effective configuration as a `[tool.bkm-guard]` TOML table."""
        lines = [f"# effective configuration (from {self.source or 'defaults: no [tool.bkm-guard] found'})"]
        lines.append("[tool.bkm-guard]")
        if self.select is None:
            lines.append(f"select = {_toml_list(known_codes())}  # default: every rule")
        else:
            lines.append(f"select = {_toml_list(self.select)}")
        lines.append(f"ignore = {_toml_list(self.ignore)}")
        lines.append(f"exclude = {_toml_list(self.exclude)}")
        lines.append(f"extra-client-names = {_toml_list(self.extra_client_names)}")
        lines.append(f"extra-key-names = {_toml_list(self.extra_key_names)}")
        baseline = _toml_str(self.baseline) if self.baseline else '"" # none'
        lines.append(f"baseline = {baseline}")
        lines.append("")
        lines.append("[tool.bkm-guard.per-file-ignores]")
        lines += [f"{_toml_str(pattern)} = {_toml_list(codes)}" for pattern, codes in self.per_file_ignores]
        lines.append(f"# rules in effect: {' '.join(sorted(effective_codes(self)))}")
        return "\n".join(lines)


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def known_codes() -> tuple[str, ...]:
    """Every rule code: from the rule registry when it is importable."""
    try:
        from bkm_guard.static.rules import ALL_RULES  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # the registry is not there (yet): the codes of DESIGN.md
        return _DESIGN_CODES
    codes = sorted({str(rule.CODE) for rule in _iter_rules(ALL_RULES)})
    return tuple(codes) or _DESIGN_CODES


def _iter_rules(registry: Any) -> list[Any]:
    if isinstance(registry, Mapping):
        return list(registry.values())
    return list(registry)


def expand_codes(selectors: Iterable[str]) -> frozenset[str]:
    """Codes and code prefixes (`BKM1` = every BKM1nn) to concrete codes; unknown -> ConfigError."""
    codes = known_codes()
    out: set[str] = set()
    for selector in selectors:
        wanted = selector.strip().upper()
        hits = (
            [code for code in codes if code.startswith(wanted)] if _CODE_SELECTOR_RE.fullmatch(wanted) else []
        )
        if not hits:
            raise ConfigError(f"unknown rule code {selector!r}: known codes are {', '.join(codes)}")
        out.update(hits)
    return frozenset(out)


def effective_codes(config: Config) -> frozenset[str]:
    selected = config.selected_codes()
    base = frozenset(known_codes()) if selected is None else selected
    return base - config.ignored_codes()


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start` that holds a [tool.bkm-guard] table."""
    directory = start if start.is_dir() else start.parent
    for candidate_dir in (directory, *directory.parents):
        candidate = candidate_dir / "pyproject.toml"
        if candidate.is_file() and _has_table(candidate):
            return candidate
    return None


def _has_table(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"^\s*\[\s*tool\s*\.\s*[\"']?bkm-guard", text, re.MULTILINE) is not None


def load(path: Path) -> Config:
    """Read and check `[tool.bkm-guard]` of one pyproject.toml."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    table = data.get("tool", {}).get("bkm-guard", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.bkm-guard] must be a table")
    return from_table(table, source=path)


def from_table(table: Mapping[str, Any], *, source: Path | None) -> Config:
    where = f"{source}: [tool.bkm-guard]" if source else "[tool.bkm-guard]"
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; valid keys are {', '.join(KEYS)}")

    def str_list(key: str, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{where}: {key} must be a list of non-empty strings")
        if pattern is not None:
            for item in value:
                if not pattern.fullmatch(item):
                    raise ConfigError(f"{where}: {key}: {item!r} is not a valid name")
        return tuple(value)

    select = str_list("select") if "select" in table else None
    ignore = str_list("ignore")
    for selectors in (select or (), ignore):
        expand_codes(selectors)
    per_file: list[tuple[str, tuple[str, ...]]] = []
    raw_pfi = table.get("per-file-ignores", {})
    if not isinstance(raw_pfi, dict):
        raise ConfigError(f"{where}: per-file-ignores must be a table of glob = [codes]")
    for pattern, codes in raw_pfi.items():
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes) or not codes:
            raise ConfigError(f"{where}: per-file-ignores.{pattern!r} must be a non-empty list of codes")
        expand_codes(codes)
        per_file.append((pattern, tuple(codes)))
    baseline = table.get("baseline")
    if baseline is not None and (not isinstance(baseline, str) or not baseline.strip()):
        raise ConfigError(f"{where}: baseline must be a file path")
    if baseline and source is not None and not Path(baseline).is_absolute():
        baseline = str(source.parent / baseline)
    return Config(
        select=select,
        ignore=ignore,
        exclude=str_list("exclude"),
        per_file_ignores=tuple(per_file),
        extra_client_names=str_list("extra-client-names", _NAME_RE),
        extra_key_names=str_list("extra-key-names", _NAME_RE),
        baseline=baseline,
        source=str(source) if source else None,
    )


def resolve(start: Path, *, select: list[str] | None, ignore: list[str] | None) -> Config:
    """The configuration found from `start`, with --select/--ignore from the command line on top."""
    found = find_pyproject(start)
    config = load(found) if found else Config()
    if select is not None:
        codes = tuple(c for item in select for c in item.split(",") if c.strip())
        expand_codes(codes)
        config = dataclasses.replace(config, select=codes)
    if ignore is not None:
        codes = tuple(c for item in ignore for c in item.split(",") if c.strip())
        expand_codes(codes)
        config = dataclasses.replace(config, ignore=(*config.ignore, *codes))
    return config
