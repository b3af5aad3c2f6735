"""Validate and decode Bot API parameters against the official spec (botapi_spec.json).

The spec is parsed once, on the first call, so importing the sandbox stays cheap.
Decoding follows the spec's declared types rather than guessing from the value, so a
``String`` such as ``text="123"`` stays a string while ``chat_id="123"`` becomes an int.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SandboxError, bad_request

SPEC_PATH = Path(__file__).with_name("botapi_spec.json")
_INT_RE = re.compile(r"-?\d+")
_DISCRIMINATOR_RE = re.compile(r'(?:must be|always)\s+"?([a-z_]+)"?')


@dataclass(frozen=True, slots=True)
class Upload:
    """One file part of a multipart request."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"Upload({self.name!r}, {self.filename!r}, {len(self.data)} bytes)"


@dataclass(frozen=True, slots=True)
class Field:
    """One parameter of a method or field of a type."""

    name: str
    types: tuple[str, ...]
    required: bool


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """A Bot API method: canonical name, parameters by name, and return types."""

    name: str
    fields: dict[str, Field]
    returns: tuple[str, ...]


class _Mismatch(Exception):
    """A value does not fit a declared type; the message says where and why."""


class Spec:
    """The parsed spec: methods looked up case-insensitively, like Telegram does."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.version: str = raw.get("version", "")
        self.methods: dict[str, MethodSpec] = {}
        for name, m in raw["methods"].items():
            fields = {f["name"]: _field(f) for f in m.get("fields", [])}
            self.methods[name.lower()] = MethodSpec(name, fields, tuple(m.get("returns", [])))
        self.types: dict[str, dict[str, Any]] = raw["types"]
        self._type_fields: dict[str, dict[str, Field]] = {
            name: {f["name"]: _field(f) for f in t.get("fields", [])}
            for name, t in self.types.items()
        }

    def method(self, name: str) -> MethodSpec | None:
        """The method spec for ``name`` (any case), or None if Telegram has no such method."""
        return self.methods.get(name.lower())

    def decode(
        self, method: MethodSpec, raw: dict[str, Any], uploads: dict[str, Upload]
    ) -> dict[str, Any]:
        """Decode and validate one call's parameters; raise a 400 SandboxError on the first fault.

        Stricter than Telegram on unknown names on purpose: a typo in a parameter name is
        silently ignored by Telegram and would otherwise only show up as a wrong behaviour.
        """
        for name in raw:
            if name not in method.fields:
                raise bad_request(f'unknown parameter "{name}" for method {method.name}')
        out: dict[str, Any] = {}
        for name, value in raw.items():
            field = method.fields[name]
            if value == "" and not field.required and "String" not in field.types:
                continue  # an empty form value means "not set" for non-string fields
            out[name] = self._decode_top(field, value)
        attached = _attach_refs(out)
        for name, up in uploads.items():
            up_field = method.fields.get(name)
            if up_field is not None and "InputFile" in up_field.types:
                out[name] = up
            elif name not in attached:
                raise bad_request(f'unknown parameter "{name}" for method {method.name}')
        for name in attached:
            if name not in uploads:
                raise bad_request(f'file "attach://{name}" is referenced but was not uploaded')
        for field in method.fields.values():
            if field.required and field.name not in out:
                raise bad_request(f"{field.name} is required")
        return out

    def _decode_top(self, field: Field, value: Any) -> Any:
        try:
            return self._convert_any(field.types, value, field.name)
        except _Mismatch as exc:
            if field.name == "reply_markup" and not isinstance(_maybe_json(value), dict):
                raise bad_request("can't parse reply keyboard markup JSON object") from None
            raise bad_request(f"can't parse {field.name}: {exc}") from None

    def _convert_any(self, types: tuple[str, ...], value: Any, path: str) -> Any:
        obj_types = [t for t in types if self._type_fields.get(t)]
        if len(obj_types) > 1 and len(obj_types) == len(types):
            return self._convert_union(obj_types, value, path)
        if len(types) > 1 and all(t.startswith("Array of ") for t in types):
            # e.g. sendMediaGroup's media: one array whose items may be any of the kinds
            inner = tuple(t[len("Array of ") :] for t in types)
            items = _maybe_json(value)
            if not isinstance(items, list):
                raise _Mismatch(f'field "{path}" must be an Array')
            return [self._convert_any(inner, v, f"{path}[{i}]") for i, v in enumerate(items)]
        errors: list[str] = []
        for t in types:
            try:
                return self._convert(t, value, path)
            except _Mismatch as exc:
                errors.append(str(exc))
        raise _Mismatch(errors[0] if len(errors) == 1 else " or ".join(dict.fromkeys(errors)))

    def _convert_union(self, types: list[str], value: Any, path: str) -> Any:
        """Pick the object type whose required fields are present (e.g. the markup kinds)."""
        value = _maybe_json(value)
        if not isinstance(value, dict):
            raise _Mismatch(f'field "{path}" must be a JSON object')
        fits = [
            t
            for t in types
            if all(f.name in value for f in self._type_fields[t].values() if f.required)
            and self._discriminator_ok(t, value)
        ]
        if not fits:
            raise _Mismatch(f'field "{path}" matches none of {", ".join(types)}')
        return self._convert(fits[0], value, path)

    def _convert(self, t: str, v: Any, path: str) -> Any:
        if t == "Integer":
            if isinstance(v, bool):
                raise _Mismatch(f'field "{path}" must be of type Integer')
            if isinstance(v, int):
                return v
            if isinstance(v, float) and v.is_integer():
                return int(v)
            if isinstance(v, str) and _INT_RE.fullmatch(v.strip()):
                return int(v)
            raise _Mismatch(f'field "{path}" must be of type Integer')
        if t == "Float":
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return float(v)
            if isinstance(v, str):
                try:
                    return float(v)
                except ValueError:
                    pass
            raise _Mismatch(f'field "{path}" must be of type Float')
        if t in ("Boolean", "True"):
            if isinstance(v, bool):
                return v
            if isinstance(v, str) and v.strip().lower() in ("true", "false", "1", "0"):
                return v.strip().lower() in ("true", "1")
            if isinstance(v, int) and v in (0, 1):
                return bool(v)
            raise _Mismatch(f'field "{path}" must be of type Boolean')
        if t == "String":
            if isinstance(v, str):
                return v
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return str(v)  # Telegram accepts numbers for strings in JSON bodies
            raise _Mismatch(f'field "{path}" must be of type String')
        if t == "InputFile":
            if isinstance(v, Upload):
                return v
            raise _Mismatch(f'field "{path}" must be an uploaded file')
        if t.startswith("Array of "):
            inner = t[len("Array of ") :]
            v = _maybe_json(v)
            if not isinstance(v, list):
                raise _Mismatch(f'field "{path}" must be an Array')
            return [self._convert_any((inner,), item, f"{path}[{i}]") for i, item in enumerate(v)]
        if t in self.types:
            return self._convert_object(t, _maybe_json(v), path)
        raise _Mismatch(f'field "{path}" has unknown type {t}')

    def _convert_object(self, t: str, v: Any, path: str) -> Any:
        subtypes = self.types[t].get("subtypes")
        if subtypes:
            return self._convert_subtype(t, subtypes, v, path)
        if not isinstance(v, dict):
            raise _Mismatch(f'field "{path}" must be a JSON object of type {t}')
        if not self._discriminator_ok(t, v):
            key, want = self.discriminator(t)
            raise _Mismatch(f'{t} in "{path}" needs {key} "{want}"')
        fields = self._type_fields[t]
        out = dict(v)  # unknown keys in nested objects are ignored by Telegram; keep them
        for f in fields.values():
            if f.name not in v:
                if f.required:
                    raise _Mismatch(f'{t} in "{path}" needs field "{f.name}"')
                continue
            out[f.name] = self._convert_any(f.types, v[f.name], f"{path}.{f.name}")
        return out

    def _convert_subtype(self, t: str, subtypes: list[str], v: Any, path: str) -> Any:
        objs = [s for s in subtypes if s in self._type_fields]
        if not isinstance(v, dict) or len(objs) != len(subtypes):
            return self._convert_any(tuple(subtypes), v, path)
        for s in objs:
            key, want = self.discriminator(s)
            if key is not None and v.get(key) == want:
                return self._convert_object(s, v, path)
        raise _Mismatch(f'field "{path}" is not a valid {t}')

    def _discriminator_ok(self, t: str, value: dict[str, Any]) -> bool:
        key, want = self.discriminator(t)
        return key is None or value.get(key) == want

    @functools.cache  # noqa: B019 - one Spec lives for the whole process
    def discriminator(self, t: str) -> tuple[str | None, str | None]:
        """The (field, value) that marks subtype ``t``, e.g. ("type", "photo")."""
        for f in self.types[t].get("fields", []):
            if f["name"] in ("type", "source", "status"):
                m = _DISCRIMINATOR_RE.search(f["description"])
                if m:
                    return f["name"], m.group(1)
        return None, None


def _field(f: dict[str, Any]) -> Field:
    return Field(f["name"], tuple(f["types"]), bool(f["required"]))


def _maybe_json(v: Any) -> Any:
    """Form values carry arrays and objects as JSON strings (that is how PTB sends them)."""
    if isinstance(v, str):
        s = v.strip()
        if s[:1] in ("[", "{"):
            try:
                return json.loads(s)
            except ValueError:
                return v
    return v


def _attach_refs(value: Any) -> set[str]:
    """Names referenced as ``attach://<name>`` anywhere in decoded parameters."""
    found: set[str] = set()
    if isinstance(value, str):
        if value.startswith("attach://"):
            found.add(value[len("attach://") :])
    elif isinstance(value, dict):
        for v in value.values():
            found |= _attach_refs(v)
    elif isinstance(value, list):
        for v in value:
            found |= _attach_refs(v)
    return found


@functools.cache
def load_spec() -> Spec:
    """Parse botapi_spec.json once per process (900 KB: too slow for import time)."""
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return Spec(json.load(fh))


__all__ = ["Field", "MethodSpec", "SandboxError", "Spec", "Upload", "load_spec"]
