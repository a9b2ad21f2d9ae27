"""Save and load fitted models under names that say exactly what they are.

A file is ``<model>-<code_sha8>-<data_sha8>.pkl`` plus a ``.json`` sidecar with
metrics, parameters and full hashes. Loading needs the model name and both
hashes: there is deliberately no "load the latest from disk", so a run can only
use the model it was handed, and a stale file cannot slip in silently.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

ML_ROOT = Path(__file__).resolve().parent
_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")


def code_sha(root: Path = ML_ROOT, modules: Iterable[str] | None = None) -> str:
    """sha256 over the ml package's .py sources (paths and bytes).

    Hashing the sources rather than asking git works in a CI clone, an installed
    wheel or a dirty work tree alike, and changes exactly when model code does.
    With ``modules`` (dotted names under the package, e.g. ``ml.churn``) only the
    sources those modules import, directly or not, count: a model's version then
    moves when its own code does, not when a neighbour's does.
    """
    paths = sorted(root.rglob("*.py")) if modules is None else sorted(imported_sources(modules, root))
    h = hashlib.sha256()
    for path in paths:
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def imported_sources(modules: Iterable[str], root: Path = ML_ROOT) -> set[Path]:
    """The package's source files that importing ``modules`` runs: theirs, what they import, and the
    ``__init__.py`` of every package on the way. Imports inside functions count too (they run when
    the model is fitted or loaded)."""
    package = root.name
    seen: set[Path] = set()
    pending = list(modules)
    while pending:
        name = pending.pop()
        parts = name.split(".")
        if parts[0] != package:
            continue
        for depth in range(1, len(parts) + 1):
            source = _module_source(root, parts[1:depth])
            if source is None:
                if depth == len(parts):
                    raise ValueError(f"{name} is not a module of {root}")
                break
            if source in seen:
                continue
            seen.add(source)
            pending.extend(_imports_of(source, root))
    return seen


def _module_source(root: Path, inner: list[str]) -> Path | None:
    base = root.joinpath(*inner)
    for candidate in (base / "__init__.py", base.with_suffix(".py")) if inner else (root / "__init__.py",):
        if candidate.is_file():
            return candidate
    return None


def _imports_of(source: Path, root: Path) -> list[str]:
    """Dotted names ``source`` imports; ``from a import b`` yields ``a`` and ``a.b`` (b may be a module)."""
    # The package a relative import starts from: the module's own for __init__.py, else its parent's.
    package = [root.name, *source.relative_to(root).with_suffix("").parts][:-1]
    names: list[str] = []
    for node in ast.walk(ast.parse(source.read_bytes(), filename=str(source))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names.append(module)
            names.extend(f"{module}.{alias.name}" for alias in node.names if alias.name != "*")
    # ``from a import b`` where b is a function names no module; other packages are not hashed.
    return [n for n in names if n.split(".")[0] == root.name and _module_source(root, n.split(".")[1:])]


def data_sha(*frames: pd.DataFrame) -> str:
    """sha256 of the training data: column names, dtypes and row values, in order."""
    h = hashlib.sha256()
    for frame in frames:
        h.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def artifact_stem(model: str, code: str, data: str) -> str:
    if not _NAME.match(model):
        raise ValueError(f"model name {model!r} must be lower-case letters, digits and underscores")
    return f"{model}-{code[:8]}-{data[:8]}"


def _atomic_write(path: Path, write) -> None:
    # Write beside the target and rename, so readers never see half a file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_model(
    obj,
    directory,
    model: str,
    code: str,
    data: str,
    metrics: dict | None = None,
    params: dict | None = None,
) -> Path:
    """Write ``obj`` and its sidecar; returns the .pkl path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = artifact_stem(model, code, data)
    pkl, sidecar = directory / f"{stem}.pkl", directory / f"{stem}.json"
    _atomic_write(pkl, lambda p: joblib.dump(obj, p))
    meta = {
        "model": model,
        "code_sha": code,
        "data_sha": data,
        "file_sha256": hashlib.sha256(pkl.read_bytes()).hexdigest(),
        "metrics": _jsonable(metrics or {}),
        "params": _jsonable(params or {}),
    }
    _atomic_write(sidecar, lambda p: p.write_text(json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False)))
    return pkl


def load_model(directory, model: str, code: str, data: str):
    """Load exactly ``<model>-<code8>-<data8>``; returns (obj, sidecar dict).

    Raises FileNotFoundError naming the expected file and what is there instead,
    and ValueError if the sidecar's full hashes or the file checksum disagree.
    """
    directory = Path(directory)
    stem = artifact_stem(model, code, data)
    pkl, sidecar = directory / f"{stem}.pkl", directory / f"{stem}.json"
    if not pkl.exists() or not sidecar.exists():
        present = sorted(p.name for p in directory.glob(f"{model}-*.pkl")) if directory.exists() else []
        raise FileNotFoundError(
            f"no artifact {pkl} (+ .json); {model!r} files present: {present or 'none'}. "
            "Retrain for this code/data, or pass the hashes of the model you mean."
        )
    meta = json.loads(sidecar.read_text())
    if meta["code_sha"] != code or meta["data_sha"] != data:
        raise ValueError(f"{sidecar} records different full hashes than requested (8-character prefix collision)")
    if hashlib.sha256(pkl.read_bytes()).hexdigest() != meta["file_sha256"]:
        raise ValueError(f"{pkl} does not match the checksum in {sidecar.name}; the file was changed or truncated")
    return joblib.load(pkl), meta
