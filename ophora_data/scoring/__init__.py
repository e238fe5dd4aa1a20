"""Scoring arithmetic and plumbing for the `score` stage, free of any model library.

similarity: clip-text cosine and zero-shot arithmetic; near_duplicates: the twin index;
cache: per-clip embeddings on disk; prefetch: a bounded decode queue; encoder: the protocol
a model adapter (or a test fake) implements.
"""
