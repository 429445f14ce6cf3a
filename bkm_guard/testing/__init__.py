"""A local fake Binance for tests: see bkm_guard.testing.fake_binance."""
