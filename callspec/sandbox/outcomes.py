"""Who answers a simulated call: ``--answer OUTCOME[:FRACTION]`` and ``--answer-by``.

This module owns the simulation's settings (:class:`SimulationConfig`) and the
choice of each destination's outcome: a destination named by ``--answer-by``
gets its scripted outcome; the others draw from the ``--answer`` mix
(seeded, one draw per destination in the order the API accepted them); what
the mix leaves over is answered by a human.  A scripted destination that no call of a
run dials is named (:func:`undialed`), so a typo is not silently a human answer.

The outcomes: ``human`` answers and presses nothing; ``ack`` answers and, at the
call's first ``<GetDigits>``, presses the acknowledging key (``ack_digits`` for that
destination, else ``ack_digit``); ``wrong-key`` answers and presses another key
there once; ``machine`` answers as a machine; ``busy``, ``no-answer`` and
``rejected`` never answer.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, cast, get_args

from callspec.check.answer import MAX_XML_BYTES

Outcome = Literal["human", "ack", "wrong-key", "machine", "busy", "no-answer", "rejected"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)
_KEYS = "0123456789*"  # keys that may acknowledge (``#`` ends a <GetDigits> on Plivo)


@dataclass(frozen=True)
class Share:
    """``--answer machine:0.3``: that fraction of calls ends this way."""

    outcome: Outcome
    fraction: float


@dataclass(frozen=True)
class SimulationConfig:
    """How ``--simulate`` plays calls; the defaults are the CLI's."""

    duration_s: float = 1.0
    shares: tuple[Share, ...] = ()
    answer_by: tuple[tuple[str, Outcome], ...] = ()
    seed: int | None = None
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 5.0
    max_body_bytes: int = MAX_XML_BYTES  # Plivo's limit for an XML document (shared with check)
    max_redirects: int = 5  # <Redirect> elements followed, and HTTP redirects per request
    workers: int = 16  # calls played at once; more wait their turn (handlers see bursts of 16)
    #: The key ``ack`` presses, unless ``ack_digits`` names the destination's own.
    ack_digit: str = "1"
    ack_digits: tuple[tuple[str, str], ...] = ()  # (destination, key), as --answer-by spells it
    #: The environment's network settings for the callbacks (proxies, CA bundle; never
    #: credentials): :class:`callspec.net.session.Client`.
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for key in (self.ack_digit, *(key for _, key in self.ack_digits)):
            if len(key) != 1 or key not in _KEYS:
                raise ValueError(f"an acknowledging key must be one of 0-9 and *, not {key!r}")
        if not 0 <= self.duration_s <= 86_400:
            raise ValueError(f"simulate duration must be 0 to 86400 seconds, not {self.duration_s}")
        if sum(s.fraction for s in self.shares) > 1.0 + 1e-9:
            raise ValueError("the --answer fractions add up to more than 1")


def _outcome(text: str) -> Outcome:
    if text not in OUTCOMES:
        raise ValueError(f"unknown outcome {text!r}; expected one of {', '.join(OUTCOMES)}")
    return cast(Outcome, text)


def parse_share(text: str) -> Share:
    """``OUTCOME[:FRACTION]`` (``busy:0.2``; a bare ``OUTCOME`` means every call)."""
    name, sep, fraction = text.partition(":")
    try:
        value = float(fraction) if sep else 1.0
    except ValueError as e:
        raise ValueError(f"expected OUTCOME[:FRACTION] like busy:0.2, got {text!r}") from e
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"the fraction must be between 0 and 1, got {text!r}")
    return Share(_outcome(name.strip()), value)


def parse_answer_by(text: str) -> tuple[str, Outcome]:
    """``DESTINATION=OUTCOME`` (``+14155550100=no-answer``)."""
    destination, sep, name = text.rpartition("=")
    if not sep or not destination.strip():
        raise ValueError(f"expected DESTINATION=OUTCOME like +14155550100=busy, got {text!r}")
    return same_destination(destination), _outcome(name.strip())


def same_destination(text: str) -> str:
    """A destination's one identity (:func:`callspec.spec.numbers.destination_key`):
    ``+14155550100`` is ``14155550100``; a SIP URI's scheme and host in any case."""
    from callspec.spec.numbers import destination_key  # the one identity, with the sandbox

    return destination_key(text)


def undialed(
    answer_by: Iterable[tuple[str, Outcome]], destinations: Iterable[str]
) -> list[tuple[str, str | None]]:
    """Each ``--answer-by`` destination that none of ``destinations`` is (a typo, a digit
    short: its outcome would never be played), with the closest one dialed, if any."""
    from callspec.spec.validate import closest  # the one did-you-mean, loaded when needed

    dialed = sorted({same_destination(d) for d in destinations if d.strip()})
    missing = []
    for destination, _ in answer_by:
        if destination not in dialed:
            missing.append((destination, closest(destination, dialed, cutoff=0.8)))
    return missing


class AnswerPlan:
    """Draws each destination's outcome (thread-safe, deterministic with a seed)."""

    def __init__(self, config: SimulationConfig) -> None:
        self._script = dict(config.answer_by)
        self._ack_digit = config.ack_digit
        self._ack_digits = {same_destination(d): key for d, key in config.ack_digits}
        self._shares = config.shares
        self._rng = random.Random(config.seed)
        self._lock = threading.Lock()

    def outcome(self, destination: str) -> Outcome:
        with self._lock:  # always one draw, so the sequence depends on the order only
            draw = self._rng.random()
        scripted = self._script.get(same_destination(destination))
        if scripted is not None:
            return scripted
        for share in self._shares:
            if draw < share.fraction:
                return share.outcome
            draw -= share.fraction
        return "human"

    def key(self, destination: str, outcome: Outcome) -> str | None:
        """The key a callee with ``outcome`` presses at a ``<GetDigits>``: the
        acknowledging one for ``ack``, another for ``wrong-key``, none for the rest."""
        if outcome not in ("ack", "wrong-key"):
            return None
        right = self._ack_digits.get(same_destination(destination), self._ack_digit)
        if outcome == "ack":
            return right
        return next(key for key in "9876543210" if key != right)
