"""The check stage: what a call's URLs serve, checked before the call rings.

``plivo_xml`` parses untrusted XML safely and checks it against Plivo's XML rules
(``schemas/plivo-xml.json``); ``params`` holds what Plivo sends with each request of a
call; ``fetch`` requests one URL as Plivo would; ``model`` is the data; ``checker`` picks
a plan's URLs, requests each distinct (URL, method) once and gives the verdicts.
"""
