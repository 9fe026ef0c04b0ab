"""``cookiebench augment evaluate``: the quality of synthetic data, per generator and style.

cookiebench augment evaluate synth-ad.jsonl synth-hc.jsonl [--corpus PATH] [--out report.json|report.md] [--mlflow]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from detect.cli_options import Default, default_of, given
from detect.corpus_cli import ReportOpt, SkipBadOpt, VisitsOpt, read_options
from detect.logs import STDERR, spinner
from detect.readers import log_read_report

console = Console()  # results; progress and notes go to detect.logs.STDERR


def evaluate(
    ctx: typer.Context,
    synthetic: Annotated[
        list[Path],
        typer.Argument(help="Synthetic JSONL file(s), filtered or not (e.g. synth-ad.jsonl synth-hc.jsonl)."),
    ],
    corpus: Annotated[
        Path | None,
        typer.Option(
            help="Real corpus to compare with; its training split is the reference and its test split"
            " (else speaker-grouped folds) the TSTR test set (default: the simulated cohort)."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Also write the report: .json (the whole report) or .md (tables).")
    ] = None,
    folds: Annotated[
        int | None,
        typer.Option(help="Speaker-grouped folds for TSTR/TRTR when the corpus has no test split.", min=2),
        Default("augment.tstr:evaluation_splits.folds"),
    ] = None,
    privacy_ngram: Annotated[
        int | None,
        typer.Option(help="For records without verdicts: shared word run with a real transcript that fails privacy."),
        Default("augment.filters:FilterConfig.privacy_ngram"),
    ] = None,
    min_iu_coverage: Annotated[
        float | None,
        typer.Option(help="For records without verdicts: least information-unit coverage to count as on topic."),
        Default("augment.filters:FilterConfig.min_iu_coverage"),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of the detectors and of the real samples behind the diversity ranges."),
        Default("augment.tstr:evaluation_splits.seed", "augment.quality:quality_report.seed"),
    ] = None,
    mlflow: Annotated[
        bool, typer.Option("--mlflow", help="Also log the report to MLflow (experiment cookiebench-quality).")
    ] = False,
    tracking_uri: Annotated[
        str | None, typer.Option(help="MLflow tracking URI (default: the local store under mlflow/).")
    ] = None,
    skip_bad: SkipBadOpt = None,
    report: ReportOpt = None,
    visits: VisitsOpt = None,
) -> None:
    """Generation quality per generator and style: filters, markers vs real, style accuracy, TSTR vs TRTR, diversity."""
    from augment.filters import FilterConfig
    from augment.quality import GeneratorData, by_generator, quality_report
    from augment.tstr import evaluation_splits, real_reference

    if out is not None and out.suffix not in (".json", ".md"):
        raise typer.BadParameter(f"{out}: write a .json or a .md report", param_hint="--out")
    records = [r for path in synthetic for r in _records_of(path)]
    loaded, read = read_options(skip_bad, report, visits).load(corpus)
    reference = real_reference(loaded)
    with spinner() as progress:
        progress.add_task(
            f"measuring {len(records)} synthetic records against {len(reference)} real transcripts", total=None
        )
        splits, test = evaluation_splits(loaded, **given(ctx, evaluation_splits))
        result = quality_report(
            [GeneratorData(name, recs) for name, recs in by_generator(records).items()],
            reference,
            test_splits=splits,
            test=test,
            filters=FilterConfig(**given(ctx, FilterConfig)),
            **given(ctx, quality_report),
        )
    for view in _quality_tables(result):
        console.print(view)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            result.model_dump_json(indent=2) + "\n" if out.suffix == ".json" else result.markdown(), encoding="utf-8"
        )
        STDERR.print(f"report written to {out}")
    if mlflow:
        from detect import tracking

        with tracking.experiment_run(
            "cookiebench-quality",
            "augment-evaluate",
            uri=tracking_uri,
            params={
                "synthetic": [str(p) for p in synthetic],
                "seed": given(ctx, quality_report).get("seed", default_of("augment.quality:quality_report.seed")),
                **tracking.provenance_params(loaded),
            },
            tags={"stage": "augment-evaluate"},
        ) as run:
            log_read_report(read, run.info.run_id)
            tracking.log_metrics(result.metrics())
            tracking.log_frame(result.frame(), "quality.json")
            import mlflow as mlflow_lib

            mlflow_lib.log_text(result.model_dump_json(indent=2), "quality_report.json")
        STDERR.print(f"MLflow run {run.info.run_id}: {tracking.run_url(run.info.run_id)}")


def _records_of(path: Path) -> list:
    from augment.synthetic import read_records
    from detect.errors import CorpusError

    if not path.is_file():
        raise CorpusError(path, "no such synthetic JSONL file", fix="give the file `augment generate` wrote")
    records = read_records(path)
    if not records:
        raise CorpusError(path, "holds no synthetic records", fix="give the file `augment generate` wrote")
    return records


def _quality_tables(result) -> list[Table]:
    """The console view of a :class:`augment.quality_results.QualityReport`: filters and diversity, markers, utility."""

    def num(value: float, fmt: str = ".2f") -> str:
        return "n/a" if value != value else format(value, fmt)  # NaN: nothing to measure

    def table(title: str, columns: list[str]) -> Table:
        t = Table(title=title)
        for i, column in enumerate(columns):
            t.add_column(column, justify="left" if i < 2 else "right")
        return t

    filters = table(
        "filters, style, diversity (real range at the same size)",
        ["generator", "style", "pass", "privacy", "style acc", "distinct-2", "self-sim"],
    )
    markers = table(
        "markers: (synthetic - real) / real SD, per class",
        ["generator", "style", "IU cov", "words", "pronouns", "disfluency", "retracing"],
    )
    utility = table(f"TSTR vs TRTR F1 on {result.test}", ["generator", "detector", "TSTR", "TRTR", "ratio"])
    for g in result.generators:
        for s in g.styles:
            d = {m.marker: m.distance for m in s.markers}
            filters.add_row(
                g.generator,
                s.style.upper(),
                f"{s.passed}/{s.records}",
                str(s.privacy_rejected),
                num(s.style_accuracy),
                f"{num(s.distinct_2)} ({num(s.distinct_2_real[0])}-{num(s.distinct_2_real[1])})",
                f"{num(s.self_similarity)} ({num(s.self_similarity_real[0])}-{num(s.self_similarity_real[1])})",
            )
            markers.add_row(
                g.generator,
                s.style.upper(),
                *(
                    num(d[m], "+.2f")
                    for m in ("iu_coverage", "words", "pronoun_ratio", "disfluency_rate", "retracing_rate")
                ),
            )
        for u in g.utility:
            utility.add_row(g.generator, u.detector, num(u.tstr_f1), num(u.trtr_f1), num(u.ratio))
    return [filters, markers, utility]
