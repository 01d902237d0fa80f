"""Baselines the benchmarks compare kalshi-lake with; each module runs as a child process (``python -m``).

- ``fetch_only``: requests + discard the pages (the floor: HTTP and cursor only).
- ``seed_style``: requests + ``response.json()`` + list append + a pandas DataFrame written to Parquet at the end
  (what users hand-write today).
- ``dlt_rest_api``: a dlt ``rest_api`` source with a JSON cursor paginator and a Parquet filesystem destination.

Every baseline takes ``--base-url`` (``.../trade-api/v2``), one or more ``--path`` (list endpoints holding trades,
e.g. ``/historical/trades`` and ``/markets/trades``), ``--limit`` and ``--out``, and prints a JSON summary line.
``fetch_only`` and ``seed_style`` share their page loop (``_walk.walk_pages``, 429 retried); they differ only
in what they do with a page.
"""
