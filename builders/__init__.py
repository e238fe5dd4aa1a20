"""Hub dataset builder: release layout, WebDataset shards, audit Parquet, card, trainer export."""
