"""The cluster deployment files, checked without a cluster.

Every dagster.yaml under deploy/ must pass Dagster's own instance-config
validation, and each pluggable class it names (run launcher, coordinator) must
import and accept its config, which is what a daemon does at start-up before it
touches Kubernetes or the broker. The Dockerfile cannot be built here (no docker
engine), so it is checked for what breaks most often: files it copies that do
not exist and a command that names the wrong module.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from dagster._config import validate_config
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config
from dagster._serdes.config_class import class_from_code_pointer

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
INSTANCE_FILES = sorted(DEPLOY.glob("dagster*.yaml"))
CLASS_SECTIONS = ("run_launcher", "run_coordinator", "compute_logs", "run_storage", "event_log_storage",
                  "schedule_storage", "scheduler")

# {env: X} values must resolve for Dagster to process the file, as on a pod.
DEPLOY_ENV = {
    "DAGSTER_PG_HOST": "postgres", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_USER": "dagster",
    "DAGSTER_PG_PASSWORD": "secret", "DAGSTER_PG_DB": "dagster", "DAGSTER_K8S_NAMESPACE": "warehouse",
    "DAGSTER_CELERY_BROKER_URL": "redis://redis:6379/0", "DAGSTER_CELERY_BACKEND_URL": "redis://redis:6379/1",
}


@pytest.fixture(autouse=True)
def _deploy_env(monkeypatch):
    for key, value in DEPLOY_ENV.items():
        monkeypatch.setenv(key, value)


def test_cluster_configs_are_present():
    names = {p.name for p in INSTANCE_FILES}
    assert {"dagster.k8s.yaml", "dagster.celery-k8s.yaml"} <= names, names


@pytest.mark.parametrize("path", INSTANCE_FILES, ids=lambda p: p.name)
def test_instance_config_validates(path, tmp_path):
    shutil.copy(path, tmp_path / "dagster.yaml")
    try:
        config, _ = dagster_instance_config(str(tmp_path))
    except DagsterInvalidConfigError as error:  # the message lists every bad key
        pytest.fail(f"{path.name}: {error}")
    raw = yaml.safe_load(path.read_text())
    assert set(raw) <= set(config), f"{path.name}: sections dropped by validation"

    for section in CLASS_SECTIONS:
        if section not in raw:
            continue
        pointer = raw[section]
        cls = class_from_code_pointer(pointer["module"], pointer["class"])
        result = validate_config(cls.config_type(), pointer.get("config") or {})
        assert result.success, f"{path.name} {section} ({pointer['class']}): {[e.message for e in result.errors]}"


def test_cluster_configs_keep_history_in_postgres():
    for name in ("dagster.k8s.yaml", "dagster.celery-k8s.yaml"):
        raw = yaml.safe_load((DEPLOY / name).read_text())
        assert "postgres" in raw["storage"], f"{name}: pods are disposable, history must live in Postgres"


def test_cluster_launcher_rejects_a_misspelt_key():
    # The check above must be able to fail: a typo in launcher config is caught.
    from dagster_k8s import K8sRunLauncher

    raw = yaml.safe_load((DEPLOY / "dagster.k8s.yaml").read_text())
    bad = {**raw["run_launcher"]["config"], "job_namepsace": "warehouse"}
    assert not validate_config(K8sRunLauncher.config_type(), bad).success


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [tuple(line.split(None, 1)) for line in lines]


def test_dockerfile_parses_and_copies_existing_files():
    instructions = _dockerfile_instructions()
    known = {"FROM", "RUN", "ENV", "WORKDIR", "COPY", "EXPOSE", "CMD", "ARG", "LABEL", "USER", "ENTRYPOINT"}
    assert instructions[0][0] == "FROM"
    assert all(op in known for op, _ in instructions), [op for op, _ in instructions if op not in known]
    copies = [args.split() for op, args in instructions if op == "COPY"]
    assert copies
    for args in copies:
        for source in args[:-1]:
            assert (REPO / source).exists(), f"Dockerfile copies {source}, which is not in the repository"


def test_dockerfile_installs_declared_extras_and_serves_the_code_location():
    pyproject = (REPO / "pyproject.toml").read_text()
    instructions = _dockerfile_instructions()
    install = next(args for op, args in instructions if op == "RUN" and "pip install" in args)
    extras = re.search(r"\[([a-z0-9,_-]+)\]", install).group(1).split(",")
    for extra in extras:
        assert re.search(rf"^{re.escape(extra)} = \[", pyproject, re.M), f"extra {extra!r} is not in pyproject.toml"
    cmd = next(args for op, args in instructions if op == "CMD")
    module = re.search(r'"-m", "([a-z_.]+)"', cmd).group(1)
    assert module == "orchestration.definitions"
    assert (REPO / (module.replace(".", "/") + ".py")).exists()
