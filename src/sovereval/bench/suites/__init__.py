"""Benchmark declarations beyond the core catalogue, one module per family.

Each module exports plain tuples: ``DECLARATIONS`` (its :class:`~sovereval.bench.spec.BenchmarkDecl`\\ s) and,
where the family brings its own named functions, ``SCORERS``, ``EPISODES``, ``ROW_ADAPTERS`` or
``GENERATORS``.  Importing a module registers nothing; :func:`sovereval.bench.catalog.build` lists the
modules explicitly and concatenates their tuples into the catalog.
"""
