"""One real `build --no-media` release per test module (generated source, real cut)."""

from __future__ import annotations

import pytest

from tests.reproduce.releasefactory import MadeRelease, make_release


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> MadeRelease:
    return make_release(tmp_path_factory.mktemp("release"))
