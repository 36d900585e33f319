"""Figures as SVG, drawn by matplotlib: reliability diagrams of the backtest and a forecast path.

matplotlib is imported inside the functions, so neither the API's start-up nor any other request
pays for it. Only the object-oriented API is used (no pyplot state), with the SVG backend and
a fixed hash salt and no date, so one input draws byte-identical SVG every time; a lock keeps
the rc settings of concurrent renders apart.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from typing import Any, Final

from schemas.forecast import BacktestReport, Forecast, Population

_LOCK = threading.Lock()
_RC: Final = {
    "svg.hashsalt": "parley",
    "svg.fonttype": "none",  # text stays text: smaller files, searchable labels
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
SERVED_COLOUR: Final = "#1f5fa8"
RULE_COLOUR: Final = "#b5651d"


def _svg(figure: Any) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return out.getvalue()


def reliability_svg(
    report: BacktestReport, population: Population = Population.LIVE, horizons: Sequence[int] | None = None
) -> bytes:
    """Reliability diagrams, one panel per horizon: mean forecast against observed rate per bin,
    for the served forecast and the recent-rate rule, with the counts behind each point."""
    import matplotlib
    from matplotlib.figure import Figure

    hs = list(horizons) if horizons else list(report.horizons)
    counts = {
        (s.forecaster, s.horizon): (s.forecasts, s.events, s.brier.value)
        for s in report.scores
        if s.population == population
    }
    with _LOCK, matplotlib.rc_context(_RC):
        figure = Figure(figsize=(2.6 * len(hs), 3.1), layout="constrained")
        axes = figure.subplots(1, len(hs), sharey=True, squeeze=False)[0]
        for ax, h in zip(axes, hs, strict=True):
            ax.plot([0, 1], [0, 1], color="0.75", linewidth=0.8, linestyle=":")
            for name, colour, label in (("served", SERVED_COLOUR, "served"), ("recent_rate", RULE_COLOUR, "rule")):
                bins = [
                    b for b in report.reliability if b.forecaster == name and b.population == population and b.horizon == h
                ]
                if not bins:
                    continue
                xs = [b.mean_forecast for b in bins]
                ys = [b.observed_rate for b in bins]
                sizes = [8 + 2.5 * b.forecasts for b in bins]
                brier = counts.get((name, h), (0, 0, None))[2]
                tag = f"{label} (Brier {brier:.3f})" if brier is not None else label
                ax.plot(xs, ys, color=colour, linewidth=1.0, alpha=0.8, marker="o", markersize=3, label=tag)
                ax.scatter(xs, ys, s=sizes, color=colour, alpha=0.45, edgecolors="none")
            n, events, _ = counts.get(("served", h), (0, 0, None))
            ax.set_title(f"H = {h} weeks\n{n} forecasts, {events} with a round", fontsize=8)
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.set_xlabel("mean forecast")
            ax.set_aspect("equal")
            ax.legend(loc="upper left", fontsize=7, frameon=False)
        axes[0].set_ylabel("observed share with a round")
        figure.suptitle(
            f"Reliability, {population.value} tracks, origins {report.first_origin} – {report.last_origin} "
            f"(run {report.run.run_id}); point area: forecasts in the bin",
            fontsize=9,
        )
        return _svg(figure)


def path_svg(forecast: Forecast) -> bytes:
    """The forecast path: P(next round by week k) for each k, its 10–90% band, and the rule."""
    import matplotlib
    from matplotlib.figure import Figure

    weeks = [h.weeks for h in forecast.horizons]
    with _LOCK, matplotlib.rc_context(_RC):
        figure = Figure(figsize=(6.4, 3.4), layout="constrained")
        ax = figure.subplots()
        ax.fill_between(
            weeks, [h.p10 for h in forecast.horizons], [h.p90 for h in forecast.horizons],
            color=SERVED_COLOUR, alpha=0.25, linewidth=0, label="10–90%",
        )  # fmt: skip
        ax.plot(weeks, [h.probability for h in forecast.horizons], color=SERVED_COLOUR, linewidth=1.6,
                label=f"served ({forecast.forecaster})")
        ax.plot(weeks, [h.recent_rate_rule for h in forecast.horizons], color=RULE_COLOUR, linewidth=1.0,
                linestyle="--", label="recent-rate rule")
        unobserved = [h.weeks for h in forecast.horizons if h.unobserved_weeks > 0]
        if unobserved:
            first = min(unobserved)
            ax.axvspan(first - 0.5, max(weeks) + 0.5, facecolor="none", edgecolor="0.8", hatch="///", zorder=0,
                       linewidth=0, label="beyond the observation windows")
        ax.set_xlim(min(weeks) - 0.5, max(weeks) + 0.5)
        ax.set_ylim(0, 1)
        ax.set_xlabel(f"weeks after the week of {forecast.as_of.isoformat()}")
        ax.set_ylabel("P(next round by then)")
        flags = f"\nflags: {', '.join(forecast.flags)}" if forecast.flags else ""
        ax.set_title(f"{forecast.track}, as of {forecast.as_of.isoformat()} ({forecast.model_id}){flags}", fontsize=8.5)
        ax.legend(loc="upper left", fontsize=7, frameon=False)
        return _svg(figure)
