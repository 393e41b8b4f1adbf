"""Who is on call: rotations as code, calendars and quiet hours.

A ``rotations:`` section (in a profiles file or a spec) names rotations: people
with their phones, time zones and quiet hours, layers (primary, secondary) that
take turns in a shift (daily, weekly, or a duration) handed off at a wall-clock
time in the rotation's time zone, and dated overrides.  This package owns
reading them (:mod:`.model`), the times they are written in (:mod:`.times`),
who is on call at an instant and every shift of a window (:mod:`.resolve`),
their validation (:mod:`.checks`), the rows ``each: {rotation: ...}`` and
``each: {ical: ...}`` expand to (:mod:`.rows`), iCalendar export and import
(:mod:`.ical`, the only module that loads ``icalendar``) and ``callspec oncall``
(:mod:`.show`).

Nothing here is imported for a spec without rotations: the spec stage reaches
this package only when a document has ``rotations:`` or an ``each:`` mapping.
"""
