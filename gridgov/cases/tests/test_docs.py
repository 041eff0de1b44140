"""The transition table described to operators (docs/cases.md) is the one in the code."""

from pathlib import Path

from gridgov.cases.workflow import TABLE

DOC = Path(__file__).resolve().parents[3] / "docs" / "cases.md"


def test_the_documented_table_names_every_action_with_its_sources():
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].split("`")[1]] = cells
    assert set(rows) == {t.action for t in TABLE}
    for t in TABLE:
        documented = rows[t.action][1]
        if documented.startswith("every"):
            continue
        assert {s.strip() for s in documented.split(",")} == set(t.sources), t.action
