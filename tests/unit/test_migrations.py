"""The migrations build exactly the schema the models describe, and undo cleanly."""

from __future__ import annotations

import os
import sqlite3
import subprocess

from tests.helpers.support import ROOT


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


def test_migration_0015_backfills_the_daily_rollups(tmp_path):
    assert alembic("upgrade", "0014", data_dir=tmp_path).returncode == 0
    sums = ["requests", "errors", "input_tokens", "output_tokens", "cache_write_tokens"]
    sums += ["cache_read_tokens", "cost_nano", "charged_nano", "fee_nano", "latency_ms_sum"]
    sums += [f"lat_{i}" for i in range(10)]
    db = sqlite3.connect(tmp_path / "aiusage.db")
    for hour, requests in (("01 23", 1), ("02 00", 2), ("02 23", 4)):
        db.execute(
            "INSERT INTO usage_hourly (user_id, proxy_key_id, provider, model, hour, "
            + ", ".join(sums)
            + ") VALUES (1, 0, 'anthropic', 'm', ?, ?"
            + ", 3" * (len(sums) - 1)
            + ")",
            (f"2026-03-{hour}:00:00.000000", requests),
        )
    db.commit()
    assert alembic("upgrade", "head", data_dir=tmp_path).returncode == 0
    daily = db.execute("SELECT day, requests, lat_9 FROM usage_daily ORDER BY day").fetchall()
    db.close()
    # Period starts in the format SQLAlchemy stores (and compares) times in.
    assert daily == [
        ("2026-03-01 00:00:00.000000", 1, 3),  # the UTC day (phase 0)
        ("2026-03-01 06:00:00.000000", 3, 6),  # the periods of the other phases
        ("2026-03-01 12:00:00.000000", 3, 6),
        ("2026-03-01 18:00:00.000000", 3, 6),
        ("2026-03-02 00:00:00.000000", 6, 6),
        ("2026-03-02 06:00:00.000000", 4, 3),
        ("2026-03-02 12:00:00.000000", 4, 3),
        ("2026-03-02 18:00:00.000000", 4, 3),
    ]
