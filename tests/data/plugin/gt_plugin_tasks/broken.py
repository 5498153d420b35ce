"""Tasks that break the interface, for the bad-input tests."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from grutui.core.tasks import SequenceData
from gt_plugin_tasks import FirstToken


@dataclass(frozen=True)
class NoParse:
    """Everything but ``parse``."""

    name = "noparse"

    def validate(self) -> None: ...
    def to_dict(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NoParse:
        return cls()

    features = FirstToken.features
    output = FirstToken.output
    datasets = FirstToken.datasets
    data_shape = FirstToken.data_shape
    syntax = FirstToken.syntax
    ood_axes = FirstToken.ood_axes


@dataclass(frozen=True)
class BadShape(FirstToken):
    """Targets one row short of the inputs."""

    name = "badshape"

    def datasets(self, seed: int) -> tuple[SequenceData, SequenceData]:
        train, test = super().datasets(seed)
        return replace(train, y=np.asarray(train.y)[:-1]), test
