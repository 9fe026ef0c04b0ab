"""The generation-quality report's results (:func:`augment.quality.quality_report` builds them):
per generator and style, as JSON (pydantic), one flat row per generator x style
(:meth:`QualityReport.frame`), MLflow metrics and Markdown."""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel

from augment.prompts import Style


class MarkerDistance(BaseModel):
    """One marker of one style's synthetic records against the real class."""

    marker: str
    synthetic_mean: float
    real_mean: float
    real_sd: float
    distance: float  # (synthetic_mean - real_mean) / real_sd; NaN when the real SD is 0 or unknown


class TrainTest(BaseModel):
    """Train on synthetic, test on real (TSTR) against train on real, test on real (TRTR), same test speakers."""

    detector: str
    tstr_f1: float
    trtr_f1: float
    ratio: float  # tstr_f1 / trtr_f1: 1 means synthetic data teaches as much as real data
    splits: int  # test sets averaged over


class StyleQuality(BaseModel):
    style: Style
    records: int
    passed: int  # records kept: they pass the filters (and won their best-of-n draw, if one was held)
    pass_rate: float  # share of records that pass the filters, before any best-of-n draw
    privacy_rejected: int  # near-copies of a training transcript among all records (candidates)
    near_copy_rate: float = float("nan")  # privacy_rejected / records judged for privacy
    near_copy_rate_real: float = float("nan")  # real class transcripts sharing such a run with another speaker's
    style_accuracy: float
    markers: list[MarkerDistance]
    distinct_2: float
    distinct_2_real: tuple[float, float]
    self_similarity: float
    self_similarity_real: tuple[float, float]
    scene_reuse: float = float("nan")  # mean share of a kept record's word 4-grams found in the scene texts
    scene_reuse_real: float = float("nan")  # the same for the real class's transcripts
    vocabulary_divergence: float = float("nan")  # JS divergence (bits) of word distributions, kept vs real class
    vocabulary_divergence_real: tuple[float, float] = (float("nan"), float("nan"))  # real samples vs the rest


class GeneratorQuality(BaseModel):
    generator: str
    required: tuple[str, ...]  # the verdicts a record had to pass
    styles: list[StyleQuality]
    utility: list[TrainTest]


class QualityReport(BaseModel):
    """The report: per generator, per style; ``test`` says which real speakers TSTR/TRTR were tested on."""

    generators: list[GeneratorQuality]
    test: str
    filters: tuple[str, ...]

    def frame(self) -> pd.DataFrame:
        """One row per generator x style; utility columns repeat the generator's values."""
        rows = []
        for g in self.generators:
            for s in g.styles:
                row = {
                    "generator": g.generator,
                    "style": s.style.upper(),
                    "records": s.records,
                    "passed": s.passed,
                    "pass_rate": s.pass_rate,
                    "privacy_rejected": s.privacy_rejected,
                    "near_copy_rate": s.near_copy_rate,
                    "near_copy_rate_real": s.near_copy_rate_real,
                    "style_accuracy": s.style_accuracy,
                }
                row |= {f"d_{m.marker}": m.distance for m in s.markers}
                row |= {
                    "distinct_2": s.distinct_2,
                    "distinct_2_real_low": s.distinct_2_real[0],
                    "distinct_2_real_high": s.distinct_2_real[1],
                    "self_similarity": s.self_similarity,
                    "self_similarity_real_low": s.self_similarity_real[0],
                    "self_similarity_real_high": s.self_similarity_real[1],
                    "scene_reuse": s.scene_reuse,
                    "scene_reuse_real": s.scene_reuse_real,
                    "vocabulary_divergence": s.vocabulary_divergence,
                    "vocabulary_divergence_real_low": s.vocabulary_divergence_real[0],
                    "vocabulary_divergence_real_high": s.vocabulary_divergence_real[1],
                }
                for u in g.utility:
                    row |= {
                        f"tstr_f1_{u.detector}": u.tstr_f1,
                        f"trtr_f1_{u.detector}": u.trtr_f1,
                        f"tstr_ratio_{u.detector}": u.ratio,
                    }
                rows.append(row)
        return pd.DataFrame(rows)

    def metrics(self) -> dict[str, float]:
        """Flat metric names for MLflow: ``quality/<generator>/<style>/<column>``."""
        out: dict[str, float] = {}
        for row in self.frame().to_dict("records"):
            prefix = f"quality/{_metric_safe(row['generator'])}/{row['style']}"
            out |= {f"{prefix}/{k}": v for k, v in row.items() if k not in ("generator", "style")}
        return out

    def markdown(self) -> str:
        """A short table per generator x style, and the marker means behind the distances."""
        frame = self.frame()
        lines = [f"Filters required: {', '.join(self.filters)}. TSTR/TRTR tested on {self.test}.", ""]
        lines += [
            f"{g.generator} had to pass {', '.join(g.required)}." for g in self.generators if g.required != self.filters
        ]
        if frame.empty:
            return "\n".join([*lines, "No synthetic records."])
        lines += [frame.to_markdown(index=False, floatfmt=".3f"), "", "Marker means (synthetic vs real class):", ""]
        marker_rows = [
            {
                "generator": g.generator,
                "style": s.style.upper(),
                "marker": m.marker,
                "synthetic": m.synthetic_mean,
                "real": m.real_mean,
                "real sd": m.real_sd,
                "distance (sd)": m.distance,
            }
            for g in self.generators
            for s in g.styles
            for m in s.markers
        ]
        lines.append(pd.DataFrame(marker_rows).to_markdown(index=False, floatfmt=".3f"))
        return "\n".join(lines) + "\n"


def _metric_safe(name: str) -> str:
    # MLflow metric names allow letters, digits, _ - . space : and /
    return "".join(c if c.isalnum() or c in "_-. :/" else "_" for c in name)
