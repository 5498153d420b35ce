"""Export (``x``): the visible pane as SVG and the run's metrics as CSV, into the
directory ``Analyses.export_dir`` picks; a notification says where."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from grutui.core.errors import GrutuiError
from grutui.core.interop import export_csv

if TYPE_CHECKING:
    from grutui.ui.app import GrutuiApp


def export_view(app: GrutuiApp) -> tuple[Path, Path | None] | None:
    """The files written (the CSV only when there are epochs), or None on failure."""
    d = app.data
    where = app.analyses.export_dir()
    name = d.name if d is not None else "grutui"
    epoch = f"-e{app.epoch}" if app.epoch >= 0 else ""
    svg = where / f"{name}-{app.current_mode}{epoch}.svg"
    csv: Path | None = where / f"{name}-metrics.csv"
    try:
        app.save_screenshot(filename=svg.name, path=str(where))
        if d is not None and d.n_epochs and csv is not None:
            export_csv(d, csv)
        else:
            csv = None
    except (OSError, GrutuiError) as exc:
        app.notify(f"export failed: {exc}", severity="error", timeout=10)
        return None
    saved = f"{svg}" + (f" and {csv.name}" if csv is not None else "")
    app.notify(f"saved {saved}", title="Export", timeout=8)
    return svg, csv
