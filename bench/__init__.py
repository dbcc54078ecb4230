"""wacloud benchmarks: `python -m bench [--quick] [name ...]` (see bench/README.md).

Each public module of this package is one benchmark: it defines ``TITLE``, an optional
``ORDER`` and ``run(ctx: bench._common.Context) -> list[bench._common.Table]``. Adding
a module (e.g. ``bench/campaigns.py``) is all it takes to add ``python -m bench campaigns``.
"""
