"""Phone numbers: each destination and caller ID parsed, the countries a profile allows,
and the one identity of a destination.

Plivo reads a number as its country code followed by the number, with or without
a ``+``: ``4155550202`` is dialed as +41 55550202 (Switzerland), never as the US
number it was probably meant to be.  So every number of a body (``from``, and each
number of ``to``; SIP URIs stay SIP) is read here as Plivo reads it, with the
numbering plans of ``phonenumbers`` (Google's libphonenumber data):

* a number no country could have (an unknown country code, too few or too many
  digits for its country) is an error;
* a destination outside the profile's ``countries:`` is an error (also a guard
  against toll fraud); so is one whose country cannot be told, when a list is set;
* a number written without ``+`` that is a valid number of an allowed country (of
  the caller ID's country, without a list) when read without its country code is
  named, with its full spelling: an error when the number as dialed is refused
  anyway, else a warning.

:func:`destination_key` is what makes two destinations the same everywhere
(repeated destinations, resume, escalation, ``max_calls``): a number's E.164 form
as Plivo dials it.  Whether a number could exist is read from number_plans.py (a
table derived from ``phonenumbers``); ``phonenumbers`` itself loads only for what
needs its patterns: a profile's ``countries``, a number written without ``+``, a
problem's message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from callspec.spec.number_plans import PLANS

if TYPE_CHECKING:
    import phonenumbers

_SIP = ("sip", "sips")
Mask = Callable[[str], str]


@dataclass(frozen=True)
class NumberIssue:
    """A problem with a number of ``arg``: an error, or a ``warning`` (the call is valid)."""

    arg: str
    message: str
    warning: bool = False


def destination_key(destination: str) -> str:
    """What makes two destinations the same phone or endpoint: a number's E.164 form as
    Plivo dials it (``14155550101`` and ``+14155550101`` are ``+14155550101``; other
    spellings, ``+1 (415) 555-0101``, where they parse); a SIP URI with its scheme
    (``sip``/``sips``) and host in lower case, its user part as written."""
    text = destination.strip()
    digits = text[1:] if text[:1] == "+" else text
    if digits.isdigit() and digits.isascii():  # the common case: no parsing
        return "+" + digits
    scheme, colon, rest = text.partition(":")
    if colon and scheme.lower() in _SIP:
        user, at, host = rest.rpartition("@")
        return f"sip:{user}{at}{host.lower()}"
    return _e164(text) or text


def _e164(text: str) -> str | None:
    """A number written with spaces, dashes or brackets, in E.164; None if it is none."""
    pn = _phonenumbers()
    try:
        parsed = pn.parse(text if text.startswith("+") else "+" + text, None)
    except pn.NumberParseException:
        return None
    return str(pn.format_number(parsed, pn.PhoneNumberFormat.E164))


def check_numbers(
    body: Mapping[str, Any], countries: tuple[str, ...], mask: Mask, skip: frozenset[str]
) -> list[NumberIssue]:
    """Every problem with the numbers of a body the call schema found valid (so ``from`` is
    digits with an optional ``+``, and each destination of ``to`` is that or a ``sip:`` /
    ``sips:`` URI).  Arguments in ``skip`` are not checked: they wait for a secret given
    only to send."""
    issues: list[NumberIssue] = []
    caller = body.get("from")
    caller_digits: str | None = None
    if "from" not in skip and isinstance(caller, str):
        caller_digits = caller[1:] if caller[:1] == "+" else caller
        wrong = _impossible_for(caller_digits[:3], len(caller_digits))
        if wrong is not None:
            issues.append(NumberIssue("from", f"{_quoted(caller, mask)} {wrong}"))
            caller_digits = None
    to = body.get("to")
    if "to" in skip or not isinstance(to, str):
        return issues

    def candidates() -> tuple[str, ...]:
        """Where a number without its country code is read: the allowed countries, else
        the caller ID's (worked out only for such a number)."""
        region = _region(caller_digits) if caller_digits and not countries else None
        return countries or ((region,) if region else ())

    for destination in to.split("<"):
        if destination[:3] == "sip":
            continue  # a SIP URI
        plus = destination[:1] == "+"
        digits = destination[1:] if plus else destination
        if plus and not countries and _impossible_for(digits[:3], len(digits)) is None:
            continue  # the common case: a possible number, its country code written
        issue = _destination(destination, digits, countries, candidates, mask)
        if issue is not None:
            issues.append(issue)
    return issues


def _destination(
    written: str,
    digits: str,
    countries: tuple[str, ...],
    candidates: Callable[[], tuple[str, ...]],
    mask: Mask,
) -> NumberIssue | None:
    plus = written.startswith("+")
    wrong = _impossible(digits)
    shown = _quoted(written, mask)
    secret = shown == "'***'"  # a declared secret: no other spelling of it is shown
    meant = "" if plus or secret else _national(digits, candidates())
    if wrong is not None:
        return NumberIssue("to", f"{shown} {wrong}{meant}")
    region = _region(digits)
    if countries and region not in countries:
        where = f"in {region}" if region and region != "001" else "of no single country"
        if region is None:
            where = "of a country that cannot be told (not a number in use)"
        dialed = "" if secret else f" (dialed as {_international(digits)})"
        allowed = ", ".join(countries)
        return NumberIssue(
            "to",
            f"{shown}{dialed} is a number {where}: the profile's countries are {allowed}{meant}",
        )
    if meant:
        message = f"{shown} is dialed as {_international(digits)} ({region or '?'}){meant}"
        return NumberIssue("to", message, warning=True)
    return None


def _quoted(written: str, mask: Mask) -> str:
    masked = mask(written)
    if masked != written or mask(destination_key(written)) != destination_key(written):
        return "'***'"
    return f"'{written}'"


def _phonenumbers() -> Any:
    import phonenumbers  # Google's numbering plans: loaded with the first number checked

    return phonenumbers


def _split(digits: str) -> tuple[int, str] | None:
    """(country code, national significant number) as Plivo reads the digits, or None
    when no country has the code they begin with (codes are 1 to 3 digits, prefix-free)."""
    for size in (1, 2, 3):
        if digits[:size].isdigit() and int(digits[:size]) in PLANS and digits[0] != "0":
            return int(digits[:size]), digits[size:]
    return None


def _number(digits: str) -> phonenumbers.PhoneNumber | None:
    """The digits as a number (leading zeros of the national part kept), or None."""
    split = _split(digits)
    if split is None or not split[1]:
        return None
    code, national = split
    zeros = len(national) - len(national.lstrip("0"))
    number: phonenumbers.PhoneNumber = _phonenumbers().PhoneNumber(
        country_code=code,
        national_number=int(national),
        italian_leading_zero=zeros > 0 or None,
        number_of_leading_zeros=zeros if zeros > 1 else None,
    )
    return number


def _impossible(digits: str) -> str | None:
    """Why no country could have this number, or None."""
    # It depends on the calling code (at most 3 digits) and the length alone.
    return _impossible_for(digits[:3], len(digits))


@functools.lru_cache(maxsize=4096)
def _impossible_for(prefix: str, length: int) -> str | None:
    digits = prefix + "0" * (length - len(prefix))  # stands for every number so begun
    split = _split(digits)
    if split is None:
        return (
            f"is no phone number: no country has the calling code it begins with (+{digits[:3]}…)"
        )
    code, national = split
    if not _length_ok(code, len(national)):
        return (
            f"is no phone number: +{code} ({_regions(code)}) has no numbers of "
            f"{len(national)} digits after the country code"
        )
    return None


def _length_ok(code: int, length: int) -> bool:
    """Whether numbers of country ``code`` can have ``length`` national digits."""
    return length in PLANS[code][0]


def _regions(code: int) -> str:
    regions = PLANS[code][1]
    shown = [r for r in regions if r != "001"][:3] or ["no single country"]
    return ", ".join(shown) + (", …" if len(regions) > 3 else "")


@functools.lru_cache(maxsize=4096)
def _region(digits: str) -> str | None:
    """The country (ISO 3166 code) of a number: the only one its code has, else the one its
    digits belong to; ``001`` for a non-geographic number; None when it cannot be told."""
    number = _number(digits)
    if number is None:
        return None
    region: str | None = _phonenumbers().region_code_for_number(number)
    return region


def _international(digits: str) -> str:
    number = _number(digits)
    if number is None:
        return "+" + digits
    pn = _phonenumbers()
    return str(pn.format_number(number, pn.PhoneNumberFormat.INTERNATIONAL))


def _national(digits: str, candidates: tuple[str, ...]) -> str:
    """``; without its country code, it is +1 415-555-0202 in US: write +14155550202``, when
    the digits are a valid number of a candidate country read as a national number."""
    pn = _phonenumbers()
    for region in candidates:
        try:
            number = pn.parse(digits, region)
        except pn.NumberParseException:
            continue
        e164 = str(pn.format_number(number, pn.PhoneNumberFormat.E164))
        if pn.is_valid_number_for_region(number, region) and e164 != "+" + digits:
            shown = pn.format_number(number, pn.PhoneNumberFormat.INTERNATIONAL)
            return (
                f"; without its country code it would be {shown} in {region}: "
                f"if that is meant, write {e164}"
            )
    return ""


def unknown_country(code: str) -> str | None:
    """Why ``code`` is no country ``phonenumbers`` knows, with the nearest one; or None."""
    from callspec.spec.validate import suggest

    regions = _phonenumbers().SUPPORTED_REGIONS
    if code in regions:
        return None
    hint = "; the United Kingdom is 'GB'" if code == "UK" else suggest(code, sorted(regions))
    return f"'{code}' is not an ISO 3166-1 country code that has phone numbers{hint}"
