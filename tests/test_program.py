"""Programme model and loader: the shipped stage 1, another programme in TOML alone, and bad input."""

from __future__ import annotations

import pytest

from sovereval.program.load import SpecError, key_lines, load_inputs, load_program
from sovereval.program.spec import AbsoluteScale, RatioToTargetCapped, RelativeToBest
from tests.helpers import STAGE1, STAGE1_INPUTS, TOY, TOY_INPUTS, write


def test_stage1_declares_the_published_structure() -> None:
    p = load_program(STAGE1).program
    st = p.stage("stage1")
    assert st.total_points == 100
    assert {b.id: b.points for b in st.blocks} == {"benchmark": 40, "expert": 35, "user": 25}
    bench = st.blocks[0]
    assert {s.id: s.points for s in bench.subblocks} == {"domestic": 10, "global_common": 20, "global_individual": 10}
    common = next(s for s in st.subblocks if s.id == "global_common")
    assert len(common.items) == 13 and isinstance(common.normaliser, AbsoluteScale) and common.normaliser.scale == 0.2
    ind = next(s for s in st.subblocks if s.id == "global_individual")
    assert ind.team_chosen and ind.choose == 5 and isinstance(ind.normaliser, RatioToTargetCapped)
    assert isinstance(next(s for s in st.subblocks if s.id == "user_panel").normaliser, RelativeToBest)
    assert [g.id for g in st.gates] == ["independence"]
    assert st.selection.slots == 4 and st.selection.gate_failure == "vacate"
    assert st.selection.recompetition is not None and st.selection.recompetition.panel_majority == "expert"
    for tid in st.teams:
        assert len(p.team(tid).individual_benchmarks) == 5


def test_another_programme_is_written_in_toml_alone(tmp_path) -> None:
    p = load_program(write(tmp_path, "toy.toml", TOY)).program
    assert [b.id for b in p.stages[0].blocks] == ["tests", "people"]
    assert load_inputs(write(tmp_path, "toy-inputs.toml", TOY_INPUTS)).stage == "s1"


def test_key_lines_maps_nested_arrays_of_tables() -> None:
    lines = key_lines(TOY)
    text = TOY.splitlines()
    assert "points = 40" in text[lines[("stages", 0, "blocks", 1, "points")] - 1]
    assert "id = \"race\"" in text[lines[("stages", 0, "blocks", 0, "subblocks", 1, "id")] - 1]
    assert "normaliser" in text[lines[("stages", 0, "blocks", 0, "subblocks", 1, "normaliser")] - 1]


def _error(tmp_path, text: str) -> SpecError:
    path = write(tmp_path, "bad.toml", text)
    with pytest.raises(SpecError) as e:
        load_program(path)
    assert e.value.file == str(path)
    return e.value


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_invalid_toml_names_the_line(tmp_path) -> None:
    bad = TOY.replace('version = "1"', 'version = "1\n')
    e = _error(tmp_path, bad)
    assert "invalid TOML" in e.message and e.line == _line_of(bad, 'version = "1')


def test_unknown_normaliser_names_line_and_choices(tmp_path) -> None:
    bad = TOY.replace('{ kind = "rank_points", table = [20, 10, 0] }', '{ kind = "zscore" }')
    e = _error(tmp_path, bad)
    assert "unknown normaliser" in e.message and "relative_to_best" in e.message
    assert e.line == _line_of(bad, '"zscore"')
    assert e.field == "stages[0].blocks[0].subblocks[1].normaliser"


def test_points_that_do_not_add_up(tmp_path) -> None:
    bad = TOY.replace("id = \"people\"\npoints = 40", "id = \"people\"\npoints = 45")
    e = _error(tmp_path, bad)
    assert "points do not add up" in e.message and "45" in e.message
    bad2 = TOY.replace('{ kind = "absolute_scale" }', '{ kind = "absolute_scale", scale = 0.5 }')
    e2 = _error(tmp_path, bad2)
    assert "scale 0.5 x raw_max 100 = 50" in e2.message and e2.line is not None
    bad3 = TOY.replace("points = 40\nsource = \"benchmark\"", "points = 30\nsource = \"benchmark\"")
    e3 = _error(tmp_path, bad3)
    assert "sub-blocks exam 30 + race 20 = 50" in e3.message
    assert "id = \"tests\"" in bad3.splitlines()[e3.line - 1] or "[[stages.blocks]]" in bad3.splitlines()[e3.line - 1]


def test_team_without_target_when_needed(tmp_path) -> None:
    text = STAGE1.read_text(encoding="utf-8")
    start = text.index("[teams.target]\nname = \"undisclosed SOTA target\"\nprovenance = \"reconstructed\"\nreference_scores = { skt")
    end = text.index("\n\n", start)
    e = _error(tmp_path, text[:start] + text[end:])
    assert "team 'skt' has no target model" in e.message and "global_individual" in e.message


def test_duplicate_names_and_unknown_fields(tmp_path) -> None:
    e = _error(tmp_path, TOY.replace('id = "c"\nname = "Gamma"', 'id = "a"\nname = "Gamma"'))
    assert "duplicate team id(s): ['a']" in e.message
    e2 = _error(tmp_path, TOY.replace('source = "rating"', 'source = "rating"\npanle = "jury"'))
    assert "unknown field 'panle'" in e2.message and e2.line == _line_of(
        TOY.replace('source = "rating"', 'source = "rating"\npanle = "jury"'), "panle")


def test_wrong_individual_count_and_missing_reference(tmp_path) -> None:
    text = STAGE1.read_text(encoding="utf-8")
    e = _error(tmp_path, text.replace('"lg-ind-4", "lg-ind-5"]', '"lg-ind-4"]', 1))
    assert "team 'lg' declares 4 individual_benchmarks" in e.message and "exactly 5" in e.message
    e2 = _error(tmp_path, text.replace(", lg-ind-5 = 55.0 }", " }", 1))
    assert "no reference score" in e2.message and "lg-ind-5" in e2.message


def test_shipped_inputs_load() -> None:
    inputs = load_inputs(STAGE1_INPUTS)
    assert inputs.provenance == "reconstructed"
    assert len(inputs.ratings) == 5 * (10 * 3 + 49 * 4)
    assert {r.provenance for r in inputs.benchmarks} == {"reconstructed"}


def test_bad_inputs_are_refused_with_location(tmp_path) -> None:
    bad = TOY_INPUTS.replace('mean = 80 }', 'mean = 85 }')  # 8.5 of 10 binary items is not whole
    p = write(tmp_path, "bad-inputs.toml", bad)
    with pytest.raises(SpecError) as e:
        load_inputs(p)
    assert "not a whole number" in e.value.message and e.value.field == "benchmarks[0]"
    p2 = write(tmp_path, "bad2.json", '{"program": "toy", "stage": ')
    with pytest.raises(SpecError) as e2:
        load_inputs(p2)
    assert "invalid JSON" in e2.value.message and e2.value.line == 1


def test_shipped_inputs_are_what_the_reconstruction_script_generates() -> None:
    import subprocess
    import sys

    from tests.helpers import ROOT

    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "reconstruct_stage1.py")], check=True,
                         capture_output=True, text=True).stdout
    assert out == STAGE1_INPUTS.read_text(encoding="utf-8")
