"""The programme context the web-backed modules (web, panel, arena) work in: one programme version, one stage, two panels."""

from __future__ import annotations

from dataclasses import dataclass

from sovereval.program.spec import Item, Program, Stage, SubBlock


@dataclass(frozen=True)
class Scope:
    program: Program
    program_sha256: str
    stage: Stage
    expert_panel: str
    user_panel: str

    @property
    def program_id(self) -> str:
        return self.program.id

    @property
    def stage_id(self) -> str:
        return self.stage.id

    def subblocks(self, panel: str) -> tuple[SubBlock, ...]:
        return tuple(sb for sb in self.stage.subblocks if sb.source == "rating" and sb.panel == panel)

    def items(self, panel: str) -> tuple[Item, ...]:
        return tuple(it for sb in self.subblocks(panel) for it in sb.items)

    def team_name(self, team: str) -> str:
        return self.program.team(team).name

    @property
    def teams(self) -> tuple[str, ...]:
        return self.stage.teams


def make_scope(program: Program, program_sha256: str, stage_id: str | None = None,
               expert_panel: str = "expert", user_panel: str = "user") -> Scope:  # fmt: skip
    stage = program.stage(stage_id)
    scope = Scope(program, program_sha256, stage, expert_panel, user_panel)
    for panel in (expert_panel, user_panel):
        if not scope.items(panel):
            raise ValueError(f"stage {stage.id!r} has no rating sub-block for panel {panel!r}")
    return scope
