"""Reading specs: load YAML with positions, resolve profiles, render templates, validate.

The flow, one module each: ``loader`` (YAML to documents with the line and
column of every value), ``documents`` (file shape against the schemas),
``profiles`` (discovery and ``extends`` chains), ``templates`` (the sandboxed
Jinja environment, with ``budget`` and ``estimates`` bounding what a template
may cost), ``validate`` (normalize and check a call's arguments),
``destinations`` (a phone two calls would ring) and ``plan`` (all of it,
into one :class:`~callspec.spec.plan.Plan`).
"""
