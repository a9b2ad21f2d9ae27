import json

import numpy as np
import pandas as pd
import pytest

from ml.artifacts import code_sha, data_sha, imported_sources, load_model, save_model
from ml.clv import fit_gamma_gamma


def test_round_trip_with_sidecar(tmp_path):
    frame = pd.DataFrame({"frequency": [1, 2, 3, 4, 5], "monetary_value": [10.0, 12.0, 30.0, 8.0, 15.0]})
    model = fit_gamma_gamma(frame["frequency"], frame["monetary_value"])
    code, data = code_sha(), data_sha(frame)
    path = save_model(model, tmp_path, "gamma_gamma", code, data, metrics={"ll": np.float64(model.log_likelihood)}, params=model.as_dict())
    assert path.name == f"gamma_gamma-{code[:8]}-{data[:8]}.pkl"
    loaded, meta = load_model(tmp_path, "gamma_gamma", code, data)
    assert loaded == model
    assert meta["metrics"]["ll"] == pytest.approx(model.log_likelihood)
    assert json.loads(path.with_suffix(".json").read_text())["params"]["p"] == pytest.approx(model.p)


def test_data_hash_tracks_content_not_identity():
    a = pd.DataFrame({"x": [1, 2, 3]})
    assert data_sha(a) == data_sha(a.copy())
    assert data_sha(a) != data_sha(pd.DataFrame({"x": [1, 2, 4]}))
    assert data_sha(a) != data_sha(a.astype(float))
    assert data_sha(a) != data_sha(a.rename(columns={"x": "y"}))


def test_no_latest_fallback(tmp_path):
    code = code_sha()
    save_model({"v": 1}, tmp_path, "churn", code, "a" * 64)
    with pytest.raises(FileNotFoundError, match="churn-"):
        load_model(tmp_path, "churn", code, "b" * 64)


def test_tampered_file_is_refused(tmp_path):
    path = save_model({"v": 1}, tmp_path, "churn", "c" * 64, "d" * 64)
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ValueError, match="checksum"):
        load_model(tmp_path, "churn", "c" * 64, "d" * 64)


def test_code_hash_changes_with_source(tmp_path):
    (tmp_path / "m.py").write_text("x = 1\n")
    before = code_sha(tmp_path)
    (tmp_path / "m.py").write_text("x = 2\n")
    assert code_sha(tmp_path) != before
    assert len(code_sha()) == 64


def _package(root, files: dict[str, str]):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_models_code_hash_covers_what_it_imports_and_nothing_else(tmp_path):
    pkg = tmp_path / "ml"
    _package(pkg, {
        "__init__.py": "",
        "model.py": "from ml.shared import helper\nfrom . import nearby\n\ndef fit():\n    from ml.sub import late\n",
        "shared.py": "import numpy\nhelper = 1\n",
        "nearby.py": "",
        "sub/__init__.py": "from .inner import thing\n",
        "sub/inner.py": "thing = 1\n",
        "sub/late.py": "",
        "other.py": "import ml.shared\n",
    })
    assert {p.relative_to(pkg).as_posix() for p in imported_sources(["ml.model"], pkg)} == {
        "__init__.py", "model.py", "shared.py", "nearby.py", "sub/__init__.py", "sub/inner.py", "sub/late.py"}
    before = code_sha(pkg, modules=["ml.model"])
    (pkg / "other.py").write_text("import ml.shared\nx = 2\n")
    assert code_sha(pkg, modules=["ml.model"]) == before, "a module the model does not import changed its version"
    for changed in ("sub/inner.py", "sub/late.py", "__init__.py"):
        (pkg / changed).write_text((pkg / changed).read_text() + "\n# edited\n")
        after = code_sha(pkg, modules=["ml.model"])
        assert after != before, f"an edit to {changed} left the model's version unchanged"
        before = after
    with pytest.raises(ValueError, match="ml.missing"):
        imported_sources(["ml.missing"], pkg)


def test_each_model_asset_module_imports_only_code_its_version_covers():
    """The model code list in orchestration/defs/ml/common.py cannot miss a module its asset calls."""
    import ast
    from pathlib import Path

    from orchestration.defs.ml.common import MODEL_CODE

    assets = {"churn": "churn.py", "clv": "clv.py", "feedback": "feedback.py", "recommender": "recommendations.py",
              "segmentation": "segments.py"}
    assert set(assets) == set(MODEL_CODE)
    root = Path(__file__).resolve().parents[2]
    ml_root = root / "ml"
    for model, module in assets.items():
        covered = imported_sources(MODEL_CODE[model], ml_root)
        tree = ast.parse((root / "orchestration/defs/ml" / module).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "ml":
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                used = imported_sources([n for n in names if n != "ml.artifacts" and _is_module(ml_root, n)], ml_root)
                assert used <= covered, f"{module} uses {sorted(p.name for p in used - covered)} outside {model}'s code"


def _is_module(ml_root, dotted: str) -> bool:
    base = ml_root.joinpath(*dotted.split(".")[1:])
    return (base / "__init__.py").is_file() or base.with_suffix(".py").is_file()
