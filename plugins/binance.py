"""detect-secrets plugin file: `detect-secrets scan --plugin plugins/binance.py`.

A thin shim: the detector lives in the installed bkm-guard package, so this file never
goes stale. Prefer `bkm-detect-secrets`, whose baselines do not record this file's path.
"""

from bkm_guard.static.detect_secrets_plugin import BinanceDetector

__all__ = ["BinanceDetector"]
