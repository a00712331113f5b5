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

from layerwise.config_sources import COMMAND_LINE, source_of

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "config.schema.yaml"


class ConfigError(ValueError):
    """A config that does not match the schema; the message says what and how to fix it.

    ``problems`` lists (dotted key, line) of each violation found by the schema or a cross-check,
    so that :func:`with_sources` can say which file (and line) or ``--config`` set the key."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None, listed=True):
        super().__init__(message)
        self.problems, self.listed = list(problems or []), listed


def problems_error(
    problems: list[tuple[str, str]], listed: bool = True, suffixes: list[str] | None = None
) -> ConfigError:
    """One ConfigError for ``problems`` [(key, text)]: a header and one line per problem
    (``listed``), else the single problem's text; ``suffixes`` (the sources) end the lines."""
    suffixes = suffixes or [""] * len(problems)
    texts = [text + suffix for (_, text), suffix in zip(problems, suffixes, strict=True)]
    if not listed:
        return ConfigError("\n".join(texts), problems, listed)
    lines = "\n".join(f"  - {t}" for t in texts)
    return ConfigError(f"invalid config ({len(problems)} problem(s)):\n{lines}", problems, listed)


def cross_check_error(key: str, text: str) -> ConfigError:
    """A cross-check's violation of ``key`` (one sentence that names the fix)."""
    return problems_error([(key, text)], listed=False)


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping; a missing, empty or unparsable file is a ConfigError naming the file
    (and the line, for a syntax error)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist{missing_file_advice(path)}")
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


def missing_file_advice(path: Path) -> str:
    """What to do about a config file that is not there: a target placed after ``--configfile``
    (Snakemake reads every word after it as a config file) or a path relative to elsewhere."""
    if path.suffix.lower() not in (".yaml", ".yml", ".json"):
        return (
            f"; if {path} is a target, put targets before --configfile, e.g. `snakemake {path} "
            f"--configfile config/smoke.yaml` (every word after --configfile is read as a "
            f"config file)"
        )
    return f" (relative paths are read from {Path.cwd()}); profiles are in config/"


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
    _check_side_studies(cfg)
    return canonical(cfg)


def _check_schema(validator, instance: dict, where: str = "", prefix: str = "") -> None:
    """Fill ``instance``'s defaults; ConfigError listing every violation, each line prefixed by
    ``where`` (its key by ``prefix``)."""
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        raise problems_error([(prefix + _problem_key(e), f"{where}{_describe(e)}") for e in errors])


def _problem_key(error: jsonschema.ValidationError) -> str:
    """The dotted key of a violation; an unknown key's own name, not its section's."""
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        legal = (error.schema or {}).get("properties", {}) if isinstance(error.schema, dict) else {}
        parts += [k for k in error.instance if k not in legal][:1]
    return ".".join(parts)


def _validate_per_dataset(cfg: dict, validator) -> None:
    """Validate each ``per_dataset`` entry merged over the top-level sections, errors named
    ``per_dataset.<data set>: <key>``; store the entry's sections complete (defaults filled)."""
    unknown = [d for d in cfg["per_dataset"] if d not in cfg["data"]["datasets"]]
    if unknown:
        raise cross_check_error(
            f"per_dataset.{unknown[0]}",
            f"per_dataset names {unknown} but data.datasets does not define them; add them under "
            f"data.datasets (with n_train/n_valid/n_test) or remove them from per_dataset",
        )
    for name, entry in cfg["per_dataset"].items():
        merged = deep_merge({k: v for k, v in cfg.items() if k != "per_dataset"}, entry)
        _check_schema(validator, merged, f"per_dataset.{name}: ", f"per_dataset.{name}.")
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
        raise cross_check_error(
            "grid.datasets",
            f"grid.datasets lists {missing} but data.datasets does not define them; "
            f"add them under data.datasets (with n_train/n_valid/n_test) "
            f"or remove them from the grid",
        )
    unknown = [d for d in cfg["data"]["baselines"]["datasets"] or [] if d not in generated]
    if unknown:
        raise cross_check_error(
            "data.baselines.datasets",
            f"data.baselines.datasets lists {unknown} but data.datasets does not define them; "
            f"add them under data.datasets or remove them from data.baselines.datasets",
        )


def _check_side_studies(cfg: dict) -> None:
    """The dropout study and the deep autoencoder, when enabled, run on a listed data set, and
    the dropout study's sizes fit it."""
    listed = sorted(cfg["data"]["datasets"])
    sc = cfg["dropout_study"]
    if sc["enabled"]:
        _check_dropout_study(cfg, listed)
    ae = cfg["deep_autoencoder"]
    if ae["enabled"] and ae["dataset"] not in listed:
        raise cross_check_error(
            "deep_autoencoder.dataset",
            f"deep_autoencoder.dataset {ae['dataset']!r} is not listed under data.datasets "
            f"(listed: {listed}); add it there (with n_train/n_valid/n_test) or set "
            f"deep_autoencoder.enabled: false",
        )


def _check_dropout_study(cfg: dict, listed: list[str]) -> None:
    sc = cfg["dropout_study"]
    if sc["dataset"] not in listed:
        raise cross_check_error(
            "dropout_study.dataset",
            f"dropout_study.dataset {sc['dataset']!r} must be listed under data.datasets "
            f"(listed: {listed}); add it there or set dropout_study.enabled: false",
        )
    spec = cfg["data"]["datasets"][sc["dataset"]]
    for split in ("n_train", "n_valid"):
        if sc[split] is not None and not 1 <= sc[split] <= spec[split]:
            raise cross_check_error(
                f"dropout_study.{split}",
                f"dropout_study.{split} must be in [1, {spec[split]}] (the data set's {split}) "
                f"or null; got {sc[split]}",
            )
    if sc["batch_size"] > (sc["n_train"] or spec["n_train"]):
        raise cross_check_error(
            "dropout_study.batch_size",
            f"dropout_study.batch_size {sc['batch_size']} exceeds the training size "
            f"({sc['n_train'] or spec['n_train']})",
        )


def _check_halving(cfg: dict, where: str = "") -> None:
    halving, max_epochs = cfg["finetune"]["halving"], cfg["finetune"]["max_epochs"]
    rungs = (halving or {}).get("rungs", [])
    if rungs != sorted(rungs) or (rungs and rungs[-1] >= max_epochs):
        key = f"{where.rstrip(': ')}.finetune.halving.rungs".lstrip(".")
        raise cross_check_error(
            key,
            f"{where}finetune.halving.rungs {rungs} must be increasing epochs below "
            f"finetune.max_epochs ({max_epochs}); e.g. rungs: "
            f"[{max(1, max_epochs // 9)}, {max(1, max_epochs // 3)}], or halving: null for the "
            f"full search",
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


def check_config(config: dict, files: list[str | Path], overrides: dict | None = None) -> dict:
    """The one check of a study's config, used by the workflow (workflow/rules/common.smk) and
    by ``python -m layerwise.config``: ``overrides`` (``--config``) typed by the schema and merged
    into ``config`` (the files' merge), then every schema rule and cross-check; a ConfigError
    names, for each problem, the file and line or ``--config`` that set the key."""
    try:
        return validate_config(apply_overrides(config, overrides or {}))
    except ConfigError as err:
        raise with_sources(err, files, overrides) from None


def with_sources(err: ConfigError, files: list[str | Path], overrides: dict | None) -> ConfigError:
    """``err`` with ``(set in <file>, line N)`` or ``(set in --config)`` after each problem."""
    layers = [(str(Path(f).resolve()), read_yaml(f)) for f in files if Path(f).is_file()]
    if overrides:
        layers.append((COMMAND_LINE, apply_overrides({}, overrides)))  # typed: '[0]' is a list
    suffixes = []
    for key, _ in err.problems:
        found = source_of(key, layers)
        suffixes.append(f" (set in {found})" if found else "")
    return problems_error(err.problems, err.listed, suffixes) if err.problems else err


def command_line_overrides(items: list[str]) -> dict:
    """``--config`` items read exactly as Snakemake reads them; its refusal of a dotted key
    (``finetune.max_epochs=3``) becomes the nested form that works."""
    from snakemake.cli import parse_config

    for item in items:
        key, _, value = item.partition("=")
        if "." in key:
            head, *rest = key.split(".")
            nested = value
            for part in reversed(rest):
                nested = f"{{{part}: {nested}}}"
            raise ConfigError(
                f"--config {item}: Snakemake takes no dotted keys (it says 'Config entry must "
                f"start with a valid identifier'); write --config '{head}={nested}'"
            )
    try:
        return parse_config(items)
    except ValueError as err:
        raise ConfigError(f"--config {' '.join(items)}: {err} (write KEY=VALUE)") from None


def split_arguments(argv: list[str]) -> tuple[list[str], list[str]]:
    """(config files, --config items) of a Snakemake command line (other words ignored); plain
    words alone are config files."""
    if not any(a.startswith("-") for a in argv):
        return list(argv), []
    files: list[str] = []
    items: list[str] = []
    into = None
    for arg in argv:
        if arg in ("--configfile", "--configfiles"):
            into = files
        elif arg in ("--config", "-C"):
            into = items
        elif arg.startswith("-"):
            into = None
        elif into is not None:
            into.append(arg)
    return files, items


def main(argv: list[str] | None = None) -> int:
    """``python -m layerwise.config FILE [FILE ...]`` or the config arguments of a snakemake
    command line (``--configfile FILE ... --config KEY=VALUE ...``): the workflow's own check
    (:func:`check_config`), naming the file and line of a YAML error, a missing file or a target
    placed after ``--configfile``, and a dotted ``--config`` -- which Snakemake, reading them
    before the workflow, reports without a file or with a traceback."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    paths, items = split_arguments(args)
    if not paths:
        print(
            "usage: python -m layerwise.config FILE [FILE ...] | --configfile FILE [FILE ...] "
            "[--config KEY=VALUE ...]",
            file=sys.stderr,
        )
        return 2
    try:
        merged: dict = {}
        for path in paths:
            merged = deep_merge(merged, read_yaml(path))
        check_config(merged, paths, command_line_overrides(items) if items else None)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"valid: {', '.join(paths)}" + (f" with --config {' '.join(items)}" if items else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
