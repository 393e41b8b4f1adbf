"""The check stage: what an answer_url serves, checked before a call rings.

``plivo_xml`` parses untrusted XML safely and checks it against Plivo's XML rules
(``schemas/plivo-xml.json``); ``fetch`` requests a URL as Plivo would; ``urls`` picks the
URLs of a plan to check; ``run`` checks them and gathers the results.
"""
