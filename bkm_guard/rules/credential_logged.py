"""BKM201: a credential printed, logged or put into an exception message."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bkm_guard.rules.base import Invalid, Rule, Valid

if TYPE_CHECKING:
    import libcst as cst

    from bkm_guard.analyzer.context import Context
    from bkm_guard.analyzer.model import Hit


class CredentialLogged(Rule):
    CODE = "BKM201"
    NAME = "credential-logged"
    MESSAGE = "credential `{name}` shown by {how}; log a masked form instead"
    WHAT = ("Finds credential variables and attributes (`api_key`, `API_SECRET`, `client.API_KEY`, "
            "`exchange.secret`, `os.environ[\"BINANCE_API_SECRET\"]` ...) passed to print(), to a logging "
            "or loguru logger, or into an exception message.")
    WHY = ("Logs and tracebacks go to files, terminals, CI output, error trackers and chat alerts that "
           "many people and services read. A secret in a log line is a leaked secret.")
    EXAMPLE = 'log.info("starting with key %s", api_key)'
    INSTEAD = ('log.info("starting with key %s", bkm_guard.masking.mask(api_key))\n'
               '# or install bkm_guard.redact on the logger')
    VALID = (
        Valid('import logging, os\nfrom binance.spot import Spot\nlog = logging.getLogger("bot")\n'
              'api_key = os.environ["BINANCE_API_KEY"]\nlog.info("loaded the key from BINANCE_API_KEY")\n'),
        Valid('import os\nfrom binance.spot import Spot\napi_secret = os.environ["BINANCE_API_SECRET"]\n'
              'print(len(api_secret))\n'),
    )
    INVALID = (
        Invalid('import logging, os\nfrom binance.client import Client\nlog = logging.getLogger("bot")\n'
                'api_key = os.environ["BINANCE_API_KEY"]\n'
                'log.debug("starting with api_key=%s", api_key)\n', 5),
        Invalid('import os\nfrom binance.client import Client\nprint(os.environ["BINANCE_API_SECRET"])\n', 3),
        Invalid('from binance.spot import Spot\nclass Bot:\n    def check(self) -> None:\n'
                '        raise ValueError(f"bad secret {self.api_secret!r}")\n', 4),
    )

    def check(self, ctx: Context) -> Iterable[Hit]:
        from bkm_guard import masking
        from bkm_guard.analyzer.model import Hit

        for output in ctx.facts.outputs:
            for arg in output.args:
                name = _credential_ref(ctx, arg, 0)
                if name is None:
                    continue
                line, column = ctx.start(output.node)
                raised = output.how.startswith("raise")
                verb = "put into an exception message" if raised else "printed or logged"
                yield Hit(self.CODE, line, column,
                          f"credential `{name}` {verb} ({output.how}); never show a secret, log "
                          f"bkm_guard.masking.mask() of it instead",
                          masking.fingerprint(f"BKM201:{output.how}:{name}"), "", line, column)
                break


def _is_credential_name(ctx: Context, name: str) -> bool:
    from bkm_guard.recognizer import name_parts

    return ctx.facts.role(name) is not None and name_parts(name) != ["key"]


def _credential_ref(ctx: Context, expr: cst.BaseExpression, depth: int) -> str | None:
    """The credential an expression shows, by name (`api_key`, `client.API_SECRET`), or None."""
    import libcst as cst

    from bkm_guard.analyzer.strings import string_value

    if depth > 6:
        return None
    if isinstance(expr, cst.Name):
        if _is_credential_name(ctx, expr.value):
            return expr.value
        for value in ctx.facts.values_of(expr):
            if _env_lookup(ctx, value) is not None:
                return expr.value
        return None
    if isinstance(expr, cst.Attribute):
        if _is_credential_name(ctx, expr.attr.value):
            return cst.helpers.get_full_name_for_node(expr) or expr.attr.value
        return None
    if isinstance(expr, cst.Subscript | cst.Call):
        env = _env_lookup(ctx, expr)
        if env is not None:
            return env
        if isinstance(expr, cst.Call):
            func = expr.func
            qualified = ctx.facts.qualified(func)
            shows = bool(qualified & {"builtins.str", "builtins.repr", "builtins.format"}) or (
                isinstance(func, cst.Attribute) and func.attr.value in ("format", "join"))
            if shows:
                for arg in expr.args:
                    found = _credential_ref(ctx, arg.value, depth + 1)
                    if found:
                        return found
            return None
        if len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
            key = string_value(expr.slice[0].slice.value)
            if key is not None and key.value and _is_credential_name(ctx, key.value):
                base = cst.helpers.get_full_name_for_node(expr.value) or "…"
                return f'{base}["{key.value}"]'
        return None
    if isinstance(expr, cst.FormattedString):
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringExpression):
                found = _credential_ref(ctx, part.expression, depth + 1)
                if found:
                    return found
        return None
    if isinstance(expr, cst.BinaryOperation):
        return _credential_ref(ctx, expr.left, depth + 1) or _credential_ref(ctx, expr.right, depth + 1)
    if isinstance(expr, cst.ConcatenatedString):
        return _credential_ref(ctx, expr.left, depth + 1) or _credential_ref(ctx, expr.right, depth + 1)
    if isinstance(expr, cst.Tuple | cst.List | cst.Set):
        for element in expr.elements:
            found = _credential_ref(ctx, element.value, depth + 1)
            if found:
                return found
    return None


def _env_lookup(ctx: Context, expr: cst.BaseExpression) -> str | None:
    """`os.environ["BINANCE_API_SECRET"]`, `os.getenv("...KEY")`: the lookup's text, or None."""
    import libcst as cst

    from bkm_guard.analyzer import apis
    from bkm_guard.analyzer.strings import string_value

    if (isinstance(expr, cst.Subscript) and "os.environ" in ctx.facts.qualified(expr.value)
            and len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index)):
        key = string_value(expr.slice[0].slice.value)
        if key is not None and key.value and ctx.facts.role(key.value) is not None:
            return f'os.environ["{key.value}"]'
    if isinstance(expr, cst.Call) and any(apis.is_env_getter(q) for q in ctx.facts.qualified(expr.func)):
        first = expr.args[0].value if expr.args else None
        key = string_value(first) if first is not None else None
        if key is not None and key.value and ctx.facts.role(key.value) is not None:
            return f'os.getenv("{key.value}")'
    return None
