"""Expectation suites are data: one GX 1.x suite JSON per asset in ``expectations/``.

A suite's ``name`` is the table it validates (``raw.orders``, ``marts.fct_orders``);
the Dagster asset key is the same two parts, so nothing maps names by hand. A few
tables are written by an asset of another name (``ml.model_runs`` by every model
asset, ``ml.clv_holdout_by_frequency`` by ``ml/clv_model``): their suite lists those
assets in ``meta.asset_keys`` and gets a blocking check on each of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from orchestration.settings import EXPECTATIONS_DIR


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    expectations: tuple[dict, ...]
    meta: dict

    @property
    def schema(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def table(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def asset_key_path(self) -> list[str]:
        return [self.schema, self.table]

    @property
    def asset_key_paths(self) -> list[list[str]]:
        """The assets whose steps write the table: the table's own asset unless ``meta.asset_keys`` says otherwise."""
        return [list(k) for k in self.meta.get("asset_keys", [self.asset_key_path])]


def load_suite(path: Path) -> Suite:
    data = json.loads(path.read_text(encoding="utf-8"))
    name = data.get("name", "")
    if name.count(".") != 1:
        raise ValueError(f"{path}: suite name {name!r} must be '<schema>.<table>', e.g. 'raw.orders'")
    for i, exp in enumerate(data.get("expectations", [])):
        if "type" not in exp or not isinstance(exp.get("kwargs", {}), dict):
            raise ValueError(f"{path}: expectation #{i + 1} needs a 'type' and a 'kwargs' object (GX 1.x suite JSON)")
    meta = data.get("meta", {})
    keys = meta.get("asset_keys")
    if keys is not None and (not keys or not all(isinstance(k, list) and k and all(isinstance(p, str) for p in k)
                                                 for k in keys)):
        raise ValueError(f"{path}: meta.asset_keys must be a non-empty list of asset key paths, "
                         f'e.g. [["ml", "clv_model"]]; got {keys!r}')
    return Suite(name, path, tuple(data.get("expectations", [])), meta)


def discover_suites(directory: Path = EXPECTATIONS_DIR) -> list[Suite]:
    return [load_suite(p) for p in sorted(directory.glob("*.json"))]
