"""Redis (real-time frame index) and ClickHouse (embedding archive)."""
