"""The documentation stays true: generated sections are current and links resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from parkwire import DecodeReason
from scripts import gen_contract_doc

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "docs" / "contract.md"
# Markdown links [text](target), ignoring external URLs and pure anchors.
LINK = re.compile(r"\[[^\]]*\]\((?!https?://|mailto:|#)([^)\s]+)\)")


def test_contract_doc_is_up_to_date() -> None:
    """docs/contract.md holds exactly what the generator produces from parkwire today."""
    text = CONTRACT.read_text(encoding="utf-8")
    assert gen_contract_doc.render(text) == text, "run `make docs`"


def test_every_decode_reason_is_explained() -> None:
    """Each DecodeReason has a line in the generated table."""
    table = gen_contract_doc.reasons_section()
    assert set(gen_contract_doc.REASON_HELP) == set(DecodeReason)
    for reason in DecodeReason:
        assert f"| `{reason.value}` |" in table


def test_examples_are_valid_messages() -> None:
    """The examples cover every channel and each one passes the codec (checked as generated)."""
    messages = [m for _, m in gen_contract_doc.example_messages()]
    assert {m.topic.channel for m in messages} == {"telemetry", "status", "event"}
    section = gen_contract_doc.examples_section()
    assert section.count("```json") == len(messages)


def test_check_mode_reports_a_stale_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--check exits 1 on a stale copy; a plain run rewrites it, after which --check passes."""
    stale = tmp_path / "contract.md"
    stale.write_text(CONTRACT.read_text(encoding="utf-8").replace("| `p_kw` |", "| `p_mw` |"))
    assert gen_contract_doc.main(["--check", str(stale)]) == 1
    assert "is out of date; run `make docs`" in capsys.readouterr().err
    assert gen_contract_doc.main([str(stale)]) == 0
    assert gen_contract_doc.main(["--check", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == CONTRACT.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no regions at all", "missing ['decode-reasons', 'example-time', 'examples'"),
        ("<!-- BEGIN GENERATED: nonsense -->\n<!-- END GENERATED -->", "unknown ['nonsense']"),
    ],
)
def test_render_rejects_a_broken_template(text: str, problem: str) -> None:
    """A template without the expected regions, or with unknown ones, is an error."""
    with pytest.raises(ValueError, match=re.escape(problem)):
        gen_contract_doc.render(text)


DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md"),
               ROOT / "dashboards" / "README.md"])


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    """Every relative link in the docs points at a file that exists."""
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        path = (page.parent / target.split("#", 1)[0]).resolve()
        assert path.exists(), f"{page.relative_to(ROOT)} links to missing {target}"
