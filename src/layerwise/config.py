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
    """Read a YAML mapping; a missing, empty or unparsable file is a ConfigError naming the file
    (and the line, for a syntax error)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"config file {path}{where} is not valid YAML: {problem}") from exc
    if data is None:
        raise ConfigError(f"config file {path} is empty; it must hold a mapping of keys")
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
        return f"{where}: {error.instance!r} is out of range; legal range: {legal_range(schema)}"
    if error.validator in ("oneOf", "anyOf") and error.context:
        reasons = "; ".join(dict.fromkeys(e.message for e in error.context))
        return f"{where}: {error.instance!r} fits none of the allowed forms ({reasons})"
    return f"{where}: {error.message}"


def legal_range(schema: dict) -> str:
    """Interval notation of a schema's bounds: '[' / ']' inclusive, '(' / ')' exclusive."""
    if "exclusiveMinimum" in schema:
        lo = f"({schema['exclusiveMinimum']}"
    else:
        lo = f"[{schema.get('minimum', '-inf')}" if "minimum" in schema else "(-inf"
    if "exclusiveMaximum" in schema:
        hi = f"{schema['exclusiveMaximum']})"
    else:
        hi = f"{schema['maximum']}]" if "maximum" in schema else "inf)"
    return f"{lo}, {hi}"


def validate_config(config: dict, schema: dict | None = None) -> dict:
    """A validated copy of ``config`` with defaults filled in and keys sorted; ConfigError
    otherwise."""
    schema = load_schema() if schema is None else schema
    cfg = copy.deepcopy(config)
    validator = _DefaultingValidator(schema)
    _check_schema(validator, cfg)
    _check_cross_references(cfg)
    _check_halving(cfg)
    _validate_per_dataset(cfg, validator)
    return canonical(cfg)


def _check_schema(validator, instance: dict, where: str = "") -> None:
    """Fill ``instance``'s defaults; ConfigError listing every violation, each line prefixed by
    ``where``."""
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        lines = "\n".join(f"  - {where}{_describe(e)}" for e in errors)
        raise ConfigError(f"invalid config ({len(errors)} problem(s)):\n{lines}")


def _validate_per_dataset(cfg: dict, validator) -> None:
    """Validate each ``per_dataset`` entry merged over the top-level sections, errors named
    ``per_dataset.<data set>: <key>``; store the entry's sections complete (defaults filled)."""
    unknown = [d for d in cfg["per_dataset"] if d not in cfg["data"]["datasets"]]
    if unknown:
        raise ConfigError(
            f"per_dataset names {unknown} but data.datasets does not define them; add them under "
            f"data.datasets (with n_train/n_valid/n_test) or remove them from per_dataset"
        )
    for name, entry in cfg["per_dataset"].items():
        merged = deep_merge({k: v for k, v in cfg.items() if k != "per_dataset"}, entry)
        _check_schema(validator, merged, where=f"per_dataset.{name}: ")
        _check_halving(merged, where=f"per_dataset.{name}: ")
        cfg["per_dataset"][name] = {section: merged[section] for section in entry}


def dataset_config(cfg: dict, dataset: str) -> dict:
    """The config that ``dataset``'s jobs run with: its ``per_dataset`` sections (validated,
    complete) in place of the top-level ones; ``cfg`` itself when it has none."""
    entry = (cfg.get("per_dataset") or {}).get(dataset)
    return {**cfg, **entry} if entry else cfg


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
    unknown = [d for d in cfg["data"]["baselines"]["datasets"] or [] if d not in generated]
    if unknown:
        raise ConfigError(
            f"data.baselines.datasets lists {unknown} but data.datasets does not define them; "
            f"add them under data.datasets or remove them from data.baselines.datasets"
        )


def _check_halving(cfg: dict, where: str = "") -> None:
    halving, max_epochs = cfg["finetune"]["halving"], cfg["finetune"]["max_epochs"]
    rungs = (halving or {}).get("rungs", [])
    if rungs != sorted(rungs) or (rungs and rungs[-1] >= max_epochs):
        raise ConfigError(
            f"{where}finetune.halving.rungs {rungs} must be increasing epochs below "
            f"finetune.max_epochs ({max_epochs}); e.g. rungs: "
            f"[{max(1, max_epochs // 9)}, {max(1, max_epochs // 3)}], or halving: null for the "
            f"full search"
        )


def load_config(path: str | Path, overrides: dict | None = None) -> dict:
    """Read, merge ``overrides`` (deep), validate."""
    cfg = read_yaml(path)
    if overrides:
        cfg = deep_merge(cfg, overrides)
    return validate_config(cfg)


def apply_overrides(config: dict, overrides: dict, schema: dict | None = None) -> dict:
    """``config`` with ``overrides`` merged in (deep), override values typed by the schema.

    Snakemake's ``--config 'finetune={max_epochs: 3, lr: [0.1]}'`` hands nested values over as
    strings (YAML BaseLoader); each such string is read as YAML when the schema does not allow a
    string at its key, so that ``'3'`` becomes 3 and ``'[0.1]'`` a list. Anything that still does
    not fit is left as is for :func:`validate_config` to refuse, naming the key.
    """
    schema = load_schema() if schema is None else schema
    typed = _typed(overrides, schema, schema)
    for name, entry in (overrides.get("per_dataset") or {}).items():
        if isinstance(entry, dict):  # a data set's sections are typed like the top-level ones
            sections = schema["properties"]
            typed["per_dataset"][name] = {
                k: _typed(v, sections.get(k), schema) for k, v in entry.items()
            }
    return deep_merge(config, typed)


def _typed(value, sub: dict | None, root: dict):
    """``value`` with strings converted to the type(s) the (sub)schema ``sub`` allows."""
    sub = _resolve(sub, root)
    if isinstance(value, dict):
        props = sub.get("properties", {})
        extra = sub.get("additionalProperties")
        return {
            k: _typed(v, props.get(k, extra if isinstance(extra, dict) else None), root)
            for k, v in value.items()
        }
    if isinstance(value, list):
        items = sub.get("items")
        return [_typed(v, items if isinstance(items, dict) else None, root) for v in value]
    if not isinstance(value, str) or not sub:
        return value
    types = sub.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if "null" in types and value.strip() in ("null", "~"):
        return None
    if not types or "string" in types:
        return value
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    if isinstance(parsed, str) and "number" in types:  # YAML 1.1 reads '1e6' as a string
        try:
            parsed = float(parsed)
        except ValueError:
            return value
    if isinstance(parsed, (list, dict)):
        return _typed(parsed, sub, root)
    return parsed if any(_is_type(parsed, t) for t in types) else value


def _resolve(sub: dict | None, root: dict) -> dict:
    """Follow a local ``$ref`` (``#/$defs/name``); {} when there is no schema."""
    while isinstance(sub, dict) and "$ref" in sub:
        node = root
        for part in sub["$ref"].lstrip("#/").split("/"):
            node = node[part]
        sub = node
    return sub if isinstance(sub, dict) else {}


def _is_type(value, name: str) -> bool:
    if isinstance(value, bool):
        return name == "boolean"
    if name == "integer":
        return isinstance(value, int)
    if name == "number":
        return isinstance(value, (int, float))
    return name == "null" and value is None


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


def main(argv: list[str] | None = None) -> int:
    """``python -m layerwise.config FILE [FILE ...]``: read (later files override earlier ones)
    and validate, naming the file and line of a YAML error -- which Snakemake's own message for
    an empty or malformed ``--configfile`` does not (it reads the file before the workflow)."""
    import sys

    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m layerwise.config FILE [FILE ...]", file=sys.stderr)
        return 2
    try:
        merged: dict = {}
        for path in paths:
            merged = deep_merge(merged, read_yaml(path))
        validate_config(merged)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"valid: {', '.join(paths)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
