"""ophora-data: narrated ophthalmic-surgery videos -> an audited video-instruction dataset."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ophora-data")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+source"
