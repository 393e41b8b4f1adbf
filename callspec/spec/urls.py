"""Why a call's URL argument is refused, in words about that URL.

The call schema's URL pattern decides what is valid; when it refuses a value
(``"x-explain": "url"`` on the property), :func:`url_problem` says what is wrong
with this URL: its scheme, a space or another blank and where, its host or port.
It talks about the ``#`` fragment only when there is one.
"""

from __future__ import annotations

import re
from urllib.parse import quote

_BLANKS = {" ": "a space", "\t": "a tab", "\n": "a line break", "\r": "a carriage return"}
_IPV6 = re.compile(r"^\[[0-9A-Fa-f:.]+\]$")
_PORT = re.compile(r"^[0-9]{1,5}$")
_PORT_MAX = 65535  # the schemas' port rule: the URL libraries refuse more when sending


def base_url_problem(url: str, rule: str) -> str:
    """What is wrong with ``url`` as a base URL (a profile's ``api_url`` or ``service``, or
    ``--api-url``/``--service``), which the base-URL pattern refused; ``rule`` is the
    schema's words, whose ``e.g. https://api.plivo.com`` ends these.  A base URL is used
    as written, never rendered, and callspec appends paths to it: no template, no
    userinfo (credentials go in ``auth_id``/``auth_token``), no query or fragment."""
    example = "e.g." + rule.partition("e.g.")[2] if "e.g." in rule else rule
    if "{{" in url or "{%" in url:
        return f"must be an http(s) base URL as written: a template is not rendered here, {example}"
    _, sep, rest = url.partition("://")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0] if sep else ""
    if "@" in authority:
        return f"must be an http(s) base URL without a user or password, {example}"
    for at, char in enumerate(url, start=1):
        # (url_problem words the blanks)
        if (ord(char) < 0x20 or ord(char) == 0x7F) and not char.isspace():
            return (
                f"must be an http(s) base URL: it holds a control character "
                f"(U+{ord(char):04X}) at character {at}"
            )
    problem = url_problem(url, "")
    if problem != "must be an http(s) URL" and problem:
        return problem.replace("http(s) URL", "http(s) base URL", 1)
    if "?" in rest or "#" in rest:
        return f"must be an http(s) base URL without a query or fragment, {example}"
    return f"must be an http(s) base URL, {example}"


def without_query(url: str) -> str:
    """``url`` with its query and fragment masked (``http://h/?***``): a refused base URL
    is quoted so, as a query is where a token is most often typed."""
    cut = min((at for at in (url.find("?"), url.find("#")) if at != -1), default=-1)
    return url if cut == -1 else f"{url[: cut + 1]}***"


def url_problem(url: str, fragment_rule: str) -> str:
    """What is wrong with ``url``, which the URL pattern refused; ``fragment_rule`` (the
    schema's words on the ``#`` fragment) when the fragment is what is wrong."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https"):
        return "must be an http(s) URL: it must start with http:// or https://"
    for at, char in enumerate(url, start=1):
        if char.isspace():
            blank = _BLANKS.get(char, f"a blank (U+{ord(char):04X})")
            return (
                f"must be an http(s) URL: it holds {blank} at character {at} "
                f"(percent-encode it: {quote(char)})"
            )
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if authority.count("@") > 1:
        return "must be an http(s) URL: its user and password must not hold '@' (write %40)"
    host = authority.rpartition("@")[2]
    if not host:
        return "must be an http(s) URL: it has no host"
    if host.startswith("["):
        if not _IPV6.match(host.partition("]")[0] + "]"):
            return f"must be an http(s) URL: the host {host!r} is no IPv6 address in brackets"
        port = host.partition("]")[2].removeprefix(":")
    else:
        if "[" in host or "]" in host:
            return f"must be an http(s) URL: the host {host!r} holds a bracket"
        host, _, port = host.partition(":")
        if not host:
            return "must be an http(s) URL: it has no host"
    if port and not _PORT.match(port):
        return f"must be an http(s) URL: its port {port!r} is not a number of up to 5 digits"
    if port and int(port) > _PORT_MAX:
        return f"must be an http(s) URL: its port {port} is over {_PORT_MAX}"
    if "#" in rest:
        return fragment_rule
    return "must be an http(s) URL"
