"""The README's two set-up commands exist and CI runs the test one verbatim."""

from __future__ import annotations

import json
import re
import shlex
import sys
import tomllib
from pathlib import Path

import pytest

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


def _tasks_section() -> str:
    readme = (REPO / "README.md").read_text()
    return readme.split("\n## Tasks\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_task_example_installs_and_trains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The worked example, as written: its module and its pyproject entry point made
    into an installed package (a dist-info on sys.path, what pip leaves), found by name,
    its syntax parsed, trained a few epochs through the CLI by both names, and its
    out-of-distribution grid drawn."""
    section = _tasks_section()
    code = re.findall(r"```python\n(.+?)\n```", section, re.S)[0]
    toml = re.findall(r"```toml\n(.+?)\n```", section, re.S)[0]
    commands = re.findall(r"```sh\n(.+?)\n```", section, re.S)[0].splitlines()
    site = tmp_path / "site"
    (site / "mypkg").mkdir(parents=True)
    (site / "mypkg" / "__init__.py").write_text("")
    (site / "mypkg" / "tasks.py").write_text(code)
    points = tomllib.loads(toml)["project"]["entry-points"]["grutui.tasks"]
    dist = site / "mypkg-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mypkg\nVersion: 0.1\n")
    lines = "".join(f"{k} = {v}\n" for k, v in points.items())
    (dist / "entry_points.txt").write_text(f"[grutui.tasks]\n{lines}")
    monkeypatch.syspath_prepend(str(site))
    try:
        from grutui.cli import main
        from grutui.core.errors import SequenceError
        from grutui.core.session import Session
        from grutui.core.tasks import make_task, task_names

        assert "parity" in task_names()
        task = make_task("parity")
        assert task.parse("1 0 1 1").expected == 1.0
        with pytest.raises(SequenceError) as exc:
            task.parse("1 0 2")
        assert exc.value.column == 4
        quick = ["--epochs", "3", "--threads", "1", "--device", "cpu"]
        for i, command in enumerate(commands):
            argv = shlex.split(command)
            assert argv[:2] == ["grutui", "train"]
            argv = [*argv[1:], *quick, "--out", str(tmp_path / f"s{i}")]
            assert main(argv) == 0
            with Session(tmp_path / f"s{i}") as s:
                assert type(s.config.task).__name__ == "Parity" and s.n_epochs == 3
                assert s.param_shapes["linear.weight"] == (2, 8)
        # its own out-of-distribution grid: length 1-8 x ones 0-4, ones > length left out
        assert main(["ood", str(tmp_path / "s0"), "--samples", "10", "--json"]) == 0
        cells = json.loads(capsys.readouterr().out)["cells"]
        assert len(cells) == 34 and {"length", "ones", "mean_cross_entropy"} <= set(cells[0])
        assert [c["in_distribution"] for c in cells].count(True) == 5  # length 6, ones 0-4
    finally:
        for name in [m for m in sys.modules if m == "mypkg" or m.startswith("mypkg.")]:
            del sys.modules[name]
