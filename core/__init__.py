"""The pure core: the data types and algorithms of the platform, with no I/O and no servers.

Only numpy, scipy, scikit-learn and hdbscan are imported here, and nothing of the project outside core/
(tests/unit/test_layout.py checks it): signatures and hash arithmetic, temporal alignment, verdict rules,
recurring segments, clustering math, event checks, and the typed records of the Kafka topics.
"""
