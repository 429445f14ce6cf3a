"""`bkm-guard scan`: discovery, git sources, the parallel runner, baseline, reports.

The per-file analysis lives in :mod:`bkm_guard.analyze`; this package decides which bytes to
give it, runs it on every core, filters the findings and writes them out.
"""
