"""callspec: version-controlled, validated Plivo outbound calls.

The package is a library first; ``callspec.cli`` is a thin click layer over it.
"""

__version__ = "0.1.0"
