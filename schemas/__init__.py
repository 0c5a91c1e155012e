"""Avro schemas of the pipeline's topics and their wire format (see schemas/codec.py)."""
