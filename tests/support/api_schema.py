"""Validate a JSON API document against the phone's schema, closed: an undocumented key fails.

``check(doc, "status")`` validates ``doc`` against ``$defs/status`` of
``deskphone.net.api_schema.SCHEMA`` with every object given
``additionalProperties: false`` (the schema itself stays open, for clients),
and against the whole schema as the phone serves it.
"""

from __future__ import annotations

import copy

import jsonschema

from deskphone.net.api_schema import SCHEMA


def strict(schema: dict) -> dict:
    """The schema with every object closed (additionalProperties: false where it lists some)."""
    out = copy.deepcopy(schema)

    def close(node: object) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)
    close(out)
    return out


STRICT = strict(SCHEMA)


def check(doc: dict, name: str) -> dict:
    schema = {"$schema": STRICT["$schema"], "$defs": STRICT["$defs"], "$ref": f"#/$defs/{name}"}
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(doc)
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)       # and the top-level anyOf
    return doc
