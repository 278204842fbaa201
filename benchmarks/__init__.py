"""The benchmark (docs/performance.md): run from the repository root as ``python -m benchmarks.step_time``.
A package, so that its processes and the tests import its modules by name, without sys.path edits."""
