"""The lottery algorithms a run may name, by id and version (`esp-weighted/1`, ...).

A run records its algorithm id in its `parameters` (key `algorithm`) with the numpy version it
ran on (key `numpy`); runs recorded before this existed have neither and mean
`esp-weighted/1`. Replay, the assignment and what-if use the recorded algorithm, so an id,
once recorded, names one computation forever: a change that alters any result is a new
version (`esp-weighted/2`), registered beside the old one, never an edit of it.

Short names (`esp-weighted`) choose the latest registered version of that name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from regledger.domain.errors import InvalidInputError, LotteryAlgorithmUnavailable
from regledger.domain.lottery.algorithm import compute_assignment
from regledger.domain.lottery.lsf_repair import compute_lsf_repair
from regledger.domain.lottery.model import LotteryInput, LotteryParameters, LotteryResult

Algorithm = Callable[[LotteryInput, LotteryParameters, int], LotteryResult]

ESP_WEIGHTED = "esp-weighted/1"
DEFAULT_ALGORITHM = ESP_WEIGHTED
# Keys a run's parameters carry besides the algorithm's own knobs.
ALGORITHM_KEY = "algorithm"
NUMPY_KEY = "numpy"

ALGORITHMS: dict[str, Algorithm] = {
    ESP_WEIGHTED: compute_assignment,
    "lsf-repair/1": compute_lsf_repair,
}


def _version(algorithm_id: str) -> int:
    return int(algorithm_id.rpartition("/")[2])


def known_algorithms() -> list[str]:
    """Every registered id, then every short name, sorted."""
    return sorted(ALGORITHMS) + sorted({a.partition("/")[0] for a in ALGORITHMS})


def resolve_algorithm(name: object) -> str:
    """The registered id `name` means: an id as it is, a short name its latest version."""
    if name is None:
        return DEFAULT_ALGORITHM
    if isinstance(name, str) and name in ALGORITHMS:
        return name
    versions = [a for a in ALGORITHMS if a.partition("/")[0] == name] if isinstance(name, str) else []
    if not versions:
        raise InvalidInputError(
            f"Unknown lottery algorithm {name!r}; known: {', '.join(known_algorithms())}",
            algorithm=name,
            known=known_algorithms(),
        )
    return max(versions, key=_version)


def recorded_algorithm(parameters: Mapping[str, Any]) -> str:
    """The algorithm id a run recorded (runs from before ids were recorded: ESP's)."""
    return str(parameters.get(ALGORITHM_KEY, ESP_WEIGHTED))


def algorithm_for(parameters: Mapping[str, Any]) -> Algorithm:
    """The recorded algorithm, or `lottery_algorithm_unavailable` when this build lacks it."""
    algorithm_id = recorded_algorithm(parameters)
    found = ALGORITHMS.get(algorithm_id)
    if found is None:
        raise LotteryAlgorithmUnavailable(
            f"This run was computed by {algorithm_id!r}, which this version of regledger does not "
            f"have (it has {', '.join(sorted(ALGORITHMS))}); it cannot be recomputed here.",
            algorithm=algorithm_id,
            known=sorted(ALGORITHMS),
        )
    return found


def numpy_version() -> str:
    return str(np.__version__)


__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "Algorithm",
    "algorithm_for",
    "known_algorithms",
    "numpy_version",
    "recorded_algorithm",
    "resolve_algorithm",
]
