"""The models served by Triton, as the worker calls them: the gRPC client and the enrichment pass."""
