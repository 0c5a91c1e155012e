"""What happens to one ``publish-video`` event, independent of Faust: it can be driven directly, with the
servers it needs (Redis, Triton, ClickHouse) and nothing else (tests/stack/test_video_pipeline.py)."""
