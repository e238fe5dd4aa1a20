"""The root config: one section per stage (each in its own module)."""

from __future__ import annotations

from pydantic import Field

from ophora_data.config.base import Section
from ophora_data.config.build import BuildConfig
from ophora_data.config.caption import CaptionConfig
from ophora_data.config.cut import CutConfig
from ophora_data.config.decide import DecideConfig
from ophora_data.config.deid import DeidConfig
from ophora_data.config.download import DownloadConfig
from ophora_data.config.ingest import IngestConfig
from ophora_data.config.privacy import PrivacyConfig
from ophora_data.config.probe import ProbeConfig
from ophora_data.config.publish import PublishConfig
from ophora_data.config.quality import QualityConfig
from ophora_data.config.reproduce import ReproduceConfig
from ophora_data.config.run import RunConfig
from ophora_data.config.score import ScoreConfig
from ophora_data.config.segment import SegmentConfig
from ophora_data.config.transcribe import TranscribeConfig
from ophora_data.config.tune import TuneConfig


class Config(Section):
    recipe: str = Field("custom", description="a name for this recipe, shown in the release card")
    run: RunConfig = RunConfig()
    ingest: IngestConfig = IngestConfig()
    probe: ProbeConfig = ProbeConfig()
    download: DownloadConfig = DownloadConfig()
    transcribe: TranscribeConfig = TranscribeConfig()
    segment: SegmentConfig = SegmentConfig()
    caption: CaptionConfig = CaptionConfig()
    deid: DeidConfig = DeidConfig()
    cut: CutConfig = CutConfig()
    quality: QualityConfig = QualityConfig()
    score: ScoreConfig = ScoreConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    decide: DecideConfig = DecideConfig()
    build: BuildConfig = BuildConfig()
    publish: PublishConfig = PublishConfig()
    tune: TuneConfig = TuneConfig()
    reproduce: ReproduceConfig = ReproduceConfig()
