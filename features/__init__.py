"""Weight-free features computed in the worker from the media itself: decoding (PyAV), PDQ hashes, the copy
signature, chromaprint audio fingerprints and YAKE keywords. What models compute is in inference/."""
