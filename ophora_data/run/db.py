"""DuckDB over the run's Parquet tables, in place.

Views: `<stage>_all` holds every row ever written (the audit trail); `<stage>` holds the
current rows (newest part per key under the stage's current config hash).
"""

from __future__ import annotations

import duckdb

from ophora_data.config import Config
from ophora_data.run.workdir import RunDir
from ophora_data.stages.registry import get_stage, stage_config_hash, stage_names


def connect(run: RunDir, config: Config | None = None) -> duckdb.DuckDBPyConnection:
    config = config or run.load_config()
    con = duckdb.connect()
    known = set(stage_names())
    for stage in run.stages_with_tables():
        table = run.table(stage)
        if not table.parts():
            continue
        glob = str(table.dir / "part-*.parquet").replace("'", "''")
        con.execute(
            f'CREATE VIEW "{stage}_all" AS SELECT * EXCLUDE (filename), '
            f"regexp_extract(filename, '[^/]+$') AS _part "
            f"FROM read_parquet('{glob}', union_by_name=true, filename=true)"
        )
        if stage not in known:
            continue
        cls = get_stage(stage)
        config_hash = stage_config_hash(cls, config)
        con.execute(
            f'CREATE VIEW "{stage}" AS SELECT * FROM "{stage}_all" WHERE config_hash = \'{config_hash}\' '
            f'QUALIFY _part = max(_part) OVER (PARTITION BY "{cls.work_key()}")'
        )
    return con
