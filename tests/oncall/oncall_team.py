"""The team of issue 21, written once for the rotation tests: four people, weekly
hand-offs at 09:00 New York time, one override, ana (Los Angeles) with quiet hours."""

from __future__ import annotations

ANA, BEN, CLEO, DEV = "+14155550101", "+14155550102", "+14155550103", "+14155550104"
PHONES = {"ana": ANA, "ben": BEN, "cleo": CLEO, "dev": DEV}

PROFILES = """\
version: 1
profiles:
  default:
    defaults: {from: "+14152224444"}
rotations:
  backend:
    time_zone: America/New_York
    start: "2026-12-07T09:00"
    shift: weekly
    layers:
      primary: [ana, ben, cleo, dev]
      secondary: [ben, cleo, dev, ana]
    people:
      ana: {phone: "+14155550101", time_zone: America/Los_Angeles, quiet: "22:00-07:00"}
      ben: {phone: "+14155550102"}
      cleo: {phone: "+14155550103"}
      dev: {phone: "+14155550104"}
    overrides:
      - {who: cleo, covers: ben, from: "2026-12-16T18:00", to: "2026-12-18T09:00"}
"""

SPEC = """\
version: 1
calls:
  - name: "{{ row.layer }}-{{ row.name }}"
    each: {rotation: backend, layers: [primary, secondary]}
    to: "{{ row.phone }}"
    answer_url: "https://hooks.example.com/page.xml?ends={{ row.shift_ends }}"
"""
