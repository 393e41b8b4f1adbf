"""One run, one ring per phone: destinations shared by several calls of a plan.

A destination written twice in one call is that call's error (see validate.py).
Across calls of one run it is a warning, or an error with
``--unique-destinations``: the same person would be rung twice by one run.
This module owns what counts as the same destination and which calls share one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from callspec.spec.validate import Mask, destination_key, show, unmasked

if TYPE_CHECKING:
    from callspec.spec.plan import CallPlan


@dataclass(frozen=True)
class Repeat:
    """``destination`` (as ``again`` wrote it) is also a destination of the earlier ``first``."""

    destination: str
    first: CallPlan
    again: CallPlan


class Rung:
    """The destinations of the calls of a run so far, each with the first call that rings it."""

    def __init__(self) -> None:
        self._first: dict[str, CallPlan] = {}

    def add(self, call: CallPlan) -> list[Repeat]:
        """Note ``call``'s destinations; those an earlier call rings too."""
        to = call.body.get("to")
        if not isinstance(to, str):
            return []
        repeats = []
        for destination in to.split("<"):
            first = self._first.setdefault(destination_key(destination), call)
            if first is not call:  # (twice in one call is that call's error, see validate.py)
                repeats.append(Repeat(destination, first, call))
        return repeats


def repeated_destinations(calls: Iterable[CallPlan]) -> list[Repeat]:
    """Each destination of a call that an earlier call of the same run rings too."""
    rung = Rung()
    return [repeat for call in calls for repeat in rung.add(call)]


def repeat_message(repeat: Repeat, mask: Mask = unmasked) -> str:
    """The words for a repeat, naming both calls with their file and line."""
    first, again = repeat.first, repeat.again
    # A declared secret spelled another way (14155559999 for +14155559999) is the secret.
    secrets = {destination_key(v) for v in (*first.secret_values, *again.secret_values)}
    secret = destination_key(repeat.destination) in secrets
    shown = "'***'" if secret else show(repeat.destination, mask)
    return (
        f"{shown} is rung by call '{first.name}' "
        f"({first.spec_file}:{first.line}) and by call '{again.name}' "
        f"({again.spec_file}:{again.line}): one run would ring it twice"
    )
