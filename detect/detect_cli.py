"""`cookiebench detect ...`: cross-validate, train and apply AD detectors, tracked in MLflow.

cookiebench detect cv --classifier tfidf --folds 5 --repeats 3
cookiebench detect cv --corpus data/ADReSS --classifier bert --split adress
cookiebench detect train --classifier bert --out models/bert
cookiebench detect predict --model models/bert --corpus new/ --out scores.csv
"""

from __future__ import annotations

import json
import math
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from detect.classifiers import DETECTORS
from detect.classifiers.base import Detector
from detect.cli_options import ConfigDefaults, Default, default_of, given
from detect.corpus_cli import ReportOpt, SkipBadOpt, VisitsOpt, read_options
from detect.errors import ConfigError
from detect.logs import STDERR, Progress
from detect.readers import log_read_report

detect_app = typer.Typer(help="Train and evaluate AD detectors (BERT, TF-IDF, markers).", no_args_is_help=True)
console = Console()  # results; progress and status go to detect.logs.STDERR


# Built from the registry so a new detector needs no edit here; mypy cannot see the members of a computed Enum.
ClassifierName = Enum("ClassifierName", {name: name for name in DETECTORS}, type=str)  # type: ignore[misc]


class SplitName(str, Enum):
    kfold = "kfold"
    adress = "adress"


CorpusOpt = Annotated[
    Path | None,
    typer.Option(help="Corpus folder (ADReSS, Pitt, .cha) or .csv/.jsonl file. Default: the shipped simulated cohort."),
]
ClassifierOpt = Annotated[ClassifierName, typer.Option(help="Which detector.")]
ConfigOpt = Annotated[Path | None, typer.Option(help="JSON/YAML file of detector config fields.")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override one config field, KEY=VALUE (repeatable), e.g. --set epochs=2."),
]
ExperimentOpt = Annotated[
    str | None, typer.Option(help="MLflow experiment name."), Default("detect.cv:run_cv.experiment")
]
TrackingOpt = Annotated[
    str | None, typer.Option(help="MLflow tracking URI. Default: $MLFLOW_TRACKING_URI, else sqlite under mlflow/.")
]


def _parse_value(raw: str) -> Any:
    if raw.lower() in ("none", "null"):
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw  # a bare string such as a model path


def build_options(classifier: str, config_file: Path | None, sets: list[str] | None) -> dict[str, Any]:
    """Detector parameters: the config file, then --set overrides, checked against the detector's constraints."""
    from detect.classifiers import load_options_file, preflight

    try:
        options = load_options_file(config_file) if config_file else {}
        for item in sets or []:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
            options[key.strip()] = _parse_value(value.strip())
        return preflight(classifier, options)
    except (ValueError, TypeError, OSError) as exc:
        where = f"{config_file}: " if config_file else ""
        raise ConfigError(f"{where}{str(exc).splitlines()[0]}") from exc


def _fmt(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def summary_table(result: Any, title: str) -> Table:
    table = Table(title=title)
    for column in ("metric", "mean", "sd", "95% interval", "n"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for s in result.summary.values():
        interval = "-" if math.isnan(s.ci_low) else f"[{s.ci_low:.3f}, {s.ci_high:.3f}]"
        table.add_row(s.metric, _fmt(s.mean), _fmt(s.sd), interval, str(s.n))
    return table


@detect_app.command(cls=ConfigDefaults)
def cv(
    ctx: typer.Context,
    corpus: CorpusOpt = None,
    classifier: ClassifierOpt = ClassifierName("tfidf"),
    folds: Annotated[
        int | None,
        typer.Option(min=2, help="K of the speaker-grouped, label-stratified K-fold."),
        Default("detect.cv:run_cv.folds"),
    ] = None,
    repeats: Annotated[
        int | None,
        typer.Option(min=1, help="Seeds: each reshuffles the folds and reseeds the detector."),
        Default("detect.cv:run_cv.repeats"),
    ] = None,
    split: Annotated[
        SplitName | None,
        typer.Option(help="kfold: repeated K-fold over speakers; adress: the fixed train/test split."),
        Default("detect.cv:run_cv.protocol"),
    ] = None,
    within: Annotated[
        str | None,
        typer.Option(
            help="With kfold: cross-validate within this split only (train keeps the ADReSS test speakers unseen)."
        ),
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    final_fit: Annotated[
        bool | None,
        typer.Option("--final-fit/--no-final-fit", help="Also fit on all training data and log that model."),
        Default("detect.cv:run_cv.final_fit"),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for folds.csv, summary.csv and predictions.csv.")] = None,
    experiment: ExperimentOpt = None,
    tracking_uri: TrackingOpt = None,
    skip_bad: SkipBadOpt = None,
    report: ReportOpt = None,
    visits: VisitsOpt = None,
) -> None:
    """Evaluate a detector with speaker-grouped cross-validation (or the ADReSS split), logged to MLflow."""
    from detect.cv import run_cv

    options = given(ctx, run_cv)
    protocol, k, repeats = (
        options.get(name, default_of(f"detect.cv:run_cv.{name}")) for name in ("protocol", "folds", "repeats")
    )
    detector_options = build_options(classifier.value, config, set_)
    data, read = read_options(skip_bad, report, visits).load(corpus)
    if within is not None:
        if within not in ("train", "test"):
            raise ConfigError(f"--within {within!r}: use train or test")
        if protocol == SplitName.adress.value:
            raise ConfigError("--within applies to --split kfold; the adress split already uses both splits")
        data = data.by_split(within)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
    ) as progress:
        task = progress.add_task(f"{classifier.value} {protocol}", total=None, last="")

        def on_fold(outcome: Any) -> None:
            m = outcome.metrics
            progress.update(
                task, advance=1, last=f"seed {m.seed} fold {m.fold}: F1 {_fmt(m.f1)} acc {_fmt(m.accuracy)}"
            )

        result, run_id = run_cv(
            data,
            classifier.value,
            detector_options,
            **options,
            tracking_uri=tracking_uri,
            on_fold=on_fold,
            on_plan=lambda n: progress.update(task, total=n),
        )
    what = f"{k}-fold x {repeats} seed(s)" if protocol == "kfold" else f"ADReSS split x {repeats} seed(s)"
    console.print(summary_table(result, f"{classifier.value}: {what}, {len(data.speakers())} speakers"))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        result.rows_frame().to_csv(out / "folds.csv", index=False)
        result.summary_frame().to_csv(out / "summary.csv", index=False)
        result.predictions_frame().to_csv(out / "predictions.csv", index=False)
        console.print(f"tables written to {out}")
    log_read_report(read, run_id)
    console.print(f"MLflow run id: [bold]{run_id}[/bold]")


@detect_app.command(cls=ConfigDefaults)
def train(
    corpus: CorpusOpt = None,
    classifier: ClassifierOpt = ClassifierName("tfidf"),
    split: Annotated[
        str, typer.Option(help="Train on this split (train/test), or 'all'. Default: train if the corpus has one.")
    ] = "auto",
    config: ConfigOpt = None,
    set_: SetOpt = None,
    out: Annotated[Path | None, typer.Option(help="Also save the fitted detector to this folder.")] = None,
    track: Annotated[bool, typer.Option(help="Log params, dataset and the model to MLflow.")] = True,
    experiment: ExperimentOpt = None,
    tracking_uri: TrackingOpt = None,
    skip_bad: SkipBadOpt = None,
    report: ReportOpt = None,
    visits: VisitsOpt = None,
) -> None:
    """Fit a detector on a corpus; save it to a folder and/or log it to MLflow as a model."""
    from detect.classifiers import make_detector
    from detect.classifiers.base import params_to_json
    from detect.cv import check_two_classes, evaluable

    if not track and out is None:
        raise ConfigError("--no-track needs --out: otherwise the fitted model would be lost")
    detector_options = build_options(classifier.value, config, set_)
    loaded, read = read_options(skip_bad, report, visits).load(corpus)
    data = evaluable(loaded)
    if split == "auto":
        split = "train" if len(data.by_split("train")) else "all"
    if split not in ("train", "test", "all"):
        raise ConfigError(f"--split {split!r}: use train, test or all")
    fit_on = data if split == "all" else data.by_split(split)
    check_two_classes(fit_on, what=f"{split} split" if split != "all" else "corpus")
    detector = make_detector(classifier.value, detector_options)

    run_id = None
    if track:
        import mlflow
        from detect import tracking
        from detect.classifiers.mlflow_model import log_detector

        tracking.setup_tracking(experiment or default_of("detect.cv:run_cv.experiment"), tracking_uri)
        params = {
            "classifier": classifier.value,
            "split": split,
            "config": params_to_json(detector_options),
            **tracking.provenance_params(fit_on),
        }
        with tracking.parent_run(f"train-{classifier.value}", params=params, tags={"stage": "detect"}) as run:
            tracking.log_corpus_dataset(fit_on, name=f"corpus-{fit_on.digest()}", context="training")
            log_read_report(read)
            with STDERR.status(f"fitting {classifier.value} on {len(fit_on)} transcripts"):
                detector.fit(list(fit_on))
            info = getattr(detector, "train_info_", None)
            if info:
                mlflow.log_dict(info, "train_info.json")
            log_detector(detector)
            run_id = run.info.run_id
    else:
        with STDERR.status(f"fitting {classifier.value} on {len(fit_on)} transcripts"):
            detector.fit(list(fit_on))
    if out is not None:
        detector.save(out)
        console.print(f"detector saved to [bold]{out}[/bold]")
    if run_id:
        console.print(f"MLflow run id: [bold]{run_id}[/bold]  (predict with --model {run_id})")


@detect_app.command(cls=ConfigDefaults)
def predict(
    model: Annotated[str, typer.Option(help="A detector folder, an MLflow run id, or a model URI (runs:/ID/model).")],
    out: Annotated[
        Path,
        typer.Option(
            help="CSV to write: id, speaker_id, label, split, p_ad, prediction ('-': stdout, nothing else on it)."
        ),
    ],
    corpus: CorpusOpt = None,
    threshold: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="P(AD) at or above this is predicted AD."),
        Default("detect.metrics:binary_metrics.threshold"),
    ] = None,
    tracking_uri: TrackingOpt = None,
    skip_bad: SkipBadOpt = None,
    report: ReportOpt = None,
    visits: VisitsOpt = None,
) -> None:
    """Score transcripts with a trained detector; with labels present, also print the metrics."""
    import pandas as pd

    from detect.classifiers import load_detector
    from detect.classifiers.mlflow_model import is_model_uri, load_logged_detector
    from detect.metrics import binary_metrics

    detector: Detector
    if Path(model).exists() or not is_model_uri(model):
        detector = load_detector(model)
    else:
        from detect import tracking

        tracking.use_tracking_uri(tracking_uri)
        detector = load_logged_detector(model)
    threshold = threshold if threshold is not None else default_of("detect.metrics:binary_metrics.threshold")
    data, _ = read_options(skip_bad, report, visits).load(corpus)
    with STDERR.status(f"scoring {len(data)} transcripts"):
        p_ad = detector.p_ad(list(data))
    frame = pd.DataFrame(
        {
            "id": [t.id for t in data],
            "speaker_id": [t.speaker_id for t in data],
            "label": [t.label.value if t.label else "" for t in data],
            "split": [t.split or "" for t in data],
            "p_ad": p_ad,
            "prediction": ["AD" if p >= threshold else "HC" for p in p_ad],
        }
    )
    if str(out) == "-":
        frame.to_csv(sys.stdout, index=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    console.print(f"{len(frame)} scores written to [bold]{out}[/bold]")
    labelled = frame[frame["label"] != ""]
    if len(labelled) and labelled["label"].nunique() == 2:
        metrics = binary_metrics((labelled["label"] == "AD").astype(int), labelled["p_ad"], threshold=threshold)
        table = Table(title=f"{len(labelled)} labelled transcripts")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for name, value in metrics.items():
            table.add_row(name, _fmt(value))
        console.print(table)
