"""Passphrase -> 256-bit key with a memory-hard KDF; parameters and salt travel in each file.

Argon2id (cryptography >= 44) by default, scrypt where Argon2id is missing. Parameters read
from a file are bounded before use (at most COST_FACTOR times the default cost), so a
tampered header cannot make one refused unlock allocate gigabytes or take seconds.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import unicodedata
from collections.abc import Mapping
from typing import Final, Literal

from bkm_guard.errors import StoreError

KEY_LENGTH: Final = 32
SALT_LENGTH: Final = 16

# Calibrated on a 2-core x86-64 machine: about 0.15 s per unlock (benchmarks/store_bench.py).
ARGON2_DEFAULT: Final = {"iterations": 3, "memory_kib": 64 * 1024, "lanes": 4}
SCRYPT_DEFAULT: Final = {"n": 2**17, "r": 8, "p": 1}

# What a file may ask for: at most COST_FACTOR times the cost this version writes by default,
# so a forged header cannot make one refused unlock cost seconds and gigabytes. Parameters
# a caller sets are held to the same bounds: this version never writes what it would refuse.
COST_FACTOR: Final = 4
_MAX_MEMORY_KIB: Final = COST_FACTOR * ARGON2_DEFAULT["memory_kib"]
#: argon2id time cost = iterations x memory
_MAX_ARGON2_WORK: Final = COST_FACTOR * ARGON2_DEFAULT["iterations"] * ARGON2_DEFAULT["memory_kib"]
_MAX_ITERATIONS: Final = COST_FACTOR * ARGON2_DEFAULT["iterations"]
_MAX_LANES: Final = 16
#: scrypt memory = 128 n r bytes, time ~ n r p
_MAX_SCRYPT_NR: Final = COST_FACTOR * SCRYPT_DEFAULT["n"] * SCRYPT_DEFAULT["r"]
_MAX_SCRYPT_WORK: Final = _MAX_SCRYPT_NR * SCRYPT_DEFAULT["p"]
_MAX_SCRYPT_N: Final = _MAX_SCRYPT_NR
_MAX_SCRYPT_R: Final = 32
_MAX_SCRYPT_P: Final = 16


class KdfParamsError(ValueError):
    """KDF parameters out of range or unknown (a damaged or tampered header)."""


def argon2_available() -> bool:
    try:
        from cryptography.hazmat.primitives.kdf import argon2  # noqa: F401
    except ImportError:
        return False
    return True


@dataclasses.dataclass(frozen=True)
class KdfParams:
    """One KDF and its cost parameters (not the salt: every write draws a fresh one)."""

    alg: Literal["argon2id", "scrypt"] = "argon2id"
    iterations: int = ARGON2_DEFAULT["iterations"]
    memory_kib: int = ARGON2_DEFAULT["memory_kib"]
    lanes: int = ARGON2_DEFAULT["lanes"]
    n: int = SCRYPT_DEFAULT["n"]
    r: int = SCRYPT_DEFAULT["r"]
    p: int = SCRYPT_DEFAULT["p"]

    @classmethod
    def default(cls) -> KdfParams:
        return cls() if argon2_available() else cls(alg="scrypt")

    @classmethod
    def argon2id(cls, *, iterations: int, memory_kib: int, lanes: int) -> KdfParams:
        return cls("argon2id", iterations, memory_kib, lanes).validated()

    @classmethod
    def scrypt(cls, *, n: int, r: int, p: int) -> KdfParams:
        return cls("scrypt", n=n, r=r, p=p).validated()

    @classmethod
    def cheap(cls) -> KdfParams:
        """The cheapest accepted parameters: for tests only, never a default."""
        if argon2_available():
            return cls.argon2id(iterations=1, memory_kib=8, lanes=1)
        return cls.scrypt(n=2, r=1, p=1)

    def validated(self) -> KdfParams:
        def whole(value: object, low: int, high: int, what: str) -> None:
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise KdfParamsError(f"{self.alg} {what} out of range")

        if self.alg == "argon2id":
            whole(self.iterations, 1, _MAX_ITERATIONS, "iterations")
            whole(self.lanes, 1, _MAX_LANES, "lanes")
            whole(self.memory_kib, 8 * self.lanes, _MAX_MEMORY_KIB, "memory")
            if self.iterations * self.memory_kib > _MAX_ARGON2_WORK:
                raise KdfParamsError(f"argon2id cost over {COST_FACTOR}x this version's default")
        elif self.alg == "scrypt":
            whole(self.n, 2, _MAX_SCRYPT_N, "n")
            if self.n & (self.n - 1):
                raise KdfParamsError("scrypt n must be a power of two")
            whole(self.r, 1, _MAX_SCRYPT_R, "r")
            whole(self.p, 1, _MAX_SCRYPT_P, "p")
            if self.n * self.r > _MAX_SCRYPT_NR or self.n * self.r * self.p > _MAX_SCRYPT_WORK:
                raise KdfParamsError(f"scrypt cost over {COST_FACTOR}x this version's default")
        else:
            raise KdfParamsError("unknown KDF")
        return self

    def to_header(self, salt: bytes) -> dict[str, object]:
        head: dict[str, object] = {"alg": self.alg, "salt": base64.b64encode(salt).decode()}
        if self.alg == "argon2id":
            head.update(iterations=self.iterations, memory_kib=self.memory_kib, lanes=self.lanes)
        else:
            head.update(n=self.n, r=self.r, p=self.p)
        return head

    @classmethod
    def from_header(cls, head: Mapping[str, object]) -> tuple[KdfParams, bytes]:
        """Parameters and salt from a file header; KdfParamsError if anything is off."""
        try:
            alg = head["alg"]
            salt = base64.b64decode(str(head["salt"]), validate=True)
            if alg == "argon2id":
                expected = {"alg", "salt", "iterations", "memory_kib", "lanes"}
                params = cls("argon2id", iterations=head["iterations"],  # type: ignore[arg-type]
                             memory_kib=head["memory_kib"], lanes=head["lanes"])  # type: ignore[arg-type]
            elif alg == "scrypt":
                expected = {"alg", "salt", "n", "r", "p"}
                params = cls("scrypt", n=head["n"], r=head["r"], p=head["p"])  # type: ignore[arg-type]
            else:
                raise KdfParamsError("unknown KDF")
        except (KeyError, TypeError, ValueError) as exc:
            raise KdfParamsError("bad KDF header") from exc
        if set(head) != expected or len(salt) != SALT_LENGTH:
            raise KdfParamsError("bad KDF header")
        return params.validated(), salt


def new_salt() -> bytes:
    return os.urandom(SALT_LENGTH)


def encode_passphrase(passphrase: str) -> bytes:
    """NFC-normalized UTF-8, so the same typed passphrase works on every OS and keyboard."""
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def derive_key(passphrase: str, params: KdfParams, salt: bytes) -> bytes:
    secret = encode_passphrase(passphrase)
    if params.alg == "argon2id":
        try:
            from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
        except ImportError as exc:
            raise StoreError("this key file uses Argon2id, which needs cryptography >= 44: "
                             "upgrade it (pip install -U cryptography)") from exc
        return Argon2id(salt=salt, length=KEY_LENGTH, iterations=params.iterations,
                        lanes=params.lanes, memory_cost=params.memory_kib).derive(secret)
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=KEY_LENGTH, n=params.n, r=params.r, p=params.p).derive(secret)
