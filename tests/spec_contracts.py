"""Read the official platform spec files in tests/specs and check JSON against them.

HubSpot publishes OpenAPI 3.0.1 files; their Schema Objects are close to JSON Schema
draft 4, so ``openapi_validator`` translates them (``nullable: true`` becomes a
``"null"`` type, OpenAPI-only keywords are dropped, objects become closed so an
invented field fails) and validates with jsonschema's Draft4Validator.

Meta publishes its own field-description files (``{"fields": [{"name", "type"}],
"apis": [...]}``) and enum_types.json; ``MetaSpec`` checks names against them and
maps Meta's declared types to the JSON Meta actually sends (see META_JSON_TYPES).
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path

from jsonschema import Draft4Validator, FormatChecker

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "tests" / "specs"  # copies of the official spec files (see its README.md)

# ---- HubSpot: OpenAPI 3.0 -> JSON Schema draft 4 ------------------------------

OPENAPI_ONLY_KEYWORDS = {"nullable", "example", "discriminator", "readOnly", "writeOnly", "xml", "externalDocs", "deprecated"}
_SCHEMA_KEYWORDS = ("items", "not", "additionalProperties")
_SCHEMA_LIST_KEYWORDS = ("allOf", "anyOf", "oneOf")
_COMPOSITION = set(_SCHEMA_LIST_KEYWORDS)


def openapi_to_json_schema(schema: dict | bool) -> dict | bool:
    """One OpenAPI 3.0 Schema Object as a closed draft-4 JSON Schema."""
    if not isinstance(schema, dict):
        return schema
    out = {k: v for k, v in schema.items() if k not in OPENAPI_ONLY_KEYWORDS}
    if "properties" in out:  # a map of names to schemas: names are never keywords
        out["properties"] = {name: openapi_to_json_schema(s) for name, s in out["properties"].items()}
    for keyword in _SCHEMA_KEYWORDS:
        if keyword in out:
            out[keyword] = openapi_to_json_schema(out[keyword])
    for keyword in _SCHEMA_LIST_KEYWORDS:
        if keyword in out:
            out[keyword] = [openapi_to_json_schema(s) for s in out[keyword]]
    if schema.get("nullable") is True and "$ref" not in out:
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    # Closed objects: a field the spec does not declare is a sandbox invention. (Not under
    # allOf/anyOf/oneOf, where closing each part would reject the other parts' fields.)
    if (
        out.get("type") == "object"
        and "properties" in out
        and "additionalProperties" not in out
        and not _COMPOSITION & out.keys()
    ):
        out["additionalProperties"] = False
    return out


@cache
def openapi_document(relative_path: str) -> dict:
    return json.loads((SPECS / relative_path).read_text())


def response_schema_name(relative_path: str, method: str, path: str, status: str = "200") -> str:
    """The component schema the spec names for one operation's response."""
    response = openapi_document(relative_path)["paths"][path][method.lower()]["responses"][status]
    if "$ref" in response:  # a shared response, e.g. #/components/responses/Error
        response = openapi_document(relative_path)["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    (media,) = response["content"].values()
    return media["schema"]["$ref"].rsplit("/", 1)[1]


def openapi_validator(relative_path: str, schema_name: str, wire_deviations: dict | None = None) -> Draft4Validator:
    """A validator for ``#/components/schemas/<schema_name>`` of one OpenAPI file.

    ``wire_deviations`` maps ``"Schema.property"`` to the JSON Schema that replaces the
    spec's: for the few places where the platform's documented wire format is wider
    than its OpenAPI file. Each use must say why, where it is declared.
    """
    components = {name: openapi_to_json_schema(s) for name, s in openapi_document(relative_path)["components"]["schemas"].items()}
    for target, replacement in (wire_deviations or {}).items():
        name, prop = target.split(".")
        if name in components:  # a deviation names a schema of one file; other files lack it
            components[name]["properties"][prop] = copy.deepcopy(replacement)
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": {"schemas": components}}
    Draft4Validator.check_schema(root)
    return Draft4Validator(root, format_checker=FORMATS)


# jsonschema checks "date-time" only when rfc3339-validator is installed (it is not a
# dependency here), so both formats the HubSpot files use are checked by hand.
FORMATS = FormatChecker(formats=())
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))  # real calendar values, not only the shape
    return True


@FORMATS.checks("uuid")
def _is_uuid(value) -> bool:
    return not isinstance(value, str) or bool(_UUID.match(value.lower()))


def errors_of(validator: Draft4Validator, instance) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(instance)]


# ---- Meta: field-description files ------------------------------------------

# How Meta serialises each declared type in Graph API JSON. Meta sends every
# AdsInsights metric as a string (those are declared "string" in AdsInsights.json),
# ids as strings, and datetimes as ISO 8601 strings ("2026-06-01T00:00:00+0000"),
# but node fields declared numeric as JSON numbers (AdAccount.account_status -> 1,
# timezone_offset_hours_utc -> -4 or 5.5) and bools as JSON booleans.
META_JSON_TYPES = {
    "string": (str,),
    "numeric string": (str,),
    "id": (str,),
    "datetime": (str,),
    "int": (int,),
    "unsigned int": (int,),
    "int32": (int,),
    "unsigned int32": (int,),
    "float": (int, float),
    "bool": (bool,),
    "map": (dict,),
    "Object": (dict,),
}
_LIST = re.compile(r"^list<(.+)>$")
_MAP = re.compile(r"^map<\s*([^,]+),\s*(.+)>$")


class MetaSpec:
    """Meta's node files (AdsInsights.json, AdAccount.json, ...) and enum_types.json."""

    def __init__(self, folder: Path = SPECS / "meta"):
        self.folder = folder
        self.enums = {e["name"]: e for e in json.loads((folder / "enum_types.json").read_text())}
        self._nodes: dict[str, dict] = {}

    def node(self, name: str) -> dict:
        if name not in self._nodes:
            self._nodes[name] = json.loads((self.folder / f"{name}.json").read_text())
        return self._nodes[name]

    def fields(self, node: str) -> dict[str, str]:
        """Field name -> declared type."""
        return {f["name"]: f["type"] for f in self.node(node)["fields"]}

    def edge(self, node: str, endpoint: str, method: str = "GET") -> dict:
        (api,) = [a for a in self.node(node)["apis"] if a.get("endpoint") == endpoint and a["method"] == method]
        return api

    def enum_values(self, name: str) -> list[str]:
        return self.enums[name]["values"]

    def type_errors(self, declared: str, value, where: str) -> list[str]:
        """Why ``value`` is not what Meta sends for a field declared ``declared`` (empty if it is)."""
        if (m := _LIST.match(declared)) is not None:
            if not isinstance(value, list):
                return [f"{where}: declared {declared}, got {type(value).__name__} {value!r}"]
            return [e for i, item in enumerate(value) for e in self.type_errors(m[1], item, f"{where}[{i}]")]
        if (m := _MAP.match(declared)) is not None:
            if not isinstance(value, dict):
                return [f"{where}: declared {declared}, got {type(value).__name__}"]
            return [e for k, v in value.items() for e in self.type_errors(m[2].strip(), v, f"{where}.{k}")]
        if declared in self.enums:
            if value not in self.enum_values(declared):
                return [f"{where}: {value!r} is not one of the {declared} values"]
            return []
        if declared in META_JSON_TYPES:
            accepted = META_JSON_TYPES[declared]
            if isinstance(value, bool) and bool not in accepted:  # bool is an int in Python, never in JSON
                return [f"{where}: declared {declared}, got bool"]
            if not isinstance(value, accepted):
                return [f"{where}: declared {declared}, got {type(value).__name__} {value!r}"]
            return []
        if (self.folder / f"{declared}.json").exists():  # a node type, e.g. AdsActionStats
            return self.object_errors(declared, value, where)
        if declared[:1].isupper():  # a node whose file is not in specs/: an object, fields unchecked
            return [] if isinstance(value, dict) else [f"{where}: declared {declared} (an object), got {type(value).__name__}"]
        return [f"{where}: declared type {declared!r} has no JSON mapping in META_JSON_TYPES"]

    def object_errors(self, node: str, record, where: str) -> list[str]:
        """Every key of ``record`` is a field of ``node`` and its value has the declared type."""
        if not isinstance(record, dict):
            return [f"{where}: declared {node} (an object), got {type(record).__name__}"]
        fields = self.fields(node)
        errors = [f"{where}.{k}: not a field of {node}" for k in record if k not in fields]
        return errors + [e for k, v in record.items() if k in fields for e in self.type_errors(fields[k], v, f"{where}.{k}")]
