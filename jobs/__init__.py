"""Command-line jobs beside the stream: creating topics, listing and re-driving dead letters, re-clustering,
reindexing. Each is ``python -m jobs.<name>``; they read topics outside any consumer group."""
