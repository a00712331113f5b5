"""docs/architecture.md is true to the tree: every module and folder of src/layerwise/ is named in
it (by its path relative to src/layerwise/), and every module path or layerwise.* name it gives
exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "layerwise"
DOC = ROOT / "docs" / "architecture.md"
#: a path or dotted name in running text: letters, digits and _ . / - * < > { }
TOKEN = re.compile(r"[\w./*<>{}-]+")
#: layerwise.* names the doc gives that are not Python names
NOT_MODULES = {"layerwise.record_hash"}  # an MLflow tag of the imported runs


def _tokens() -> set[str]:
    return {t.rstrip(".") for t in TOKEN.findall(DOC.read_text())}


def _library() -> list[str]:
    """Every module (path of a .py file, __init__.py aside) and every folder (with a trailing /)
    of the package, relative to src/layerwise/."""
    out = []
    for path in sorted(PACKAGE.rglob("*")):
        rel = path.relative_to(PACKAGE)
        if "__pycache__" in rel.parts or rel.name.startswith("."):
            continue
        if path.is_dir():
            out.append(f"{rel.as_posix()}/")
        elif path.suffix == ".py" and (path.name != "__init__.py" or rel.parent == Path(".")):
            out.append(rel.as_posix())
    return out


def test_every_module_and_folder_of_the_library_is_named():
    tokens = _tokens()
    missing = [m for m in _library() if m not in tokens]
    assert not missing, f"add to docs/architecture.md's module list: {missing}"


def _exists(name: str) -> bool:
    if any(c in name for c in "<>{}"):
        return True  # a template such as studies/<name>.py
    hits = [*ROOT.glob(name), *PACKAGE.glob(name)] if "*" in name else None
    if hits is not None:
        return bool(hits)
    return (ROOT / name).exists() or (PACKAGE / name).exists()


def test_every_module_path_named_exists():
    named = [t for t in _tokens() if t.endswith((".py", ".smk"))]
    assert named, "the pattern found no module paths"
    missing = sorted(t for t in named if not _exists(t))
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def _module_file(parts: list[str]) -> Path | None:
    base = PACKAGE.parent.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _resolves(dotted: str) -> bool:
    """layerwise.a.b(.attr...): the longest module prefix exists and, if a name follows, that
    module's source defines or imports it."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = _module_file(parts[:cut])
        if module is None:
            continue
        if cut == len(parts):
            return True
        return re.search(rf"\b{re.escape(parts[cut])}\b", module.read_text()) is not None
    return False


def test_every_layerwise_name_resolves():
    dotted = [
        t for t in _tokens() if t.startswith("layerwise.") and "/" not in t and t not in NOT_MODULES
    ]
    assert dotted, "the pattern found no layerwise.* names"
    broken = sorted(t for t in dotted if not _resolves(t))
    assert not broken, f"docs/architecture.md names what does not exist: {broken}"
