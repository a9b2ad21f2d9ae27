import json

import numpy as np
import pandas as pd
import pytest

from ml.artifacts import code_sha, data_sha, load_model, save_model
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
