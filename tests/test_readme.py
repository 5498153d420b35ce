"""The README's two set-up commands exist and CI runs the test one verbatim."""

from __future__ import annotations

import re

from tests.helpers import REPO


def _commands() -> list[str]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Set-up: two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_two_setup_commands() -> None:
    cmds = _commands()
    assert len(cmds) == 2
    assert cmds[0].endswith(".venv/bin/grutui")
    assert "pytest" in cmds[1]
    for c in cmds:
        assert "-c constraints.txt" in c, "torch must come from the pinned version"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    assert _commands()[1] in ci.splitlines()


def test_constraints_pin_torch() -> None:
    lines = (REPO / "constraints.txt").read_text().splitlines()
    assert "torch==2.13.0" in [ln.strip() for ln in lines]
