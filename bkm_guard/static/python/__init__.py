"""The Python rules' analysis over the standard library's `ast`: one parse, one traversal per file."""
