"""Where everything is kept: the Redis indexes (copy frames and signatures, search chunks, cluster centroids,
series bookkeeping; one generation of them is storage/generations.py), the ClickHouse archive, and the media
files. Each module owns its keys and tables; storage/ depends on core/ only."""
