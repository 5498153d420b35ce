"""Seeds pane (ensemble sessions): per-member final losses, the OOD grid per
member at the cursor epoch (compact: mean success in/out of the training distribution
and a strip over the 26 cells), and the weight distance between members minimised
over hidden-unit permutations and sign flips, against a random-symmetry baseline.

All of it is ``grutui.core.analysis.compare.compare_members`` at the cursor epoch, run
in the pane's job thread (``AnalysisPane``).
"""

from __future__ import annotations

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from grutui.core.analysis.compare import SeedComparison, compare_members
from grutui.core.analysis.history import BARS
from grutui.core.analysis.ood import DEFAULT_SAMPLES, snapshot_epoch
from grutui.core.errors import SessionError
from grutui.core.numfmt import sig
from grutui.core.rundata import RunData
from grutui.ui.colours import success_colour
from grutui.ui.panes.analysis_base import AnalysisPane
from grutui.ui.widgets.cursorbar import CursorBar

SINGLE = (
    "single-member session: the seed comparison needs an ensemble "
    "(a session trained with several members)."
)


# (samples, snapshot epoch)
SeedsKey = tuple[int, int]


class SeedsPane(AnalysisPane[SeedsKey, SeedComparison]):
    PANE_MODE = "seeds"
    PANE_TITLE = "Seeds"
    JOB_GROUP = "seeds"
    MAX_RESULTS = 256
    TITLE_ID = "cmp-title"
    BODY_ID = "cmp-content"

    def __init__(self) -> None:
        super().__init__()
        self.samples = DEFAULT_SAMPLES

    def compose(self) -> ComposeResult:
        yield CursorBar(id="cursor-bar")
        yield Static("", id="cmp-title")
        with VerticalScroll(id="cmp-body", can_focus=False):
            yield Static("", id="cmp-content")
        yield Footer()

    def show_epoch(self, data: RunData, epoch: int, member: int) -> None:
        if data.members < 2:
            self.show_title(Text("seed comparison", style="bold"))
            self.query_one("#cmp-content", Static).update(Text(SINGLE, style="yellow"))
            return
        if epoch < 0 or not len(data.snapshot_epochs):
            self.no_result("seed comparison: no weights recorded yet")
            return
        try:
            key = (self.samples, snapshot_epoch(data, epoch))
        except SessionError as exc:  # before the first snapshot
            self.no_result(str(exc))
            return
        self.want(key)

    def data_grew(self, data: RunData) -> None:
        self.cache.clear()  # final losses moved

    def compute(self, key: SeedsKey) -> SeedComparison:
        samples, epoch = key
        data = self.grutui.data
        assert data is not None
        return compare_members(data, epoch, samples=samples)

    def draw(self) -> None:
        res = self.cache.shown
        t = Text()
        t.append("seed comparison ", style="bold")
        fresh = res is not None and self.cache.wanted == (self.samples, res.epoch)
        if res is None:
            t.append("computing…", style="dim italic")
        else:
            t.append(
                f"{res.members} members at epoch {res.epoch}", style="bold" if fresh else "dim"
            )
            if not fresh:
                t.append(" (updating…)", style="dim italic")
        t.append(f"  OOD {self.samples}/cell", style="dim")
        self.show_title(t)
        body = self.query_one("#cmp-content", Static)
        if res is None:
            body.update(Text(self.cache.error or "", style="red"))
            return
        parts: list[Table | Text] = [members_table(res), distance_table(res)]
        if self.cache.error:
            parts.append(Text(self.cache.error, style="red"))
        body.update(Group(*parts))


def members_table(res: SeedComparison) -> Table:
    t = Table(box=None, pad_edge=False, padding=(0, 1), header_style="dim", expand=False)
    t.add_column("m", justify="right")
    t.add_column("final train", justify="right")
    t.add_column("final test", justify="right")
    t.add_column("OOD in", justify="right")
    t.add_column("out", justify="right")
    t.add_column("cells (L1F1 … L8F4)", no_wrap=True)
    for m, (fl, ood) in enumerate(zip(res.final_losses, res.ood, strict=True)):
        ind = ood.in_distribution
        in_s = f"{float(ood.success[ind].mean()):.2f}" if ind.any() else "—"
        out_s = f"{float(ood.success[~ind].mean()):.2f}" if (~ind).any() else "—"
        strip = Text(no_wrap=True)
        for v in ood.success:
            bar = BARS[int(float(v) * (len(BARS) - 1) + 0.5)]
            strip.append(bar if bar != " " else "▁", style=success_colour(v))
        t.add_row(
            str(m),
            sig(fl.get("train_loss"), 3),
            sig(fl.get("test_loss"), 3),
            in_s,
            out_s,
            strip,
        )
    return t


def distance_table(res: SeedComparison) -> Table | Text:
    """Aligned distance per pair; colour = its ratio to the random-symmetry baseline."""
    k = res.members
    aligned = res.matrix("aligned")
    base = res.matrix("baseline")
    raw = res.matrix("raw")
    t = Table(
        box=None,
        pad_edge=False,
        padding=(0, 1),
        header_style="dim",
        expand=False,
    )
    t.add_column("", justify="right", style="dim")
    for j in range(k):
        t.add_column(str(j), justify="right")
    for i in range(k):
        cells: list[Text] = []
        for j in range(k):
            if i == j:
                cells.append(Text("·", style="dim"))
                continue
            ratio = aligned[i, j] / base[i, j] if base[i, j] > 0 else np.nan
            cells.append(Text(f"{aligned[i, j]:.3g}", style=success_colour(1 - ratio)))
        t.add_row(str(i), *cells)
    off = ~np.eye(k, dtype=bool)
    note = Text()
    note.append(
        f"random-pair baseline {base[off].mean():.3g} (mean); unaligned {raw[off].mean():.3g}; "
        f"aligned/baseline {np.nanmin(aligned[off] / base[off]):.2f}–"
        f"{np.nanmax(aligned[off] / base[off]):.2f}",
        style="dim",
    )
    methods = sorted({p.method for p in res.pairs})
    note.append(f"  ({', '.join(methods)})", style="dim")
    g = Table.grid()
    g.add_row(Text("\nweight distance, aligned over unit permutations and sign flips", "bold"))
    g.add_row(t)
    g.add_row(note)
    return g
