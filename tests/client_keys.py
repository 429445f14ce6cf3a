"""Keys for the client-library tests: stored in a real key store, registered with the fake."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bkm_guard.testing.keys import new_api_key, new_ed25519_key, new_hmac_secret, new_rsa_key

if TYPE_CHECKING:
    from bkm_guard.runtime.store import Credentials, KeyStore
    from bkm_guard.testing import FakeBinance

KEY_TYPES = ("hmac", "rsa", "ed25519")
TRADING = {"enableSpotAndMarginTrading": True}


def stored_key(store: KeyStore, fb: FakeBinance, key_type: str, *, encrypted: bool = True,
               **settings: object) -> Credentials:
    """A fresh key of `key_type` (a private key PEM encrypted with its own password unless
    `encrypted=False`), in `store` and known to `fb` with `settings`; its Credentials."""
    api_key = new_api_key()
    name = f"{key_type}-{api_key[:8].lower()}"
    if key_type == "hmac":
        secret = new_hmac_secret()
        store.add(name, purpose="spot-trading", api_key=api_key, api_secret=secret)
        fb.add_key(api_key, secret, **settings)  # type: ignore[arg-type]
    else:
        password = ("pem-" + new_api_key()[:16]) if encrypted else None
        make = new_rsa_key if key_type == "rsa" else new_ed25519_key
        private, public = make(password=password.encode() if password else None)
        store.add(name, purpose="spot-trading", api_key=api_key, private_key_pem=private,
                  private_key_password=password, key_type=key_type)  # type: ignore[arg-type]
        fb.add_key(api_key, public_key_pem=public, **settings)  # type: ignore[arg-type]
    return store.get(name)
