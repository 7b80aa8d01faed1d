"""asv benchmark suites of satea (see ``benchmarks/README.md``).

Modules: ``bench_objective`` (float64 evaluator vs size), ``bench_moves`` (attempted moves
per second per backend and size), ``bench_quality`` (best objective and gap to the numpy
reference at a fixed budget), ``bench_memory`` (host peak memory, CuPy device bytes).
Shared sizes, instances, warm-up and skips are in ``common``.
"""
