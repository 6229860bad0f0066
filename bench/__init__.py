"""VideoQA's benchmarks. Each one runs from the repository root as ``python -m bench.NAME``
(``--help`` lists its options) and writes its table into docs/benchmarks.md; ``bench._lib``
holds what they share: test media (``media``), process sampling (``monitor``) and the table
writing with its one platform line (``report``).
"""
