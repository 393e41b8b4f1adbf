"""What Plivo accepts as an answer: the one definition ``check`` and ``--simulate`` share.

An answer is what ``answer_url``, ``fallback_url`` or a ``<Redirect>`` target serves.
Plivo reads it when it answers 2xx, with a ``Content-Type`` of ``text/xml`` or
``application/xml`` (docs.plivo.com/docs/voice/xml/response, "Requirements"), and a
document of at most 100 KB ("The maximum allowed size of the XML document in response
to an HTTP request from Plivo to your application is 100 Kb",
docs.plivo.com/docs/voice/xml/request); the document must then be valid Plivo XML
(:mod:`callspec.check.plivo_xml`).  ``callspec check`` fails an answer that breaks one of
these rules, and a simulated call ends with an error on it (an answer URL error past
the size cap, invalid answer XML for another Content-Type), so a handler the simulator
plays is one the check passes.
"""

from __future__ import annotations

#: The media types Plivo reads an XML document as.
XML_MEDIA_TYPES = ("text/xml", "application/xml")
#: Plivo's limit for an XML document ("100 Kb", read as 100 KiB).
MAX_XML_BYTES = 100 * 1024


def media_type(content_type: str | None) -> str:
    """``text/xml; charset=utf-8`` -> ``text/xml`` (lower case; "" when absent)."""
    return (content_type or "").split(";")[0].strip().lower()


def content_type_problem(content_type: str | None) -> str | None:
    """Why Plivo would not read an answer served with ``content_type``; None when it would."""
    if media_type(content_type) in XML_MEDIA_TYPES:
        return None
    shown = content_type or "none"
    return f"Content-Type {shown}: Plivo requires text/xml or application/xml"
