"""The runner's side of ``message:`` calls: which answer service speaks each message, the
registration of the message before its call is placed, and the reader of its acknowledgement.

A call with ``message:`` is placed with the answer service's ``answer_url`` for a
registration the runner makes (:func:`callspec.serve.prompt.new_id`), so the order
is: journal the call's started line with the registration's ID and answer_url
(durable), register the message with the service, then send.  A run killed between
any two of these loses nothing and places nothing twice: a call whose started
line has no outcome resumes as unknown (never sent again unless asked), and a
registration the service holds but no call used only expires.

Registering is idempotent, so a registration that got no answer (the service
unreachable, a 5xx, a 429) is tried again, as a send that surely placed nothing is;
one the service refused, or whose answer cannot be believed, fails the call: it is
not placed (its callee would hear nothing).  Which service: ``run --service URL``,
else the call's profile's ``service:``; a live run of a ``message:`` call without
either is refused before anything is sent (:func:`refuse_without_service`), while
``run --sandbox`` starts one in-process (:mod:`callspec.sandbox.embedded`).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from callspec.delivery.acks import AckReader
from callspec.delivery.credentials import Credentials
from callspec.delivery.rate import backoff
from callspec.errors import GuardError
from callspec.redact import Redactor
from callspec.text import outside

if TYPE_CHECKING:
    from callspec.delivery.request import Timeouts
    from callspec.results import CallResult
    from callspec.serve.client import ServiceClient
    from callspec.spec.plan import CallPlan, Plan

#: Answers to a registration that surely changed nothing and may be asked again.
_AGAIN = frozenset({None, 429, 500, 502, 503, 504})
#: Times the message is spoken, and seconds of silence for the key after each.
SPOKEN = 2
PAUSE_S = 5


def service_of(call: CallPlan, given: str | None) -> str | None:
    """The answer service of a call with ``message:``: ``run --service``, else its profile's."""
    if given:
        return given
    return call.profile.service if call.profile is not None else None


def refuse_without_service(plan: Plan, given: str | None) -> None:
    """A live run of a call with ``message:`` and no answer service is refused before
    anything is sent (GuardError, exit 4), located at the call."""
    lonely = [c for c in plan.calls if c.message is not None and not service_of(c, given)]
    if not lonely:
        return
    first = lonely[0]
    more = f" (and {len(lonely) - 1} more call(s))" if len(lonely) > 1 else ""
    raise GuardError(
        f"{first.spec_file}:{first.line}: calls[{first.index}].message: '{first.name}'{more} "
        "says a message, but no answer service is given to speak it: run --service URL "
        "(where callspec serve runs, as Plivo reaches it) or service: in the profile; "
        "nothing was sent"
    )


@dataclass(frozen=True)
class Registration:
    """A call's message at its answer service: the ID and the answer_url it is placed with."""

    service: str
    id: str
    answer_url: str


class Services:
    """The answer services of one run: a client per service and account, the registrations
    made before each send, and the readers of the acknowledgements."""

    def __init__(
        self,
        given: str | None,
        timeouts: Timeouts,
        environ: Mapping[str, str],
        redactor: Redactor,
        stop: threading.Event,
    ) -> None:
        self.given = given
        self.timeouts = timeouts
        self.environ = environ
        self.redactor = redactor
        self.stop = stop
        self._clients: dict[tuple[str, str], ServiceClient] = {}
        self._lock = threading.Lock()
        self._random = random.Random()

    def client(self, service: str, creds: Credentials) -> ServiceClient:
        from callspec.serve.client import ServiceClient

        with self._lock:
            key = (service, creds.auth_token)
            if key not in self._clients:
                self._clients[key] = ServiceClient(
                    service,
                    creds.auth_token,
                    timeout_s=self.timeouts.connect + self.timeouts.read,
                    redactor=self.redactor,
                    environ=self.environ,
                )
            return self._clients[key]

    def new(self, call: CallPlan, creds: Credentials) -> Registration:
        """A fresh registration for ``call`` (nothing is sent: it is journaled first)."""
        from callspec.serve.prompt import new_id

        service = service_of(call, self.given)
        assert service is not None  # refused before the run otherwise
        id = new_id()
        return Registration(service, id, self.client(service, creds).answer_url(id))

    def register(
        self, call: CallPlan, creds: Credentials, registration: Registration, tries: int
    ) -> str | None:
        """Register ``call``'s message under ``registration``, trying again (at most
        ``tries`` times in all) while the service surely changed nothing; None once it holds
        it, else why not (masked, cut, escaped)."""
        from callspec.serve.client import ServiceError
        from callspec.serve.prompt import Prompt, PromptError

        message = call.message
        assert message is not None
        ack = message.ack
        try:
            prompt = Prompt(
                message.text,
                message.voice,
                message.language,
                digit=ack.digit if ack is not None else "1",
                within_s=ack.within if ack is not None else 45,
                repeat=SPOKEN,
                pause_s=PAUSE_S,
            )
        except PromptError as e:  # validated with the plan: only a bug gets here
            return outside(f"the message cannot be registered: {e}", self.redactor.text)
        client = self.client(registration.service, creds)
        why = "not tried"
        for number in range(max(1, tries)):
            try:
                client.register(registration.id, prompt)
                return None
            except ServiceError as e:
                why = outside(e, self.redactor.text)
                if e.status not in _AGAIN or number + 1 >= tries:
                    break
            except Exception as e:  # a bug: nothing is placed for a message not registered
                why = outside(f"internal error: {type(e).__name__}: {e}", self.redactor.text)
                break
            if self.stop.wait(backoff(number, None, 0.5, 5.0, self._random)):
                break
        return f"the answer service did not take the message, so the call was not placed: {why}"

    def reader(
        self, result: CallResult, creds: Credentials, uuids: Sequence[str], placed_at: float
    ) -> AckReader | None:
        """The reader of ``result``'s acknowledgement, when it asked for one (``ack:``) and
        its message was registered; else None."""
        prompt, service, id = result.prompt, result.service, result.registration
        if prompt is None or prompt.ack is None or not service or not id:
            return None
        client = self.client(service, creds)
        return AckReader(client, id, prompt.ack, uuids, placed_at, self.redactor.text)
