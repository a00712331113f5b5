"""Load and validate a study configuration against the schema shipped in the package
(``layerwise/schema/config.schema.yaml``).

Validation happens once, at workflow start-up, before any job runs. Errors name the offending key,
what was found, and the legal values (with a "did you mean" for misspelt keys). Defaults from the
schema are filled in, so every later stage sees a complete config.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "config.schema.yaml"


class ConfigError(ValueError):
    """A config that does not match the schema; the message says what and how to fix it."""


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping; a missing or unparsable file is a ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping of keys, got {type(data).__name__}"
        )
    return data


def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    return yaml.safe_load(Path(path).read_text())


def _fill_defaults(validator_cls):
    """Extend a jsonschema validator so that `default` values are written into the instance."""
    validate_props = validator_cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "$ref" in sub and "default" not in sub:
                    continue
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_props(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_cls, {"properties": set_defaults})


_DefaultingValidator = _fill_defaults(jsonschema.Draft202012Validator)


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    """One readable line for a schema violation: key, problem, legal values."""
    where = _key_path(error)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties":
        legal = sorted(schema.get("properties", {}))
        extra = [k for k in error.instance if k not in legal]
        hints = []
        for key in extra:
            close = difflib.get_close_matches(key, legal, n=1)
            hints.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        return f"unknown key {', '.join(hints)} under {where}; legal keys: {', '.join(legal)}"
    if error.validator == "enum":
        return f"{where}: {error.instance!r} is not allowed; legal values: {error.validator_value}"
    if error.validator == "propertyNames":
        legal = error.schema.get("propertyNames", {})
        return f"{where}: unknown name {error.instance!r}; {error.message} (legal names: {legal})"
    if error.validator == "type":
        return f"{where}: expected {error.validator_value}, got {error.instance!r}"
    if error.validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        lo = schema.get("minimum", schema.get("exclusiveMinimum", "-inf"))
        hi = schema.get("maximum", schema.get("exclusiveMaximum", "inf"))
        return f"{where}: {error.instance!r} is out of range; legal range: [{lo}, {hi}]"
    return f"{where}: {error.message}"


def validate_config(config: dict, schema: dict | None = None) -> dict:
    """A validated copy of ``config`` with defaults filled in and keys sorted; ConfigError
    otherwise."""
    schema = load_schema() if schema is None else schema
    cfg = copy.deepcopy(config)
    validator = _DefaultingValidator(schema)
    errors = sorted(validator.iter_errors(cfg), key=lambda e: list(e.absolute_path))
    if errors:
        lines = "\n".join(f"  - {_describe(e)}" for e in errors)
        raise ConfigError(f"invalid config ({len(errors)} problem(s)):\n{lines}")
    _check_cross_references(cfg)
    return canonical(cfg)


def canonical(obj):
    """A copy with every mapping's keys sorted, so that the order of keys in a config file never
    shows in a job's parameters (Snakemake reruns a job when the repr of its params changes)."""
    if isinstance(obj, dict):
        return {k: canonical(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj


def _check_cross_references(cfg: dict) -> None:
    generated = set(cfg["data"]["datasets"])
    missing = [d for d in cfg["grid"]["datasets"] if d not in generated]
    if missing:
        raise ConfigError(
            f"grid.datasets lists {missing} but data.datasets does not define them; "
            f"add them under data.datasets (with n_train/n_valid/n_test) "
            f"or remove them from the grid"
        )


def load_config(path: str | Path, overrides: dict | None = None) -> dict:
    """Read, merge ``overrides`` (deep), validate."""
    cfg = read_yaml(path)
    if overrides:
        cfg = deep_merge(cfg, overrides)
    return validate_config(cfg)


def deep_merge(base: dict, update: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def config_hash(obj: Any) -> str:
    """Stable short hash of a JSON-able object (sorted keys)."""
    blob = json.dumps(obj, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
