"""The benchmark: how much does each kind of augmentation move AD-detection F1?

    cookiebench benchmark --config demo

Protocol (see ARCHITECTURE.md):

1. **Folds** by speaker, stratified by label, repeated over seeds (or the fixed ADReSS split).
   Folds that share the same training speakers (the ADReSS split over seeds) share one
   *group*: one set of generators and synthetic data.
2. **Generators** per group, from that group's training speakers only: SFT then DPO
   adapters (:func:`augment.train.train_generators`, cached by a hash of data and config).
3. **Synthetic data** per group x condition x style through one vLLM server (adapters by
   name, the bare base model for prompt-only), filtered; classic augmentation of the
   group's training transcripts. Every file is resumable JSONL under ``runs/<name>/``.
4. **Classifiers** per classifier x condition x ratio x fold: trained on the fold's real
   training transcripts plus ``ratio`` synthetic per real (per class), tested on the fold's
   real test transcripts. Each finished cell is appended to ``scores.csv`` at once, so an
   interrupted benchmark resumes where it stopped.
5. **Statistics**, quality of the synthetic data, MLflow (parent run, child per condition x
   ratio x classifier) and a report in sentences.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from augment import classic as classic_augmentation
from augment import filters as synthetic_filters
from augment import generate as generation
from augment import prompt_only
from augment import serve as serving
from augment import train as generator_training
from augment.prompts import task_messages
from augment.synthetic import GeneratorInfo, SyntheticDescription, read_records, write_records
from detect import cv
from detect.errors import UserError
from detect.markers import MarkerExtractor
from detect.readers import default_corpus_path, load_corpus
from detect.records import Corpus, Label, Transcript
from eval.config import GENERATED, BenchmarkConfig

logger = logging.getLogger(__name__)

STYLE_LABEL = {"ad": Label.AD, "hc": Label.HC}
SCORE_KEYS = ["classifier", "condition", "ratio", "seed", "fold"]
PREDICTIONS = "predictions.csv"  # beside scores.csv: each cell's out-of-fold P(AD), one row per test transcript
QUALITY_MARKERS = ("iu_coverage", "words", "pronoun_ratio", "mattr", "disfluency_rate", "mean_utterance_length")


class BenchmarkError(UserError):
    """The benchmark cannot go on as configured."""


@dataclass
class Group:
    """Folds that share one training set, and so one set of generators and synthetic data."""

    key: str
    train: Corpus
    folds: list[cv.Fold]
    synthetic: dict[str, list[Transcript]] = field(default_factory=dict)  # condition -> passed, in record order
    records: dict[str, list[SyntheticDescription]] = field(default_factory=dict)  # condition -> all, with verdicts
    adapters: dict[str, dict[str, Path]] = field(default_factory=dict)  # stage -> unit -> adapter folder


@dataclass
class BenchmarkResult:
    scores: pd.DataFrame
    table: pd.DataFrame
    quality: pd.DataFrame
    run_id: str | None
    report: Path
    timings: dict[str, float]


def group_key(train_speakers) -> str:
    return hashlib.sha256("\n".join(sorted(train_speakers)).encode()).hexdigest()[:10]


def plan(config: BenchmarkConfig) -> tuple[Corpus, list[cv.Fold], dict[str, Group]]:
    corpus = cv.evaluable(load_corpus(config.corpus))
    seeds = list(range(config.protocol.seed, config.protocol.seed + config.protocol.repeats))
    protocol = "adress" if config.protocol.split == "adress" else "kfold"
    folds = cv.make_folds(corpus, protocol=protocol, folds=config.protocol.folds, seeds=seeds)
    groups: dict[str, Group] = {}
    for fold in folds:
        key = group_key(fold.train_speakers)
        if key not in groups:
            groups[key] = Group(key, corpus.by_speakers(fold.train_speakers), [])
        groups[key].folds.append(fold)
    return corpus, folds, groups


def needed(train: Corpus, ratio: float) -> dict[str, int]:
    """Synthetic records per style for a ratio: ratio x the real transcripts of that class."""
    return {style: math.ceil(ratio * len(train.by_label(label))) for style, label in STYLE_LABEL.items()}


# -- generators --------------------------------------------------------------------------------


def generator_config(config: BenchmarkConfig, run_dir: Path) -> generator_training.GeneratorConfig:
    g = config.generator
    return generator_training.GeneratorConfig(
        mode=g.mode,
        base_model=str(g.base_model) if g.base_model else None,
        sft=generator_training.CookieSFTConfig(output_dir=str(run_dir / "unused"), **g.sft),
        dpo=generator_training.CookieDPOConfig(output_dir=str(run_dir / "unused"), **g.dpo)
        if "dpo" in config.conditions else None,
        pairs=generator_training.PairConfig(**g.pairs) if g.pairs else generator_training.PairConfig(),
        sampling=generator_training.SampleConfig(**{"n": 8, "base": False, **g.sampling}),
        track=False,  # the benchmark's own run holds what matters; no extra experiment per fold
    )


def train_group_generators(config: BenchmarkConfig, group: Group, run_dir: Path) -> None:
    report = generator_training.train_generators(
        list(group.train), run_dir / "generators" / group.key, generator_config(config, run_dir)
    )
    group.adapters["sft"] = {unit: r.sft.adapter for unit, r in report.units.items()}
    if any(r.dpo for r in report.units.values()):
        group.adapters["dpo"] = {unit: r.dpo.adapter for unit, r in report.units.items() if r.dpo}


# -- synthetic data ----------------------------------------------------------------------------


def served_name(group: Group, stage: str, unit: str) -> str:
    return f"{group.key}-{stage}-{unit}"


@dataclass(frozen=True)
class GenerationJob:
    """One resumable JSONL file: a group's records of one condition and style."""

    group: str
    condition: str
    style: str
    out: Path
    n: int
    model: str
    prompts: Callable[[int], Any]
    parents: Callable[[int], tuple[str, ...]]
    info: GeneratorInfo


def generation_jobs(config: BenchmarkConfig, group: Group, run_dir: Path) -> list[GenerationJob]:
    # Generated beyond the largest ratio's need by `oversample`: the filters reject some.
    top = {style: math.ceil(n * config.generation.oversample)
           for style, n in needed(group.train, max(config.ratios)).items()}
    train_ids = tuple(t.id for t in group.train)
    jobs = []
    for condition in (c for c in config.conditions if c in GENERATED):
        for style in ("ad", "hc"):
            out = run_dir / "synthetic" / group.key / f"{condition}-{style}.jsonl"
            if condition == "prompt-only":
                prompter = prompt_only.FewShotPrompter(
                    list(group.train), style,
                    prompt_only.PromptOnlyConfig(shots=config.generation.few_shot, seed=config.protocol.seed))
                jobs.append(GenerationJob(
                    group.key, condition, style, out, top[style], serving.BASE_NAME, prompter, prompter.parents,
                    GeneratorInfo(kind="prompt-only", base_model=serving.BASE_NAME, adapter=serving.BASE_NAME,
                                  config_hash=prompter.config_hash(), method="few-shot")))
                continue
            unit = "cond" if config.generator.mode == "conditional" else style
            model = served_name(group, condition, unit)
            messages = task_messages(style, config.generator.mode)
            # Every record of an adapter descends from all of the group's training transcripts.
            jobs.append(GenerationJob(
                group.key, condition, style, out, top[style], model, lambda i, m=messages: m, lambda i: train_ids,
                GeneratorInfo(kind="merged" if serves_merged(config) else "lora", base_model=serving.BASE_NAME,
                              adapter=model, config_hash=serving.adapter_hash(group.adapters[condition][unit]))))
    return jobs


def sampling_config(config: BenchmarkConfig) -> generation.SamplingConfig:
    g = config.generation
    return generation.SamplingConfig(temperature=g.temperature, min_p=g.min_p, top_p=g.top_p, max_tokens=g.max_tokens,
                                     seed=config.protocol.seed * 100_000)


def pending(config: BenchmarkConfig, job: GenerationJob) -> int:
    missing, _ = generation.pending_indices(job.out, job.n, style=job.style, model=job.model,
                                            sampling=sampling_config(config), generator=job.info)
    return len(missing)


def serves_merged(config: BenchmarkConfig) -> bool:
    """Whether each trained generator gets a server of its own with the adapter merged in."""
    if config.generation.endpoint:
        return False  # the given server serves what it serves: adapters by name
    choice = config.generation.adapters
    return serving.is_cpu_build() if choice == "auto" else choice == "merged"


def servers(config: BenchmarkConfig, groups: dict[str, Group],
            jobs: list[GenerationJob]) -> list[tuple[serving.ServeConfig | None, list[GenerationJob]]]:
    """The jobs to run on each server, one server at a time (None: the configured endpoint)."""
    if config.generation.endpoint:
        return [(None, jobs)]
    adapters = {served_name(g, stage, unit): path
                for g in groups.values() for stage, units in g.adapters.items() for unit, path in units.items()}
    common = dict(base_model=str(config.generator.base_model) if config.generator.base_model else None,
                  port=0, enforce_eager=config.generation.enforce_eager)
    if not serves_merged(config):
        wanted = {job.model for job in jobs} - {serving.BASE_NAME}
        return [(serving.ServeConfig(adapters={m: adapters[m] for m in sorted(wanted)}, **common), jobs)]
    by_model: dict[str, list[GenerationJob]] = {}
    for job in jobs:
        by_model.setdefault(job.model, []).append(job)
    return [(serving.ServeConfig(adapters={} if model == serving.BASE_NAME else {model: adapters[model]},
                                 merged=model != serving.BASE_NAME, **common), batch)
            for model, batch in by_model.items()]


@contextmanager
def generation_endpoint(config: BenchmarkConfig, serve_config: serving.ServeConfig | None):
    """An OpenAI client on the configured endpoint, or on a vLLM server started for these jobs."""
    if serve_config is None:
        from openai import OpenAI

        yield OpenAI(base_url=config.generation.endpoint, api_key="EMPTY")
        return
    with serving.VLLMServer(serve_config) as server:
        yield server.client()


def run_jobs(config: BenchmarkConfig, groups: dict[str, Group], jobs: list[GenerationJob],
             tell: Callable[[str, int, int], None]) -> None:
    done = 0
    for serve_config, batch in servers(config, groups, jobs):
        with generation_endpoint(config, serve_config) as client:
            for job in batch:
                tell("generating", done, len(jobs))
                generation.run_generation(
                    job.out, job.prompts, n=job.n, style=job.style, model=job.model, generator=job.info,
                    sampling=sampling_config(config), client=client, concurrency=config.generation.concurrency,
                    parent_ids=job.parents, resume_command=f"cookiebench benchmark --config {config.name}",
                )
                done += 1
    tell("generating", len(jobs), len(jobs))


def classic_group(config: BenchmarkConfig, group: Group, extractor: MarkerExtractor) -> None:
    per = math.ceil(max(config.ratios))
    options = {"seed": config.protocol.seed, **config.classic}
    records = classic_augmentation.classic_augment(
        list(group.train), classic_augmentation.ClassicConfig(**options), per_transcript=per)
    keep(config, group, "classic", records, extractor)


def keep(config: BenchmarkConfig, group: Group, condition: str, records: list[SyntheticDescription],
         extractor: MarkerExtractor) -> None:
    """Filters (every verdict recorded), then keeps the passing records in record order."""
    filter_config = synthetic_filters.FilterConfig(**config.filters)
    judged = synthetic_filters.apply_filters(records, config=filter_config, training=list(group.train),
                                             extractor=extractor)
    require = filter_config.require
    if condition == "classic":
        # Classic copies are edits of real training transcripts by design: the privacy verdict
        # is recorded for the report, but it cannot be a reason to drop them.
        require = tuple(r for r in require if r != "privacy")
    passed = synthetic_filters.select(judged, require)
    group.records[condition] = judged
    group.synthetic[condition] = [r.to_transcript(condition=condition) for r in passed]
    write_records(Path(config.run_dir()) / "synthetic" / group.key / f"{condition}.filtered.jsonl", judged)
    logger.info("group %s %s: %d of %d synthetic records pass the filters", group.key, condition,
                len(passed), len(judged))


def extras_for(group: Group, condition: str, ratio: float) -> list[Transcript]:
    """The first ratio x n_real passing records per class: nested sets across ratios."""
    if condition == "none":
        return []
    pool = group.synthetic.get(condition, [])
    out: list[Transcript] = []
    for style, n in needed(group.train, ratio).items():
        of_style = [t for t in pool if t.label == STYLE_LABEL[style]]
        if len(of_style) < n:
            logger.warning("group %s %s x%g: %d %s records pass the filters, %d wanted", group.key, condition,
                           ratio, len(of_style), style, n)
        out += of_style[:n]
    return out


# -- classifiers -------------------------------------------------------------------------------


def cells(config: BenchmarkConfig, folds: list[cv.Fold]) -> list[tuple[str, str, float, cv.Fold]]:
    out = []
    for classifier in config.classifiers:
        for condition in config.conditions:
            for ratio in ([0.0] if condition == "none" else config.ratios):
                out += [(classifier, condition, ratio, fold) for fold in folds]
    return out


def score_cell(config: BenchmarkConfig, corpus: Corpus, group: Group, classifier: str, condition: str,
               ratio: float, fold: cv.Fold) -> dict[str, Any]:
    result = cv.evaluate_folds(
        corpus, [fold], classifier, config.classifier_options.get(classifier),
        extra_train=lambda train: extras_for(group, condition, ratio),
    )
    row = result.rows[0].as_dict()
    wanted = 0 if condition == "none" else sum(needed(group.train, ratio).values())
    keys = {"classifier": classifier, "condition": condition, "ratio": ratio}
    # Written before the cell's score, so a cell with a score always has its predictions.
    predictions = result.predictions_frame().assign(**keys, config_digest=config.digest())
    path = Path(config.run_dir()) / PREDICTIONS
    predictions.to_csv(path, mode="a", header=not path.exists(), index=False)
    return {**keys, **row, "n_wanted": wanted}


def load_predictions(path: Path, config_digest: str) -> pd.DataFrame:
    """Kept predictions of this config; a cell scored twice (killed between its two writes) keeps its last."""
    if not path.exists():
        return pd.DataFrame(columns=[*SCORE_KEYS, "id", "speaker_id", "y_true", "p_ad"])
    kept = pd.read_csv(path, dtype={"id": str, "speaker_id": str, "config_digest": str})
    kept = kept[kept.config_digest == config_digest]  # also drops a line cut short: the digest comes last
    return kept.drop_duplicates([*SCORE_KEYS, "id"], keep="last")


def load_scores(path: Path, config_digest: str) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame(columns=SCORE_KEYS)
    scores = pd.read_csv(path)
    if "config_digest" in scores and set(scores.config_digest) != {config_digest}:
        raise BenchmarkError(
            f"{path}: scores from a different config; use another output_dir or delete the file to start over")
    return scores


# -- quality of synthetic data -----------------------------------------------------------------


def distinct_n(texts: list[str], n: int) -> float:
    grams = [tuple(words[i:i + n]) for words in (t.lower().split() for t in texts) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else float("nan")


def self_similarity(texts: list[str], pairs: int = 200, seed: int = 0) -> float:
    """Mean Jaccard similarity of word-trigram sets over random pairs (1 = copies)."""
    if len(texts) < 2:
        return float("nan")
    sets = [{tuple(w[i:i + 3]) for i in range(len(w) - 2)} for w in (t.lower().split() for t in texts)]
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(pairs):
        a, b = rng.choice(len(sets), size=2, replace=False)
        union = sets[a] | sets[b]
        scores.append(len(sets[a] & sets[b]) / len(union) if union else 1.0)
    return float(np.mean(scores))


def quality_table(config: BenchmarkConfig, corpus: Corpus, groups: dict[str, Group],
                  extractor: MarkerExtractor) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per condition x style: marker distance to real, diversity, filter rejections, TSTR F1."""
    real = extractor.transform(list(corpus))
    real["group"] = [f"real {t.label.value}" for t in corpus]
    spread = real[list(QUALITY_MARKERS)].std().replace(0, 1)
    rows, marker_frames = [], [real]
    for condition in (c for c in config.conditions if c != "none"):
        all_records = [r for g in groups.values() for r in g.records.get(condition, [])]
        if not all_records:
            continue
        tstr = tstr_f1(corpus, groups, condition)
        for style, label in STYLE_LABEL.items():
            records = [r for r in all_records if r.style == style]
            passed = [t for g in groups.values() for t in g.synthetic.get(condition, []) if t.label == label]
            if not records:
                continue
            frame = pd.DataFrame([r.markers for r in records if r.markers])
            frame["group"] = f"{condition} {label.value}"
            marker_frames.append(frame)
            same = real[real.group == f"real {label.value}"]
            row = {"condition": condition, "style": label.value, "records": len(records), "passed": len(passed),
                   "privacy_rejected": sum(1 for r in records if "privacy" in r.verdicts and not r.verdicts["privacy"].passed)}
            for marker in QUALITY_MARKERS:
                if marker in frame:
                    row[f"d_{marker}"] = abs(frame[marker].mean() - same[marker].mean()) / spread[marker]
            texts = [r.text for r in records]
            row.update({"distinct_1": distinct_n(texts, 1), "distinct_2": distinct_n(texts, 2),
                        "self_similarity": self_similarity(texts), "tstr_f1": tstr})
            rows.append(row)
    return pd.DataFrame(rows), pd.concat(marker_frames, ignore_index=True)


def tstr_f1(corpus: Corpus, groups: dict[str, Group], condition: str) -> float:
    """Train on synthetic only (TF-IDF), test on the real test speakers of each fold."""
    from detect.classifiers import make_detector
    from detect.metrics import binary_metrics

    scores = []
    for group in groups.values():
        synthetic = group.synthetic.get(condition, [])
        if len({t.label for t in synthetic}) < 2:
            continue
        for fold in group.folds:
            test = corpus.by_speakers(fold.test_speakers)
            detector = make_detector("tfidf", seed=fold.seed).fit(synthetic)
            scores.append(binary_metrics(test.y(), detector.predict_proba(test))["f1"])
    return float(np.mean(scores)) if scores else float("nan")


# -- the run -----------------------------------------------------------------------------------


class Stopwatch:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def run_benchmark(config: BenchmarkConfig, *, progress: Callable[[str, int, int], None] | None = None,
                  tracking_uri: str | None = None) -> BenchmarkResult:
    """Runs (or resumes) the whole protocol and returns scores, the summary table and the report."""
    from eval import tracking_layout

    tell = progress or (lambda stage, done, total: None)
    clock = Stopwatch()
    run_dir = Path(config.run_dir())
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(config.model_dump(mode="json"), indent=2) + "\n")

    with clock.stage("plan"):
        corpus, folds, groups = plan(config)
        extractor = MarkerExtractor(cache_dir=run_dir / "cache")
    logger.info("%d folds in %d training groups, %d transcripts", len(folds), len(groups), len(corpus))

    trained = [c for c in ("sft", "dpo") if c in config.conditions]
    if trained:
        with clock.stage("generators"):
            for i, group in enumerate(groups.values()):
                tell("training generators", i, len(groups))
                train_group_generators(config, group, run_dir)
            tell("training generators", len(groups), len(groups))
    if any(c in GENERATED for c in config.conditions):
        with clock.stage("generation"):
            jobs = [job for group in groups.values() for job in generation_jobs(config, group, run_dir)]
            todo = [job for job in jobs if pending(config, job)]
            if todo:  # a finished run resumes without starting a server
                run_jobs(config, groups, todo, tell)
            for group in groups.values():
                for condition in (c for c in config.conditions if c in GENERATED):
                    records = [r for job in jobs if job.group == group.key and job.condition == condition
                               if job.out.exists() for r in read_records(job.out)]
                    keep(config, group, condition, records, extractor)
    if "classic" in config.conditions:
        with clock.stage("classic"):
            for group in groups.values():
                classic_group(config, group, extractor)

    scores_path = run_dir / "scores.csv"
    digest = config.digest()
    scores = load_scores(scores_path, digest)
    done = {tuple(r) for r in scores[SCORE_KEYS].astype({"ratio": float}).itertuples(index=False)}
    todo = cells(config, folds)
    with clock.stage("classifiers"):
        for i, (classifier, condition, ratio, fold) in enumerate(todo):
            tell("classifying", i, len(todo))
            if (classifier, condition, float(ratio), fold.seed, fold.fold) in done:
                continue
            group = groups[group_key(fold.train_speakers)]
            row = score_cell(config, corpus, group, classifier, condition, ratio, fold)
            row["config_digest"] = digest
            pd.DataFrame([row]).to_csv(scores_path, mode="a", header=not scores_path.exists(), index=False)
        tell("classifying", len(todo), len(todo))
    scores = load_scores(scores_path, digest)

    from eval.analysis import summary_table

    with clock.stage("report"):
        table = summary_table(scores, protocol="adress" if config.protocol.split == "adress" else "kfold",
                              predictions=load_predictions(run_dir / PREDICTIONS, digest))
        quality, marker_frame = quality_table(config, corpus, groups, extractor)
        simulated = Path(config.corpus or default_corpus_path()).resolve() == default_corpus_path().resolve()
        run_id, report = tracking_layout.log_benchmark(
            config, corpus=corpus, groups=groups, scores=scores, table=table, quality=quality,
            marker_frame=marker_frame, run_dir=run_dir, timings=clock.seconds, simulated=simulated,
            tracking_uri=tracking_uri,
        )
    return BenchmarkResult(scores, table, quality, run_id, report, clock.seconds)


__all__ = ["BenchmarkResult", "run_benchmark", "plan", "extras_for"]
