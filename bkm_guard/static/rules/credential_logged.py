"""BKM201: a credential printed, logged or put into an exception message."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bkm_guard.static.rules.base import Invalid, Rule, Valid

if TYPE_CHECKING:
    import ast

    from bkm_guard.static.model import Hit
    from bkm_guard.static.python.context import Context


class CredentialLogged(Rule):
    CODE = "BKM201"
    NAME = "credential-logged"
    PREFILTER = "output"
    MESSAGE = "credential `{name}` shown by {how}; log a masked form instead"
    WHAT = ("Finds credential variables and attributes (`api_key`, `API_SECRET`, `client.API_KEY`, "
            "`exchange.secret`, `os.environ[\"BINANCE_API_SECRET\"]` ...) passed to print(), to a logging "
            "or loguru logger, or into an exception message.")
    WHY = ("Logs and tracebacks go to files, terminals, CI output, error trackers and chat alerts that "
           "many people and services read. A secret in a log line is a leaked secret.")
    EXAMPLE = 'log.info("starting with key %s", api_key)'
    INSTEAD = ('log.info("starting with key %s", bkm_guard.masking.mask(api_key))\n'
               '# or install bkm_guard.runtime.redact on the logger')
    VALID = (
        Valid('import logging, os\nfrom binance.spot import Spot\nlog = logging.getLogger("bot")\n'
              'api_key = os.environ["BINANCE_API_KEY"]\nlog.info("loaded the key from BINANCE_API_KEY")\n'),
        Valid('import os\nfrom binance.spot import Spot\napi_secret = os.environ["BINANCE_API_SECRET"]\n'
              'print(len(api_secret))\n'),
        Valid('import logging\nfrom binance.client import Client\nlog = logging.getLogger("bot")\n'
              'def add(pair, timeframe):\n    pair_key = (pair, timeframe)\n    tf_in_sec = 60 * 5\n'
              '    log.debug(f"added {pair_key} every {tf_in_sec}")\n'),
    )
    INVALID = (
        Invalid('import logging, os\nfrom binance.client import Client\nlog = logging.getLogger("bot")\n'
                'api_key = os.environ["BINANCE_API_KEY"]\n'
                'log.debug("starting with api_key=%s", api_key)\n', 5),
        Invalid('import os\nfrom binance.client import Client\nprint(os.environ["BINANCE_API_SECRET"])\n', 3),
        Invalid('from binance.spot import Spot\nclass Bot:\n    def check(self) -> None:\n'
                '        raise ValueError(f"bad secret {self.api_secret!r}")\n', 4),
        Invalid('import logging, os\nfrom binance.client import Client\nlog = logging.getLogger("bot")\n'
                'api_key = None\nif os.path.exists(".env"):\n    api_key = open(".env").read()\n'
                'log.info("key %s", api_key)\n', 7),
    )

    def check(self, ctx: Context) -> Iterable[Hit]:
        from bkm_guard import masking
        from bkm_guard.static.model import Hit

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


def _credential_ref(ctx: Context, expr: ast.expr, depth: int) -> str | None:
    """The credential an expression shows, by name (`api_key`, `client.API_SECRET`), or None."""
    import ast

    from bkm_guard.static.python.names import full_name

    if depth > 6:
        return None
    if isinstance(expr, ast.Name):
        if _is_credential_name(ctx, expr.id):
            return None if _holds_no_string(ctx, expr) else expr.id
        for value in ctx.facts.values_of(expr):
            if _env_lookup(ctx, value) is not None:
                return expr.id
        return None
    if isinstance(expr, ast.Attribute):
        if _is_credential_name(ctx, expr.attr):
            return full_name(expr) or expr.attr
        return None
    if isinstance(expr, ast.Subscript | ast.Call):
        env = _env_lookup(ctx, expr)
        if env is not None:
            return env
        if isinstance(expr, ast.Call):
            func = expr.func
            qualified = ctx.facts.qualified(func)
            shows = bool(qualified & {"builtins.str", "builtins.repr", "builtins.format"}) or (
                isinstance(func, ast.Attribute) and func.attr in ("format", "join"))
            if shows:
                for arg in (*expr.args, *(k.value for k in expr.keywords)):
                    found = _credential_ref(ctx, arg.value if isinstance(arg, ast.Starred) else arg,
                                            depth + 1)
                    if found:
                        return found
            return None
        if not isinstance(expr.slice, ast.Tuple | ast.Slice):
            key = ctx.facts.string(expr.slice)
            if key is not None and key.value and _is_credential_name(ctx, key.value):
                base = full_name(expr.value) or "…"
                return f'{base}["{key.value}"]'
        return None
    if isinstance(expr, ast.JoinedStr):
        for part in expr.values:
            if isinstance(part, ast.FormattedValue):
                found = _credential_ref(ctx, part.value, depth + 1)
                if found:
                    return found
        return None
    if isinstance(expr, ast.BinOp):
        return _credential_ref(ctx, expr.left, depth + 1) or _credential_ref(ctx, expr.right, depth + 1)
    if isinstance(expr, ast.Tuple | ast.List | ast.Set):
        for element in expr.elts:
            found = _credential_ref(ctx, element.value if isinstance(element, ast.Starred) else element,
                                    depth + 1)
            if found:
                return found
    return None


def _holds_no_string(ctx: Context, name: ast.Name) -> bool:
    """Is every value assigned to the name (None aside) evidently not a credential: a tuple, a
    collection, a number, arithmetic on a number? Trading code is full of such names:
    `pair_key = (pair, timeframe)`, `tf_in_sec = minutes * 60`."""
    import ast

    numeric_ops = (ast.Mult, ast.Div, ast.FloorDiv, ast.Sub, ast.Pow)
    seen = False
    for value in ctx.facts.values_of(name):
        if isinstance(value, ast.Constant) and value.value is None:
            continue  # `api_key = None` and a real value later
        seen = True
        if isinstance(value, ast.Tuple | ast.List | ast.Set | ast.Dict | ast.ListComp | ast.SetComp
                      | ast.DictComp | ast.GeneratorExp | ast.Compare):
            continue
        if isinstance(value, ast.Constant) and isinstance(value.value, int | float | complex):
            continue  # bool is an int
        if isinstance(value, ast.BinOp) and isinstance(value.op, numeric_ops) and any(
                isinstance(side, ast.Constant) and isinstance(side.value, int | float)
                for side in (value.left, value.right)):
            continue
        return False
    return seen


def _env_lookup(ctx: Context, expr: ast.expr) -> str | None:
    """`os.environ["BINANCE_API_SECRET"]`, `os.getenv("...KEY")`: the lookup's text, or None."""
    import ast

    from bkm_guard.static.python import apis

    if (isinstance(expr, ast.Subscript) and "os.environ" in ctx.facts.qualified(expr.value)
            and not isinstance(expr.slice, ast.Tuple | ast.Slice)):
        key = ctx.facts.string(expr.slice)
        if key is not None and key.value and ctx.facts.role(key.value) is not None:
            return f'os.environ["{key.value}"]'
    if isinstance(expr, ast.Call) and any(apis.is_env_getter(q) for q in ctx.facts.qualified(expr.func)):
        first = expr.args[0] if expr.args else (expr.keywords[0].value if expr.keywords else None)
        key = ctx.facts.string(first) if first is not None else None
        if key is not None and key.value and ctx.facts.role(key.value) is not None:
            return f'os.getenv("{key.value}")'
    return None
