"""The README's run command brings the app up with no configuration at all."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx

from tests.conftest import RUN_DIR
from tests.helpers.support import ROOT, free_port


def test_run_script_serves_health_with_generated_dev_secrets(tmp_path):
    port = free_port()
    # A fresh machine's environment: no AIUSAGE_* configuration at all.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIUSAGE_", "REFLEX_"))}
    env.update(
        PORT=str(port),
        AIUSAGE_DATA_DIR=str(tmp_path / "data"),
        REFLEX_WEB_WORKDIR=str(RUN_DIR / "web-run-script"),
        REFLEX_STATES_WORKDIR=str(RUN_DIR / "states-run-script"),
    )
    log = (tmp_path / "run.log").open("wb")
    process = subprocess.Popen(
        ["bash", "scripts/run.sh"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        while True:
            assert process.poll() is None, (tmp_path / "run.log").read_text()
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                if response.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the app did not come up"
            time.sleep(0.5)
        assert response.json() == {
            "status": "ok",
            "database": "ok",
            "dead_settlements": 0,
            "expired_holds": 0,
        }
        output = (tmp_path / "run.log").read_text()
        assert "AIUSAGE_ENCRYPTION_KEY, AIUSAGE_SECRET_KEY not set" in output
        assert (tmp_path / "data" / "aiusage.db").exists()
        assert (tmp_path / "data" / "dev-secrets.json").stat().st_mode & 0o077 == 0
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
