"""The AD-HC style axis: how AD-like a text is, measured one way everywhere.

Preference pairs (the margin between chosen and rejected), the ``style`` filter (does a
synthetic record lie on its style's side?) and the training report (``style_score`` of
sampled descriptions) all read the same :class:`StyleAxis`, fitted to the real AD and HC
transcripts at hand.

The math is a diagonal linear discriminant: each marker is centred on the midpoint of
the AD and HC means, scaled by their pooled standard deviation, and weighted by the
standardised AD-minus-HC difference (weights sum to 1 in absolute value). A score is
positive for AD-like text, negative for HC-like, in units of roughly one pooled standard
deviation. It was chosen over per-marker median votes (the former filter's rule) because
one continuous score serves all three uses: pairs need a graded margin, not a count of
votes; a marker that barely separates the classes gets a small weight instead of a full
vote; and "AD-like" then means the same number in a pair, a verdict and a report.
Medians would resist outliers better; on the 50-300-word descriptions here, whose markers
are rates and counts without heavy tails, means and pooled deviations were stable.

Markers are measured on the verbatim rendering (:func:`detect.markers.verbatim_markers`),
so real, degraded and generated texts are comparable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from augment.prompts import STYLE_LABEL, Style
from detect.markers import real_verbatim, verbatim_markers
from detect.records import Transcript

# Information-unit coverage, length, pronoun ratio and disfluency rate: the markers on which
# AD and HC descriptions differ most in the literature (and on the simulated cohort).
STYLE_MARKERS: tuple[str, ...] = ("iu_coverage", "words", "pronoun_ratio", "disfluency_rate")


class StyleAxis(BaseModel):
    """A diagonal discriminant between AD and HC on ``markers``, fitted to real transcripts.

    Examples
    --------
    >>> import pandas as pd
    >>> ad = pd.DataFrame({"words": [60.0, 80.0]})
    >>> hc = pd.DataFrame({"words": [140.0, 160.0]})
    >>> axis = StyleAxis.fit(ad, hc, markers=("words",))
    >>> axis.score({"words": 50.0}) > 0 > axis.score({"words": 170.0})
    True
    """

    model_config = ConfigDict(frozen=True)

    markers: tuple[str, ...] = STYLE_MARKERS
    mean_ad: dict[str, float]
    mean_hc: dict[str, float]
    scale: dict[str, float]

    @classmethod
    def fit(cls, ad_rows: Any, hc_rows: Any, markers: Sequence[str] = STYLE_MARKERS) -> StyleAxis:
        """From marker rows (DataFrames) of real AD and real HC texts."""
        missing = [m for m in markers if m not in ad_rows.columns]
        if missing or not markers:
            raise ValueError(
                f"style markers {missing or list(markers)} were not computed; choose from detect.markers.MARKERS"
            )
        if len(ad_rows) == 0 or len(hc_rows) == 0:
            raise ValueError("the style axis needs real transcripts of both labels (AD and HC)")
        mean_ad = {m: float(ad_rows[m].mean()) for m in markers}
        mean_hc = {m: float(hc_rows[m].mean()) for m in markers}
        scale = {}
        for m in markers:
            pooled = math.sqrt((float(ad_rows[m].var(ddof=0)) + float(hc_rows[m].var(ddof=0))) / 2)
            scale[m] = pooled if pooled > 1e-9 else 1.0
        return cls(markers=tuple(markers), mean_ad=mean_ad, mean_hc=mean_hc, scale=scale)

    @classmethod
    def from_transcripts(
        cls, transcripts: Sequence[Transcript], extractor: Any = None, markers: Sequence[str] = STYLE_MARKERS
    ) -> StyleAxis:
        """Fitted to the verbatim renderings of the labelled transcripts given."""
        by_style = {s: [real_verbatim(t) for t in transcripts if t.label == label] for s, label in STYLE_LABEL.items()}
        frame = verbatim_markers([*by_style["ad"], *by_style["hc"]], extractor)
        n_ad = len(by_style["ad"])
        return cls.fit(frame.iloc[:n_ad], frame.iloc[n_ad:], markers)

    def weights(self) -> dict[str, float]:
        """Standardised AD-minus-HC difference per marker, normalised to sum |w| = 1."""
        raw = {m: (self.mean_ad[m] - self.mean_hc[m]) / self.scale[m] for m in self.markers}
        total = sum(abs(v) for v in raw.values()) or 1.0
        return {m: v / total for m, v in raw.items()}

    def score(self, row: Mapping[str, float]) -> float:
        """Position on the axis: > 0 AD-like, < 0 HC-like (NaN when a marker is undefined)."""
        w = self.weights()
        mid = {m: (self.mean_ad[m] + self.mean_hc[m]) / 2 for m in self.markers}
        return sum(w[m] * (float(row[m]) - mid[m]) / self.scale[m] for m in self.markers)

    def toward(self, style: Style, chosen: Mapping[str, float], rejected: Mapping[str, float]) -> float:
        """How much further toward ``style`` the chosen text lies than the rejected one."""
        sign = 1.0 if style == "ad" else -1.0
        return sign * (self.score(chosen) - self.score(rejected))

    def distance(self, style: Style, row: Mapping[str, float]) -> float:
        """Root mean square distance from ``style``'s real class mean, marker by marker in pooled
        standard deviations (NaN when a marker is undefined): how typical of its class a text is,
        in every direction, where :meth:`side` says only how far toward it."""
        mean = self.mean_ad if style == "ad" else self.mean_hc
        return math.sqrt(
            sum(((float(row[m]) - mean[m]) / self.scale[m]) ** 2 for m in self.markers) / len(self.markers)
        )

    def side(self, style: Style, row: Mapping[str, float]) -> float:
        """How far onto ``style``'s side of the midpoint a text lies (negative: the other side)."""
        return self.score(row) if style == "ad" else -self.score(row)
