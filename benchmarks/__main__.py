"""Runs every benchmark: ``python -m benchmarks [--out results.json]``."""

from benchmarks import d64_192

if __name__ == "__main__":
    d64_192.main()
