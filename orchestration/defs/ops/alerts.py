"""Tell a person when a run fails: a log line, a JSON line under ``$DATA_DIR/alerts/``, and a webhook.
The webhook is optional (``ALERT_WEBHOOK_URL``); its body carries a ``text`` field, so Slack
and Mattermost incoming webhooks show it as is, and the structured fields for anything else.
"""


import json
import os
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from orchestration.settings import Settings

WEBHOOK_ENV = "ALERT_WEBHOOK_URL"
UI_URL_ENV = "DAGSTER_UI_URL"
WEBHOOK_TIMEOUT_SECONDS = 10


def alerts_file(settings: Settings) -> Path:
    return settings.data_dir / "alerts" / "alerts.jsonl"


def _root_message(error) -> str:
    # Dagster wraps user errors ("Error occurred while executing op ..."); the cause is what a person needs.
    while error is not None and error.cause is not None:
        error = error.cause
    return (error.message.strip().splitlines() or [""])[0] if error else ""


def build_alert(run: dg.DagsterRun, step_failures: list[dg.DagsterEvent], run_error: str | None) -> dict:
    steps = []
    for event in step_failures:
        error = event.step_failure_data.error if event.step_failure_data else None
        steps.append({"step": event.step_key, "error": _root_message(error)[:500]})
    ui = os.environ.get(UI_URL_ENV, "http://127.0.0.1:3000").rstrip("/")
    failed = ", ".join(s["step"] for s in steps) or "the run itself"
    reason = steps[0]["error"] if steps else (run_error or "")
    return {
        "alert": "run_failed",
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "job": run.job_name,
        "run_id": run.run_id,
        "tags": {k: v for k, v in run.tags.items() if not k.startswith(".dagster")},
        "failed_steps": steps,
        "run_url": f"{ui}/runs/{run.run_id}",
        "text": f"Dagster run of {run.job_name} FAILED in {failed}: {reason[:300]} — {ui}/runs/{run.run_id}",
    }


def append_alert(path: Path, alert: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(alert, ensure_ascii=False) + "\n")


def post_webhook(url: str, alert: dict) -> None:
    body = json.dumps(alert, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
        response.read()


@dg.run_failure_sensor(
    name="run_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="On every failed run: an error log line, a JSON line in $DATA_DIR/alerts/alerts.jsonl, and a POST "
                f"to ${WEBHOOK_ENV} when it is set.",
)
def run_failure_alert(context: dg.RunFailureSensorContext):
    run_error = context.failure_event.message if context.failure_event else None
    alert = build_alert(context.dagster_run, context.get_step_failure_events(), run_error)
    context.log.error(alert["text"])
    target = alerts_file(Settings.from_env())
    # The file first: it is the record that survives a webhook being down.
    append_alert(target, alert)
    url = os.environ.get(WEBHOOK_ENV)
    if url:
        try:
            post_webhook(url, alert)
        except OSError as exc:
            context.log.error(f"alert for run {alert['run_id']} written to {target} but the webhook {url} failed: {exc}")
