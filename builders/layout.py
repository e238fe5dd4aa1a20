"""The release layout: which files make up each `load_dataset` config, and their features.

Every config is WebDataset: `datasets` infers one builder for all configs of a repo from
the first config's files (huggingface/datasets#6447, #7101), so a Parquet `audit` config
next to WebDataset configs cannot be loaded by name. The `audit` config is therefore a tar
of one `<clip_id>.json` per candidate, and the same table is also shipped as
`audit/candidates.parquet` for pandas/DuckDB/SQL.

Features are declared in the card (`dataset_info`) instead of being inferred from the first
five records, so a field that happens to be null in those records cannot break loading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

DATA_DIRS = {"default": "data", "strict": "strict", "audit": "audit", "manifest": "manifest"}
AUDIT_PARQUET = "audit/candidates.parquet"
CARD_FILE = "README.md"
MANIFEST_FILE = "release.json"
DESCRIPTIONS = {
    "default": "every kept clip (redacted video + instruction + metadata)",
    "strict": "privacy subset: kept clips in which no face or burned-in text was ever detected",
    "audit": "every candidate clip with all its checks, decision and reasons (no media)",
    "manifest": "per kept clip: source, exact window, probe facts, redaction boxes, fingerprint "
                "(what `ophora-data reproduce` needs)",
}
# `build --no-media`: default/strict hold the instruction and metadata only.
NO_MEDIA_DESCRIPTIONS = {
    "default": "every kept clip: instruction + metadata (no video in this release: `ophora-data reproduce`)",
    "strict": "privacy subset, instruction + metadata (no video in this release)",
}


@dataclass
class ConfigLayout:
    name: str
    files: list[str]
    records: int
    num_bytes: int
    features: dict[str, Any] = field(default_factory=dict)  # datasets' YAML form
    media: bool = True  # False: a `build --no-media` clip config (no mp4 members)

    @property
    def description(self) -> str:
        if not self.media and self.name in NO_MEDIA_DESCRIPTIONS:
            return NO_MEDIA_DESCRIPTIONS[self.name]
        return DESCRIPTIONS[self.name]

    @property
    def data_glob(self) -> str:
        return f"{DATA_DIRS[self.name]}/train-*.tar"

    def configs_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"config_name": self.name,
                                 "data_files": [{"split": "train", "path": self.data_glob}]}
        if self.name == "default":
            entry["default"] = True
        return entry

    def info_entry(self) -> dict[str, Any]:
        return {"config_name": self.name, **self.features,
                "splits": [{"name": "train", "num_examples": self.records}]}


def webdataset_features(metadata: list[dict[str, Any]], media: bool = True) -> dict[str, Any]:
    """datasets features of a shard record: mp4 (Video; not with media=False), txt, json (struct),
    __key__, __url__."""
    import datasets

    json_schema = pa.Table.from_pylist([{"json": m} for m in metadata]).schema
    json_feature = datasets.Features.from_arrow_schema(json_schema)["json"]
    columns: dict[str, Any] = {"json": json_feature, "mp4": datasets.Video(), "txt": datasets.Value("string"),
                               "__key__": datasets.Value("string"), "__url__": datasets.Value("string")}
    if not media:
        del columns["mp4"]
    features = datasets.Features(columns)
    return datasets.DatasetInfo(features=features)._to_yaml_dict()


def record_features(schema: pa.Schema) -> dict[str, Any]:
    """Features of a record-only shard (`json` struct with `schema`'s columns, no media)."""
    import datasets

    json_feature = datasets.Features.from_arrow_schema(pa.schema([("json", pa.struct(list(schema)))]))["json"]
    features = datasets.Features({"json": json_feature, "__key__": datasets.Value("string"),
                                  "__url__": datasets.Value("string")})
    return datasets.DatasetInfo(features=features)._to_yaml_dict()
