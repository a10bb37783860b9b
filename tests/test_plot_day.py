"""The docs' day pictures come from a script that keeps working (a short span here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "plot_day.py"


def test_plot_day_draws_every_domain_from_decoded_messages(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two simulated morning hours of minipark give the four PNGs and a summary line."""
    spec = importlib.util.spec_from_file_location("plot_day", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["plot_day"] = module
    spec.loader.exec_module(module)
    assert module.main(["--scenario", "minipark", "--hours", "2", "--date", "2026-06-02",
                        "--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert names == ["energy-day.png", "security-day.png", "solar-day.png",
                     "wastewater-day.png"]
    for path in tmp_path.glob("*.png"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 10_000
    assert "readings" in capsys.readouterr().out
