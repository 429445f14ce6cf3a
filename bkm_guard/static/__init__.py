"""The static half: Binance credentials and insecure endpoints in files, staged blobs and history.

One file goes straight down: discover (discovery, gitsource) → read (runner) → prefilter →
analyze (python | notebook | text) → suppress (pipeline) → report (result, baseline, report/).
"""
