"""Side-by-side benchmarks of Lockgate against the tools users would otherwise pick.

``python -m benchmarks.run`` (``make bench``) measures every comparison and writes
``docs/benchmarks.md``; ``--smoke`` runs every Lockgate-side measurement at tiny sizes without the
peers, so the harness keeps working (``make bench-smoke``).
"""
