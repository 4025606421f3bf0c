"""Load the JSON Schemas shipped in ``schemas/`` and validate documents against them."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from .errors import SchemaError

SCHEMA_BASE = "https://archiver.dev/schemas/"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Return the schema ``schemas/<name>`` (e.g. ``"text.schema.json"``)."""
    data = resources.files("archiver").joinpath("schemas", name).read_text("utf-8")
    schema: dict[str, Any] = json.loads(data)
    return schema


def schema_id(name: str) -> str:
    """The ``$id`` / ``schema`` URL a document names for ``schemas/<name>``."""
    return SCHEMA_BASE + name


def validate(document: Any, name: str, *, what: str | None = None) -> None:
    """Raise SchemaError naming the first violation of ``schemas/<name>``."""
    validator = jsonschema.Draft202012Validator(load_schema(name))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        label = what or name
        raise SchemaError(f"{label} does not match {name} at {where}: {err.message}")
