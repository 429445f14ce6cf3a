"""The exchange behind the fake Binance: symbols and prices, balances, orders and trades.

Plain state and rules, no HTTP: `fake_binance` authenticates a request, then calls one of
the endpoint functions here with the parsed parameters. Amounts are `Decimal` and are sent
back as Binance formats them (strings with 8 decimals). Every function runs under the
fake's lock.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

ZERO: Final = Decimal(0)
_DECIMAL_RE: Final = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_DECIMAL_RANGE: Final = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
#: the default market: symbol -> (base asset, quote asset, last price)
DEFAULT_SYMBOLS: Final[Mapping[str, tuple[str, str, str]]] = {
    "BTCUSDT": ("BTC", "USDT", "50000.00"),
    "ETHUSDT": ("ETH", "USDT", "3000.00"),
    "BNBUSDT": ("BNB", "USDT", "600.00"),
    "ETHBTC": ("ETH", "BTC", "0.06000"),
}
DEFAULT_BALANCES: Final[Mapping[str, str]] = {"USDT": "1000"}
KLINE_MS: Final[Mapping[str, int]] = {
    "1s": 1_000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
    "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000,
    "12h": 43_200_000, "1d": 86_400_000, "3d": 259_200_000, "1w": 604_800_000, "1M": 2_592_000_000,
}


class ApiError(Exception):
    """A Binance error answer: HTTP status, code and message."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(code, msg)
        self.status = status
        self.code = code
        self.msg = msg


def rejected(msg: str) -> ApiError:
    return ApiError(400, -2010, msg)


def fmt(value: Decimal) -> str:
    return f"{value:.8f}"


@dataclasses.dataclass
class Symbol:
    name: str
    base: str
    quote: str
    price: Decimal


@dataclasses.dataclass
class Order:
    """A spot order, as GET /api/v3/order shows it."""

    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    quantity: Decimal
    quote_quantity: Decimal | None
    time: int
    status: str = "NEW"
    executed: Decimal = ZERO
    cumulative_quote: Decimal = ZERO
    update_time: int = 0
    fills: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol, "orderId": self.order_id, "orderListId": -1,
            "clientOrderId": self.client_order_id, "price": fmt(self.price),
            "origQty": fmt(self.quantity), "executedQty": fmt(self.executed),
            "cummulativeQuoteQty": fmt(self.cumulative_quote), "status": self.status,
            "timeInForce": self.time_in_force, "type": self.type, "side": self.side,
            "stopPrice": fmt(ZERO), "icebergQty": fmt(ZERO), "time": self.time,
            "updateTime": self.update_time or self.time,
            "isWorking": self.status in ("NEW", "PARTIALLY_FILLED"),
            "workingTime": self.time, "origQuoteOrderQty": fmt(self.quote_quantity or ZERO),
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }


@dataclasses.dataclass
class Account:
    """One key's account: balances (free, locked), orders and trades."""

    balances: dict[str, list[Decimal]] = dataclasses.field(default_factory=dict)
    orders: dict[int, Order] = dataclasses.field(default_factory=dict)
    trades: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def set_balance(self, asset: str, free: Decimal | str | int, locked: Decimal | str | int = 0) -> None:
        self.balances[asset] = [Decimal(free), Decimal(locked)]

    def free(self, asset: str) -> Decimal:
        return self.balances.get(asset, [ZERO, ZERO])[0]

    def move(self, asset: str, free: Decimal = ZERO, locked: Decimal = ZERO) -> None:
        entry = self.balances.setdefault(asset, [ZERO, ZERO])
        entry[0] += free
        entry[1] += locked


class Exchange:
    """The market (symbols, prices) and the matching of orders against the price a test sets."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self._clock = clock
        self.symbols: dict[str, Symbol] = {}
        self._ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        for name, (base, quote, price) in DEFAULT_SYMBOLS.items():
            self.add_symbol(name, base, quote, price)

    def add_symbol(self, name: str, base: str, quote: str, price: Decimal | str | int) -> None:
        self.symbols[name] = Symbol(name, base, quote, Decimal(price))

    def symbol(self, params: Mapping[str, str]) -> Symbol:
        name = required(params, "symbol")
        found = self.symbols.get(name)
        if found is None:
            raise ApiError(400, -1121, "Invalid symbol.")
        return found

    # -- market data -----------------------------------------------------------------------

    def exchange_info(self, params: Mapping[str, str]) -> dict[str, Any]:
        names = _symbol_list(params)
        chosen = [self.symbol({"symbol": n}) for n in names] if names else list(self.symbols.values())
        return {
            "timezone": "UTC", "serverTime": self._clock(),
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
            ],
            "exchangeFilters": [],
            "symbols": [_symbol_info(s) for s in chosen],
        }

    def ticker_price(self, params: Mapping[str, str]) -> Any:
        def one(s: Symbol) -> dict[str, Any]:
            return {"symbol": s.name, "price": fmt(s.price)}

        return self._per_symbol(params, one)

    def ticker_24hr(self, params: Mapping[str, str]) -> Any:
        now = self._clock()

        def one(s: Symbol) -> dict[str, Any]:
            p = fmt(s.price)
            return {
                "symbol": s.name, "priceChange": fmt(ZERO), "priceChangePercent": "0.000",
                "weightedAvgPrice": p, "prevClosePrice": p, "lastPrice": p, "lastQty": fmt(ZERO),
                "bidPrice": p, "bidQty": fmt(Decimal(1)), "askPrice": p, "askQty": fmt(Decimal(1)),
                "openPrice": p, "highPrice": p, "lowPrice": p, "volume": fmt(ZERO),
                "quoteVolume": fmt(ZERO), "openTime": now - 86_400_000, "closeTime": now,
                "firstId": -1, "lastId": -1, "count": 0,
            }

        return self._per_symbol(params, one)

    def _per_symbol(self, params: Mapping[str, str], one: Callable[[Symbol], dict[str, Any]]) -> Any:
        if "symbol" in params:
            return one(self.symbol(params))
        names = _symbol_list(params)
        chosen = [self.symbol({"symbol": n}) for n in names] if names else list(self.symbols.values())
        return [one(s) for s in chosen]

    def depth(self, params: Mapping[str, str]) -> dict[str, Any]:
        s = self.symbol(params)
        limit = min(_int(params, "limit", 100), 5000)
        tick = Decimal("0.01") if s.price >= 1 else Decimal("0.00001")
        levels = range(1, min(limit, 5) + 1)
        return {
            "lastUpdateId": self._clock(),
            "bids": [[fmt(s.price - tick * i), fmt(Decimal(1))] for i in levels],
            "asks": [[fmt(s.price + tick * i), fmt(Decimal(1))] for i in levels],
        }

    def klines(self, params: Mapping[str, str]) -> list[list[Any]]:
        s = self.symbol(params)
        interval = required(params, "interval")
        step = KLINE_MS.get(interval)
        if step is None:
            raise ApiError(400, -1120, "Invalid interval.")
        limit = min(_int(params, "limit", 500), 1000)
        end = _int(params, "endTime", self._clock())
        if "startTime" in params:
            start = _int(params, "startTime", 0) // step * step
            opens = [start + i * step for i in range(limit) if start + i * step <= end]
        else:
            last = end // step * step
            opens = [last - (limit - 1 - i) * step for i in range(limit)]
        p = fmt(s.price)
        return [[t, p, p, p, p, fmt(ZERO), t + step - 1, fmt(ZERO), 0, fmt(ZERO), fmt(ZERO), "0"]
                for t in opens]

    # -- trading ---------------------------------------------------------------------------

    def new_order(self, account: Account, params: Mapping[str, str], *, test: bool = False) -> dict[str, Any]:
        s = self.symbol(params)
        side = required(params, "side")
        if side not in ("BUY", "SELL"):
            raise ApiError(400, -1117, "Invalid side.")
        kind = required(params, "type")
        if kind not in ("MARKET", "LIMIT", "LIMIT_MAKER"):
            raise ApiError(400, -1116, "Invalid orderType.")
        quantity = decimal_param(params, "quantity")
        quote_qty = decimal_param(params, "quoteOrderQty")
        price = decimal_param(params, "price")
        tif = params.get("timeInForce", "")
        if kind == "MARKET":
            if quantity is None and quote_qty is None:
                raise ApiError(400, -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were "
                                           "empty/null!")
            if price is not None:
                raise ApiError(400, -1106, "Parameter 'price' sent when not required.")
            if tif:
                raise ApiError(400, -1106, "Parameter 'timeInForce' sent when not required.")
        else:
            if kind == "LIMIT" and not tif:
                raise ApiError(400, -1102, mandatory("timeInForce"))
            if tif and tif not in ("GTC", "IOC", "FOK"):
                raise ApiError(400, -1115, "Invalid timeInForce.")
            if quantity is None:
                raise ApiError(400, -1102, mandatory("quantity"))
            if price is None:
                raise ApiError(400, -1102, mandatory("price"))
        for name, value in (("quantity", quantity), ("quoteOrderQty", quote_qty), ("price", price)):
            if value is not None and value <= 0:
                raise ApiError(400, -1013, f"Invalid {name}.")
        market = s.price
        marketable = kind == "MARKET" or (price is not None and (
            price >= market if side == "BUY" else price <= market))
        if kind == "LIMIT_MAKER" and marketable:
            raise rejected("Order would immediately match and take.")
        if quantity is None and quote_qty is not None:
            quantity = (quote_qty / market).quantize(Decimal("0.00000001"))
        if quantity is None:  # pragma: no cover: refused above
            raise ApiError(400, -1102, mandatory("quantity"))
        limit_price = price if price is not None else market
        cost_asset, cost = (s.quote, quantity * (market if marketable else limit_price)) if side == "BUY" \
            else (s.base, quantity)
        if account.free(cost_asset) < cost:
            raise rejected("Account has insufficient balance for requested action.")
        if test:
            if params.get("computeCommissionRates") == "true":
                return {"standardCommissionForOrder": {"maker": "0.00100000", "taker": "0.00100000"},
                        "taxCommissionForOrder": {"maker": "0.00000000", "taker": "0.00000000"},
                        "discount": {"enabledForAccount": False, "enabledForSymbol": False,
                                     "discountAsset": "BNB", "discount": "0.00000000"}}
            return {}
        now = self._clock()
        client_id = params.get("newClientOrderId") or f"fake{now}{len(account.orders)}"
        order = Order(s.name, next(self._ids), client_id,
                      side, kind, tif if kind != "MARKET" else "GTC", price or ZERO, quantity, quote_qty, now)
        account.orders[order.order_id] = order
        if marketable:
            self._fill(account, order, market, maker=False)
        elif tif in ("IOC", "FOK"):
            order.status = "EXPIRED"
        else:  # rests on the book: the funds are locked
            account.move(cost_asset, -cost, cost)
        return self._order_answer(order, params.get("newOrderRespType") or (
            "FULL" if kind in ("MARKET", "LIMIT") else "ACK"))

    def _fill(self, account: Account, order: Order, price: Decimal, *, maker: bool,
              from_locked: bool = False) -> None:
        s = self.symbols[order.symbol]
        quantity = order.quantity - order.executed
        quote = quantity * price
        if order.side == "BUY":
            locked = quantity * order.price if from_locked else ZERO
            account.move(s.quote, -(quote - locked) if from_locked else -quote, -locked)
            account.move(s.base, quantity)
        else:
            account.move(s.base, ZERO if from_locked else -quantity, -quantity if from_locked else ZERO)
            account.move(s.quote, quote)
        order.executed += quantity
        order.cumulative_quote += quote
        order.status = "FILLED"
        order.update_time = self._clock()
        trade_id = next(self._trade_ids)
        order.fills.append({"price": fmt(price), "qty": fmt(quantity), "commission": fmt(ZERO),
                            "commissionAsset": s.base if order.side == "BUY" else s.quote,
                            "tradeId": trade_id})
        account.trades.append({
            "symbol": s.name, "id": trade_id, "orderId": order.order_id, "orderListId": -1,
            "price": fmt(price), "qty": fmt(quantity), "quoteQty": fmt(quote), "commission": fmt(ZERO),
            "commissionAsset": s.base if order.side == "BUY" else s.quote, "time": order.update_time,
            "isBuyer": order.side == "BUY", "isMaker": maker, "isBestMatch": True,
        })

    def fill(self, account: Account, order_id: int, price: Decimal | None = None) -> Order:
        """Fill a resting order (at its limit price unless `price` is given): the test plays the market."""
        order = account.orders.get(order_id)
        if order is None or order.status not in ("NEW", "PARTIALLY_FILLED"):
            raise ValueError(f"order {order_id} is not open")
        fill_price = order.price if price is None else Decimal(price)
        if order.side == "BUY" and fill_price > order.price:
            raise ValueError("a BUY order fills at its limit price or lower")
        if order.side == "SELL" and fill_price < order.price:
            raise ValueError("a SELL order fills at its limit price or higher")
        self._fill(account, order, fill_price, maker=True, from_locked=True)
        return order

    def _order_answer(self, order: Order, resp_type: str) -> dict[str, Any]:
        ack = {"symbol": order.symbol, "orderId": order.order_id, "orderListId": -1,
               "clientOrderId": order.client_order_id, "transactTime": order.time}
        if resp_type == "ACK":
            return ack
        view = order.view()
        result = {**ack, **{k: view[k] for k in (
            "price", "origQty", "executedQty", "origQuoteOrderQty", "cummulativeQuoteQty", "status",
            "timeInForce", "type", "side", "workingTime", "selfTradePreventionMode")}}
        if resp_type == "FULL":
            result["fills"] = list(order.fills)
        return result

    def find_order(self, account: Account, params: Mapping[str, str]) -> Order:
        s = self.symbol(params)
        order_id = params.get("orderId")
        client_id = params.get("origClientOrderId")
        if not order_id and not client_id:
            raise ApiError(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were "
                                       "empty/null!")
        for order in account.orders.values():
            if order.symbol == s.name and (str(order.order_id) == order_id or
                                           (client_id and order.client_order_id == client_id)):
                return order
        raise ApiError(400, -2013, "Order does not exist.")

    def cancel(self, account: Account, params: Mapping[str, str]) -> dict[str, Any]:
        try:
            order = self.find_order(account, params)
        except ApiError as exc:
            if exc.code == -2013:
                raise ApiError(400, -2011, "Unknown order sent.") from None
            raise
        if order.status not in ("NEW", "PARTIALLY_FILLED"):
            raise ApiError(400, -2011, "Unknown order sent.")
        s = self.symbols[order.symbol]
        left = order.quantity - order.executed
        if order.side == "BUY":
            account.move(s.quote, left * order.price, -left * order.price)
        else:
            account.move(s.base, left, -left)
        order.status = "CANCELED"
        order.update_time = self._clock()
        view = order.view()
        return {"symbol": order.symbol, "origClientOrderId": order.client_order_id, "orderId": order.order_id,
                "orderListId": -1,
                "clientOrderId": params.get("newClientOrderId") or f"cancel{order.order_id}",
                "transactTime": order.update_time, **{k: view[k] for k in (
                    "price", "origQty", "executedQty", "origQuoteOrderQty", "cummulativeQuoteQty", "status",
                    "timeInForce", "type", "side", "selfTradePreventionMode")}}

    def open_orders(self, account: Account, params: Mapping[str, str]) -> list[dict[str, Any]]:
        name = self.symbol(params).name if "symbol" in params else None
        return [o.view() for o in account.orders.values()
                if o.status in ("NEW", "PARTIALLY_FILLED") and name in (None, o.symbol)]

    def all_orders(self, account: Account, params: Mapping[str, str]) -> list[dict[str, Any]]:
        name = self.symbol(params).name
        limit = min(_int(params, "limit", 500), 1000)
        return [o.view() for o in account.orders.values() if o.symbol == name][-limit:]

    def my_trades(self, account: Account, params: Mapping[str, str]) -> list[dict[str, Any]]:
        name = self.symbol(params).name
        limit = min(_int(params, "limit", 500), 1000)
        order_id = params.get("orderId")
        return [t for t in account.trades if t["symbol"] == name and
                (order_id is None or str(t["orderId"]) == order_id)][-limit:]

    # -- wallet ----------------------------------------------------------------------------

    def coins(self, account: Account) -> list[dict[str, Any]]:
        assets = sorted({*account.balances, *(a for s in self.symbols.values() for a in (s.base, s.quote))})
        return [_coin(asset, account.balances.get(asset, [ZERO, ZERO])) for asset in assets]

    def withdraw(self, account: Account, params: Mapping[str, str]) -> dict[str, Any]:
        coin = required(params, "coin")
        required(params, "address")
        amount = decimal_param(params, "amount")
        if amount is None:
            raise ApiError(400, -1102, mandatory("amount"))
        if account.free(coin) < amount:
            raise ApiError(400, -4026, "The user has insufficient balance available")
        account.move(coin, -amount)
        return {"id": f"fakewithdraw{self._clock()}"}


def _symbol_info(s: Symbol) -> dict[str, Any]:
    tick = "0.01000000" if s.price >= 1 else "0.00001000"
    return {
        "symbol": s.name, "status": "TRADING", "baseAsset": s.base, "baseAssetPrecision": 8,
        "quoteAsset": s.quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "icebergAllowed": False, "ocoAllowed": False, "otoAllowed": False, "opoAllowed": False,
        "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": False, "cancelReplaceAllowed": False,
        "amendAllowed": False, "pegInstructionsAllowed": False, "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00000000",
             "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000",
             "stepSize": "0.00001000"},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "100.00000000",
             "stepSize": "0.00000000"},
            {"filterType": "NOTIONAL", "minNotional": "0.00000000", "applyMinToMarket": False,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
        ],
        "permissions": [], "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def _coin(asset: str, balance: list[Decimal]) -> dict[str, Any]:
    network = {
        "network": asset, "coin": asset, "withdrawIntegerMultiple": "0.00000001", "isDefault": True,
        "depositEnable": True, "withdrawEnable": True, "depositDesc": "", "withdrawDesc": "",
        "specialTips": "", "name": asset, "resetAddressStatus": False, "addressRegex": "^.+$",
        "memoRegex": "", "withdrawFee": "0", "withdrawMin": "0.00000001", "withdrawMax": "9999999999",
        "minConfirm": 1, "unLockConfirm": 0, "sameAddress": False, "estimatedArrivalTime": 5,
        "busy": False, "contractAddressUrl": "", "contractAddress": "",
    }
    return {"coin": asset, "depositAllEnable": True, "withdrawAllEnable": True, "name": asset,
            "free": fmt(balance[0]), "locked": fmt(balance[1]), "freeze": "0", "withdrawing": "0",
            "ipoing": "0", "ipoable": "0", "storage": "0", "isLegalMoney": False, "trading": True,
            "networkList": [network]}


def mandatory(name: str) -> str:
    return f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."


def required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise ApiError(400, -1102, mandatory(name))
    return value


def decimal_param(params: Mapping[str, str], name: str) -> Decimal | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not _DECIMAL_RE.match(value):
        raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is "
                                   f"'{_DECIMAL_RANGE}'.")
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover: the pattern admits only valid decimals
        raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'.") from None


def _int(params: Mapping[str, str], name: str, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    if not value.isdigit():
        raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is "
                                   "'^[0-9]{1,20}$'.")
    return int(value)


def _symbol_list(params: Mapping[str, str]) -> list[str]:
    import json

    if "symbol" in params:
        return [params["symbol"]]
    raw = params.get("symbols")
    if not raw:
        return []
    try:
        names = json.loads(raw)
    except ValueError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ApiError(400, -1100, "Illegal characters found in parameter 'symbols'; legal range is "
                                   "'^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'.")
    return names
