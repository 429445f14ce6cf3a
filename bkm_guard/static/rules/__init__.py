"""The rules, one class per rule and one module per class; `ALL_RULES` maps each code to its class."""

from __future__ import annotations

from typing import Final

from bkm_guard.static.rules.base import Invalid, Rule, Valid
from bkm_guard.static.rules.credential_in_text_file import CredentialInTextFile
from bkm_guard.static.rules.credential_logged import CredentialLogged
from bkm_guard.static.rules.hardcoded_api_key import HardcodedApiKey
from bkm_guard.static.rules.hardcoded_api_secret import HardcodedApiSecret
from bkm_guard.static.rules.insecure_endpoint import InsecureEndpoint
from bkm_guard.static.rules.private_key import PrivateKey
from bkm_guard.static.rules.tls_verification_disabled import TlsVerificationDisabled

ALL_RULES: Final[dict[str, type[Rule]]] = {
    rule.CODE: rule
    for rule in (HardcodedApiKey, HardcodedApiSecret, PrivateKey, CredentialInTextFile, InsecureEndpoint,
                 TlsVerificationDisabled, CredentialLogged)
}

__all__ = ["ALL_RULES", "Invalid", "Rule", "Valid"]
