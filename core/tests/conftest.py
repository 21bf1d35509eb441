from __future__ import annotations

from collections.abc import Iterator

import pytest

from learnware_dock.market import Market
from learnware_dock.testing import ToySpecPlugin, register_plugin


@pytest.fixture
def toy_market(market: Market) -> Iterator[Market]:
    """The ``market`` fixture with :class:`ToySpecification` registered."""
    with register_plugin(market.pm, ToySpecPlugin()):
        yield market
