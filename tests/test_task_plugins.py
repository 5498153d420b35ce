"""Third-party tasks: a package on ``sys.path`` with a dist-info declaring ``grutui.tasks``
entry points (what ``pip install`` leaves), found by name, listed in ``train --help``,
trained through the run driver and the CLI; broken ones refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from grutui.cli import main
from grutui.core.config import TrainConfig
from grutui.core.driver import RunDriver
from grutui.core.session import Session
from grutui.core.tasks import make_task, task_names
from tests.helpers import refused

TINY = ["--epochs", "3", "--batch-size", "32", "--threads", "1", "--device", "cpu"]


@pytest.fixture(autouse=True)
def installed(plugin_tasks: None) -> None:
    """Every test here sees the plugin package installed."""


def test_installed_tasks_are_found_by_name() -> None:
    names = task_names()
    assert names[0] == "adding" and "firsttoken" in names
    task = make_task("firsttoken")
    assert type(task).__name__ == "FirstToken"
    assert make_task("gt_plugin_tasks:FirstToken") == task


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_an_installed_task_trains_through_the_run_driver(tmp_path: Path, engine: str) -> None:
    cfg = TrainConfig(
        task=make_task("firsttoken"),
        hidden=4,
        epochs=3,
        batch_size=32,
        eval_every=1,
        lr=1e-2,
        threads=1,
        device="cpu",
        engine=engine,
        seeds=(0, 1) if engine == "fast" else (),
    )
    driver = RunDriver.new(cfg, tmp_path / "s", source="test")
    assert driver.run() == "finished"
    with Session(tmp_path / "s") as s:
        assert s.config == cfg and s.n_epochs == 3
        assert s.config_dict["task"]["name"] == "firsttoken"
        assert s.param_shapes["gru.weight_ih_l0"] == (12, 5)  # D = vocab 4 + noise
        assert s.param_shapes["linear.weight"] == (4, 4)  # O = 4 classes
        assert s.members == (2 if engine == "fast" else 1)


def test_train_help_lists_installed_tasks(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["train", "--help"])
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "adding, modadd, flipflop, badimport, badshape, firsttoken, noparse" in out


def test_the_cli_trains_an_installed_task_with_options(tmp_path: Path) -> None:
    out = tmp_path / "s"
    argv = ["train", "--task", "firsttoken", "--task-option", "vocab=3", "--out", str(out)]
    assert main([*argv, *TINY]) == 0
    with Session(out) as s:
        assert s.config.task == make_task("firsttoken", {"vocab": 3})
        assert s.param_shapes["linear.weight"][0] == 3
    # by module reference too
    out2 = tmp_path / "s2"
    assert main(["train", "--task", "gt_plugin_tasks:FirstToken", "--out", str(out2), *TINY]) == 0


def test_the_adding_flavours_still_select_with_task(tmp_path: Path) -> None:
    for name, flavour in (("general", "general"), ("adding.blog", "blog")):
        out = tmp_path / name
        argv = ["train", "--task", name, "--n-samples", "200", "--out", str(out), *TINY]
        assert main(argv) == 0
        with Session(out) as s:
            task = s.config_dict["task"]
            assert task["flavour"] == flavour and "name" not in task


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--task", "noparse"], "task 'noparse': NoParse lacks parse"),
        (["--task", "badshape"], "task 'badshape': train targets are (179,), expected (180,)"),
        (["--task", "badimport"], "task 'badimport': cannot import gt_plugin_tasks.unimportable"),
        (["--task", "gt_plugin_tasks:Missing"], "module gt_plugin_tasks has no 'Missing'"),
        (
            ["--task", "nosuch"],
            "task 'nosuch': no such task (choose from adding, modadd, flipflop, badimport",
        ),
        (["--task", "firsttoken", "--task-option", "colour=1"], "unexpected keyword"),
        (["--task", "firsttoken", "--task-option", "vocab"], "--task-option wants KEY=VALUE"),
        (["--task", "firsttoken", "--high", "5"], "--high is an option of the adding problem"),
    ],
)
def test_broken_tasks_are_refused_in_one_line(
    args: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s"
    line = refused(["train", *args, "--out", str(out), *TINY], capsys)
    assert needle in line
    assert not out.exists()
