"""The Ray executor: the same batches as the local one, processed by Ray actors.

Each actor builds its stage and calls setup() once (a model loads once per worker), then
processes batches in order; rows come back to the driver, which alone writes tables, so
resume and markers behave exactly as with the local executor. `run.ray_address` joins an
existing cluster; without it a local Ray instance with `--workers` CPUs is started.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ophora_data.config import Config
from ophora_data.executors.batch import safe_process_batch
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import Row, Stage, StageError
from ophora_data.stages.registry import get_stage


class StageWorker:
    """One stage instance living in a Ray actor."""

    def __init__(self, stage_name: str, config_data: dict[str, Any], workdir: str) -> None:
        self.stage = get_stage(stage_name)(Config.model_validate(config_data), RunDir(workdir))
        self.stage.setup()

    def process(self, batch: list[Row]) -> list[list[Row]]:
        return safe_process_batch(self.stage, batch)


def execute_on_ray(stage: Stage, batches: list[list[Row]], workers: int) -> Iterator[list[list[Row]]]:
    try:
        import ray
        from ray.util import ActorPool
    except ImportError as exc:
        raise StageError(
            "run.executor=ray needs the 'ray' extra: pip install -c constraints.txt 'ophora-data[ray]'"
        ) from exc
    address = stage.config.run.ray_address
    if not ray.is_initialized():
        ray.init(
            address=address,
            num_cpus=None if address else workers,
            include_dashboard=False,
            log_to_driver=False,
            ignore_reinit_error=True,
        )
    init_args = (type(stage).name, stage.config.model_dump(mode="json"), str(stage.run.root))
    actors = [ray.remote(StageWorker).remote(*init_args) for _ in range(workers)]
    try:
        # ActorPool.map keeps the batches' order, as the local executor does.
        yield from ActorPool(actors).map(lambda actor, batch: actor.process.remote(batch), batches)
    finally:
        for actor in actors:
            ray.kill(actor)
