"""Benchmarks and test support for ``cwi bench``: workloads, synthetic cubes, naive baselines.

Nothing in ``cwi``'s build steps imports this package; ``cwi bench`` and the tests do.
"""
