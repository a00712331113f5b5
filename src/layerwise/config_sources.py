"""Where a config value came from: which config file (and line) or the command line's ``--config``.

A config is the config files, each overriding the ones before (deep merge), then the ``--config``
overrides. An error about a key should send the user to the layer that set it, not to the list of
files read; :func:`source_of` finds it (the last layer holding the key, else the one holding most
of its path) and, for a file, the line of the key.
"""

from __future__ import annotations

from pathlib import Path

import yaml

COMMAND_LINE = "--config"


def source_of(key: str, layers: list[tuple[str, dict]]) -> str | None:
    """'--config' or '<file>, line N' for the dotted ``key``; None when no layer sets any of it.

    ``layers``: (label, mapping) in the order they were merged; a label is a file path or
    :data:`COMMAND_LINE`."""
    parts = key.split(".") if key else []
    owner, best = None, None  # the last layer that sets the key; the one holding most of it
    for label, mapping in layers:
        depth, sets = _depth(mapping, parts)
        if sets:
            owner = (depth, label)
        if depth and (best is None or depth >= best[0]):
            best = (depth, label)
    best = owner or best
    if best is None:
        return None
    depth, label = best
    if label == COMMAND_LINE:
        return COMMAND_LINE
    line = yaml_line(Path(label), parts[:depth])
    return f"{label}, line {line}" if line else label


def yaml_line(path: Path, parts: list[str]) -> int | None:
    """The line (1-based) of the key (or list item) ``parts`` in the YAML file ``path``."""
    try:
        node = yaml.compose(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    line = None
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if k.value == part]
            if not found:
                break
            line, node = found[-1][0].start_mark.line + 1, found[-1][1]
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _depth(mapping, parts: list[str]) -> tuple[int, bool]:
    """How many of ``parts`` lead into ``mapping`` (dict keys, list indices), and whether the
    mapping sets the key: holds all of it, or a value that replaces all below (deep merge)."""
    node, depth = mapping, 0
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            break
        depth += 1
    return depth, depth == len(parts) or (depth > 0 and not isinstance(node, dict))
