"""Runs every benchmark: ``python -m benchmarks [--out results.json]``."""

import sys

from benchmarks import d64_192, depth, loop_crossover, spectral_radius, sweeps

if __name__ == "__main__":
    d64_192.main(sys.argv[1:])
    print()
    loop_crossover.main()
    print()
    sweeps.main([])
    print()
    depth.main([])
    print()
    spectral_radius.main([])
