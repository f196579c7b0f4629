"""The shared fakes cover every port (mypy proves each implements its Protocol; see tests/fakes)."""

from __future__ import annotations

import inspect
from typing import Protocol

from fakes import every_port_has_a_fake
from lockgate import ports


def test_every_port_in_lockgate_ports_has_a_fake() -> None:
    declared = {
        name
        for name, value in vars(ports).items()
        if inspect.isclass(value) and Protocol in value.__mro__ and value.__module__ == ports.__name__
    }
    value_protocols = {"ServedVersion", "ChampionModel"}  # shapes of values, met by ModelVersion
    assert set(every_port_has_a_fake()) == declared - value_protocols
