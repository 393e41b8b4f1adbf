"""The check stage's data: one URL to check, and what its check found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the XML checker loads with a check, not with every result
    from callspec.check.plivo_xml import XmlProblem
    from callspec.spec.model import CallPlan

UrlKind = Literal[
    "answer_url",
    "fallback_url",
    "ring_url",
    "hangup_url",
    "machine_detection_url",
    "callback_url",
    "redirect",
]
#: The arguments whose URL must serve Plivo XML.
XML_KINDS: tuple[UrlKind, ...] = ("answer_url", "fallback_url", "redirect")
#: The arguments a handler may act on: checked only when asked (--check-callbacks).
CALLBACK_KINDS: tuple[UrlKind, ...] = (
    "ring_url",
    "hangup_url",
    "machine_detection_url",
    "callback_url",
)
XmlState = Literal["valid", "invalid", "not checked"]


@dataclass(frozen=True)
class CallRef:
    """A call that uses a URL: where it is written, for problems and reports."""

    spec_file: str
    line: int
    index: int
    name: str
    #: The call itself: where its URL was written is looked up only for a failure.
    plan: CallPlan | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class UrlCheck:
    """What requesting one (URL, method) as Plivo would found."""

    kind: UrlKind
    url: str
    method: str
    calls: tuple[CallRef, ...]
    status: int | None = None
    content_type: str | None = None
    elapsed_ms: float = 0.0
    #: HTTP redirects followed.
    hops: tuple[str, ...] = ()
    #: Why there was no usable answer (unreachable, timeout, size, redirect loop), or the
    #: failing status, or a <Redirect> loop through this URL.
    error: str | None = None
    xml: XmlState = "not checked"
    problems: tuple[XmlProblem, ...] = ()
    #: For a <Redirect> target: the URL whose document redirects here.
    via: str | None = None

    @property
    def reachable(self) -> bool:
        return self.status is not None

    @property
    def ok(self) -> bool:
        return self.error is None and self.xml != "invalid"

    def verdict(self) -> str:
        """What the check found, in a few words (``valid Plivo XML``, ``HTTP 500``...)."""
        return verdict(self.error, self.xml, len(self.problems))


def verdict(error: str | None, xml: XmlState, problems: int) -> str:
    """What a check found, in a few words: its error, else what its XML is (for a check and
    for a report's ``checks`` item alike)."""
    if error is not None:
        return error
    if xml == "invalid":
        return f"invalid Plivo XML ({problems} problem{'s' if problems != 1 else ''})"
    if xml == "valid":
        return "valid Plivo XML"
    return "reachable"
