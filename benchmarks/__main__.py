"""Runs every benchmark: ``python -m benchmarks [--out results.json]``."""

import sys

from benchmarks import (
    d64_192,
    depth,
    large_operator,
    loop_crossover,
    spectral_radius,
    sweeps,
    training_speed,
)

if __name__ == "__main__":
    d64_192.main(sys.argv[1:])
    print()
    training_speed.main([])
    print()
    loop_crossover.main()
    print()
    sweeps.main([])
    print()
    depth.main([])
    print()
    spectral_radius.main([])
    print()
    large_operator.main([])
