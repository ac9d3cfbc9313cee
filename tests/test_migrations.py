"""The migrations build exactly the schema the models describe, and undo cleanly."""

from __future__ import annotations

import os
import subprocess

from tests.support import ROOT


def alembic(*args: str, data_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "AIUSAGE_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [str(ROOT / ".venv/bin/alembic"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_models_and_migrations_agree_and_downgrade_works(tmp_path):
    assert alembic("upgrade", "head", data_dir=tmp_path).returncode == 0
    check = alembic("check", data_dir=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr  # no model change lacks a migration
    assert alembic("downgrade", "base", data_dir=tmp_path).returncode == 0
    assert alembic("upgrade", "head", data_dir=tmp_path).returncode == 0
