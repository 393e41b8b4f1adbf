"""Derive schemas/plivo-xml.json from the plivo SDK's plivo.xml package (a development tool).

Reads the SDK's element classes as source (ast), never imports them: for each class its
``_name``, ``_nestable`` (children), the attributes its ``to_dict`` writes, the type and
allowed values its ``validate_args`` validators enforce, and whether it takes text content.
The Plivo XML reference adds what the SDK does not validate (``*Method`` attributes are GET
or POST). Run ``python tools/plivo_xml_rules.py > schemas/plivo-xml.json`` after upgrading
the SDK; tests/check/test_plivo_xml_rules.py fails while the file and the SDK disagree.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

_RANGE = re.compile(r"^\s*(-?\d+)\s*<=\s*\w+\s*<=\s*(-?\d+)\s*$")
_METHODS = ["GET", "POST"]
#: Elements whose text is a URL Plivo fetches (Plivo XML reference: Play, Redirect).
_TEXT_URLS = {
    "Play": {
        "schemes": ["http", "https"],
        "source": "Plivo XML reference: Play's text is the URL of an audio file",
    },
    "Redirect": {
        "schemes": ["http", "https"],
        "source": "Plivo XML reference (docs.plivo.org/docs/restxml/elements/redirect): "
        "'you must enter an absolute URL'",
    },
}
#: Attribute rules the SDK does not validate, from Plivo's XML reference ("The Speak
#: element"): what a voice and a language look like.  ``pattern`` is a regular expression
#: the whole value must match, ``hint`` says it in words.
_ATTRIBUTE_RULES = {
    ("Speak", "voice"): {
        "pattern": r"^(?:WOMAN|MAN|woman|man|Polly\.[A-Za-z]{2,30}(?:-Neural)?)$",
        "hint": "WOMAN, MAN or an Amazon Polly voice (Polly.Joanna, Polly.Joanna-Neural)",
        "source": "Plivo XML reference: Speak's voice is WOMAN, MAN or Polly.NAME",
    },
    ("Speak", "language"): {
        "pattern": r"^[a-z]{2,3}-[A-Za-z0-9]{2,4}$",
        "hint": "a language code such as en-US",
        "source": "Plivo XML reference: Speak's language is a code such as en-US",
    },
}


def _validator_rule(node: ast.expr, rule: dict[str, Any]) -> None:
    """Fold one validator call (of_type, is_in, check, ...) into ``rule``."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return
    name = node.func.id
    if name in ("optional", "all_of", "required"):
        for arg in node.args:
            _validator_rule(arg, rule)
    elif name == "one_of":
        inner: dict[str, Any] = {}
        for arg in node.args:
            if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name):
                if arg.func.id == "is_url":
                    inner["or_url"] = True
                else:
                    _validator_rule(arg, inner)
        rule.update(inner)
    elif name in ("of_type", "of_type_exact"):
        text = ast.unparse(node)
        if "bool" in text:
            rule["type"] = "boolean"
        elif "int" in text:
            rule["type"] = "integer"
        elif "float" in text:
            rule["type"] = "number"
        else:
            rule.setdefault("type", "string")
    elif name in ("is_in", "multi_is_in"):
        values = ast.literal_eval(node.args[0])
        rule["enum"] = sorted(str(v) for v in values)
        sensitive = True
        for kw in node.keywords:
            if kw.arg == "case_sensitive":
                sensitive = bool(ast.literal_eval(kw.value))
        rule["case_sensitive"] = sensitive
        if name == "multi_is_in":
            rule["list"] = True
    elif name == "check" and len(node.args) > 1:
        message = ast.literal_eval(node.args[1])
        match = _RANGE.match(str(message))
        if match:
            rule["minimum"] = int(match.group(1))
            rule["maximum"] = int(match.group(2))


def _element(cls: ast.ClassDef, source: str) -> tuple[str, dict[str, Any]] | None:
    name: str | None = None
    nestable: list[str] = []
    functions: dict[str, list[ast.FunctionDef]] = {}
    for item in cls.body:
        if isinstance(item, ast.Assign) and isinstance(item.targets[0], ast.Name):
            if item.targets[0].id == "_name":
                name = ast.literal_eval(item.value)
            elif item.targets[0].id == "_nestable":
                nestable = list(ast.literal_eval(item.value))
        elif isinstance(item, ast.FunctionDef):
            functions.setdefault(item.name, []).append(item)
    if name is None or "to_dict" not in functions:
        return None
    attributes: dict[str, dict[str, Any]] = {}
    for node in ast.walk(functions["to_dict"][0]):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if not (isinstance(key, ast.Constant) and isinstance(value, ast.Attribute)):
                    continue
                attributes[str(key.value)] = _attribute(value.attr, functions)
            break
    if "__init__" in functions:
        init = functions["__init__"][0]
        args = [a.arg for a in init.args.args[1:]]
        required_args = set(args[: len(args) - len(init.args.defaults)])
    else:  # the base class's: no content, no attributes
        args, required_args = [], set()
    if "content" in args:
        text = "required" if "content" in required_args else "optional"
    else:
        text = "none"
    for xml_name, rule in attributes.items():
        if rule.pop("_python") in required_args:
            rule["required"] = True
        if xml_name.endswith(("method", "Method")) and "enum" not in rule:
            rule["enum"] = _METHODS
            rule["case_sensitive"] = False
            rule["source"] = "Plivo XML reference: every *Method attribute is GET or POST"
    for (element, attribute), extra in _ATTRIBUTE_RULES.items():
        if element == name and attribute in attributes:
            attributes[attribute].update(extra)
    found: dict[str, Any] = {
        "source": f"plivo/xml/{source}",
        "text": text,
        "children": nestable,
        "attributes": dict(sorted(attributes.items())),
    }
    if name in _TEXT_URLS:
        found["text_url"] = _TEXT_URLS[name]
    return name, found


def _attribute(python: str, functions: dict[str, list[ast.FunctionDef]]) -> dict[str, Any]:
    rule: dict[str, Any] = {"_python": python}
    candidates = functions.get(f"set_{python}", []) + functions.get(python, [])
    for func in candidates:
        for deco in func.decorator_list:
            if isinstance(deco, ast.Call) and ast.unparse(deco.func) == "validate_args":
                for kw in deco.keywords:
                    if isinstance(kw.value, ast.List):
                        for v in kw.value.elts:
                            _validator_rule(v, rule)
        if "type" not in rule:
            body = ast.unparse(func)
            if "= int(value)" in body:
                rule["type"] = "integer"
            elif "= bool(value)" in body:
                rule["type"] = "boolean"
    rule.setdefault("type", "string")
    return rule


def derive() -> dict[str, Any]:
    """The rules document, from the installed SDK's sources."""
    import importlib.util

    spec = importlib.util.find_spec("plivo")
    assert spec is not None and spec.origin is not None
    folder = Path(spec.origin).parent / "xml"
    elements: dict[str, Any] = {}
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                found = _element(node, path.name)
                if found:
                    elements[found[0]] = found[1]
    return {
        "$comment": (
            "Plivo XML rules, derived by tools/plivo_xml_rules.py from the plivo Python SDK's "
            "plivo.xml package (each element's 'source' is its module): element names "
            "(_name), allowed children (_nestable), attributes (to_dict), types and allowed "
            "values (validate_args). Entries with their own 'source' come from Plivo's XML "
            "reference instead. Do not edit by hand; regenerate."
        ),
        "sdk": f"plivo {metadata.version('plivo')}",
        "root": "Response",
        "elements": dict(sorted(elements.items())),
    }


if __name__ == "__main__":
    json.dump(derive(), sys.stdout, indent=2)
    sys.stdout.write("\n")
