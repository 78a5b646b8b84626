"""One figure of the paper (PDF + PNG) from the run folders; `params.kind` says which."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")
from llmrec import logs


def main():
    from llmrec.report import collect, figures

    params, out = snakemake.params, snakemake.output
    cells = collect.cells_from(params.cells)
    common = {"pdf": out.pdf, "png": out.png, "dpi": params.dpi}
    if params.kind == "curves":
        spec = params.spec
        history, missing = collect.load_histories(cells, params.runs_root)
        ylabel = {"train_loss": "training loss", "rho": "ρ (effective condition number)"}
        figures.curves(
            history,
            cells,
            missing,
            spec["column"],
            ylabel.get(spec["column"], spec["column"]),
            labels=spec.get("labels"),
            log_y=spec.get("log_y", False),
            **common,
        )
    elif params.kind == "item_norms":
        norms, missing = collect.load_initial_norms(cells, params.runs_root)
        figures.item_norms(norms, cells, missing, **common)
    elif params.kind == "ablation":
        metrics, missing = collect.load_metrics(cells, params.runs_root)
        figures.ablation_bars(metrics, cells, missing, params.metric, **common)
    elif params.kind == "sweep":
        metrics, missing = collect.load_metrics(cells, params.runs_root)
        figures.sweep(metrics, cells, missing, params.points, params.key, params.metric, **common)
    else:
        raise ValueError(f"unknown figure kind {params.kind!r}")


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
