"""pytest plugin registered by bkm-guard (entry point `pytest11`): the `fake_binance` fixture."""
