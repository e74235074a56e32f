"""`make bench`: speed and memory of the portal at realistic scale, as ratios to a floor.

Each row times the project's own code path and, in the same run on the same database, the
cheapest way to do the same work (COPY, one UPDATE, a bare Django view). See README,
"Benchmarks".
"""
