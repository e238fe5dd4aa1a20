"""Executors run stages; stages never import them."""
