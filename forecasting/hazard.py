"""The discrete-time hazard model: a penalised logit of "a round starts this week".

Estimator: statsmodels GLM Binomial (IRLS) on the risk set plus log-F(m, m) pseudo-rows
(Greenland & Mansournia 2015): for every penalised term j, m/2 successes and m/2 failures of a
row whose only non-zero entry is a 1 in column j. That is exactly a log-F(m, m) prior on β_j,
centred on 0; the intercept and the duration terms get no rows, so they are unpenalised.
m = 4 on standardised covariates bounds a one-unit effect at roughly ±2.5 on the log-odds
scale (95% prior mass) — wide enough not to matter for a strong signal, tight enough to keep
the few events from producing infinite estimates. It was fixed before any backtest was run.
Penalised terms are scaled by max(training SD, 0.5), so that a rare covariate's prior is not
stated per a minuscule SD (see `_scale`).

Covariance: the penalised information matrix (the GLM's own `cov_params`) and a cluster-robust
sandwich by track. With a handful of tracks the sandwich has rank ≤ G − 1, too few to draw
from, so the covariance served is the model-based correlation matrix rescaled to the larger of
the two standard errors per term. Both standard errors are reported.

Fits are deterministic and cached per fingerprint (sha256 of the canonical training data).
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Final

import numpy as np
import statsmodels.api as sm
from numpy.typing import NDArray
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from forecasting.errors import NotEnoughDataError
from forecasting.features import COVARIATES, Design

FloatArray = NDArray[np.float64]

MODEL_VERSION: Final = "hazard-1.0.0"
PRIOR_M: Final = 4.0
SEED: Final = 20240601
DRAWS: Final = 2000
MIN_EVENTS: Final = 10
# Penalised terms are scaled by max(training SD, this): about what one event's decayed count is
# worth a month later, and the SD of a 0/1 flag at its most variable.
SCALE_FLOOR: Final = 0.5
# Separation rule from the spec, on the standardised scale.
SEPARATION_BETA: Final = 8.0
SEPARATION_SE: Final = 10.0
_CACHE_SIZE: Final = 512

SPEC_TEXT: Final = (
    f"{MODEL_VERSION}; logit; log-F({PRIOR_M:g},{PRIOR_M:g}) pseudo-rows on penalised terms; "
    f"covariates {','.join(c.name for c in COVARIATES)}; decay half-life 4 weeks; scale floor 0.5"
)


@dataclass(frozen=True)
class Term:
    """One column of the model matrix."""

    name: str  # e.g. "meet_again" or "meet_again_missing"
    source: int  # index into COVARIATES; -1 for the intercept
    kind: str  # "intercept" | "value" | "missing"
    penalised: bool
    mean: float
    scale: float  # training SD; penalised terms: at least SCALE_FLOOR (see _scale)
    fill: float  # the neutral value a missing raw value is replaced by (the training mean)


@dataclass(frozen=True)
class Dropped:
    term: str
    reason: str


@dataclass(frozen=True, eq=False)
class HazardFit:
    fingerprint: str
    terms: tuple[Term, ...]
    dropped: tuple[Dropped, ...]
    beta: FloatArray
    cov: FloatArray  # served: model correlations, max(model, cluster) standard errors
    se_model: FloatArray
    se_cluster: FloatArray | None
    rows: int
    events: int
    clusters: int
    converged: bool
    separated: tuple[str, ...]
    missing_rows: dict[str, int] = field(default_factory=dict)

    @property
    def model_id(self) -> str:
        return f"{MODEL_VERSION}+{self.fingerprint[:16]}"

    @property
    def se(self) -> FloatArray:
        return np.sqrt(np.diag(self.cov))

    def matrix(self, x_raw: FloatArray) -> FloatArray:
        return model_matrix(self.terms, x_raw)

    def linear_predictor(self, x_raw: FloatArray) -> FloatArray:
        return self.matrix(x_raw) @ self.beta

    @cached_property
    def draws(self) -> FloatArray:
        """DRAWS coefficient vectors from N(β̂, cov); the same for every call (fixed seed)."""
        rng = np.random.default_rng(SEED)
        return rng.multivariate_normal(self.beta, self.cov, size=DRAWS, method="eigh")


def model_matrix(terms: Sequence[Term], x_raw: FloatArray) -> FloatArray:
    """Raw covariates (NaN = missing) -> standardised model matrix, intercept first."""
    cols: list[FloatArray] = []
    for term in terms:
        if term.kind == "intercept":
            cols.append(np.ones(x_raw.shape[0]))
            continue
        raw = x_raw[:, term.source]
        missing = np.isnan(raw)
        v = missing.astype(np.float64) if term.kind == "missing" else np.where(missing, term.fill, raw)
        cols.append((v - term.mean) / term.scale)
    return np.column_stack(cols)


def fingerprint(design: Design) -> str:
    """sha256 of the canonical training data: spec, tracks, weeks, outcomes, raw covariates."""
    h = hashlib.sha256()
    h.update(SPEC_TEXT.encode())
    h.update("\x1f".join(design.tracks).encode())
    h.update("\x1f".join(design.coverage).encode())
    h.update(np.ascontiguousarray(design.track_code, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(design.week, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(design.y, dtype="<f8").tobytes())
    nan = np.isnan(design.x)
    # NaN payloads vary; hash the mask and a canonical fill instead.
    h.update(np.packbits(nan).tobytes())
    h.update(np.ascontiguousarray(np.where(nan, 0.0, design.x), dtype="<f8").tobytes())
    return h.hexdigest()


def _scale(sd: float, penalised: bool) -> float:
    """The unit a penalised coefficient's prior is stated in: the training SD, but at least
    SCALE_FLOOR. A covariate that is nearly always 0 (one rejection in a thousand weeks) has a
    tiny SD, and a prior of ±2.5 per SD would then allow ±60 log-odds per event."""
    return max(sd, SCALE_FLOOR) if penalised else sd


def _terms(design: Design) -> tuple[list[Term], list[Dropped], dict[str, int]]:
    x = design.x
    terms = [Term("intercept", -1, "intercept", False, 0.0, 1.0, 0.0)]
    dropped: list[Dropped] = []
    missing_rows: dict[str, int] = {}
    for j, spec in enumerate(COVARIATES):
        raw = x[:, j]
        missing = np.isnan(raw)
        if spec.nullable:
            missing_rows[spec.name] = int(missing.sum())
        present = raw[~missing]
        if present.size == 0:
            dropped.append(Dropped(spec.name, "no data in the training window"))
            if spec.nullable:
                dropped.append(Dropped(f"{spec.name}_missing", "always missing in the training window"))
            continue
        fill = float(present.mean())
        value = np.where(missing, fill, raw)
        sd = float(value.std())
        if sd < 1e-9:
            dropped.append(Dropped(spec.name, "constant in the training window"))
        else:
            terms.append(
                Term(
                    spec.name,
                    j,
                    "value",
                    spec.penalised,
                    float(value.mean()),
                    _scale(sd, spec.penalised),
                    fill,
                )
            )
        if spec.nullable:
            m = missing.astype(np.float64)
            msd = float(m.std())
            if msd < 1e-9:
                reason = "never missing" if not missing.any() else "always missing"
                dropped.append(Dropped(f"{spec.name}_missing", f"{reason} in the training window"))
            else:
                # The indicator is penalised like its covariate: it is not a duration term.
                terms.append(
                    Term(
                        f"{spec.name}_missing",
                        j,
                        "missing",
                        spec.penalised,
                        float(m.mean()),
                        _scale(msd, spec.penalised),
                        0.0,
                    )
                )
    return terms, dropped, missing_rows


def _cluster_se(
    z: FloatArray, y: FloatArray, mu: FloatArray, groups: NDArray[np.int64], bread: FloatArray
) -> FloatArray | None:
    """Cluster-robust SEs: bread = inverse penalised information; scores from data rows only
    (the pseudo-rows are a prior, not observations). CR1 small-sample factor as statsmodels."""
    labels = np.unique(groups)
    g = labels.size
    if g < 2:
        return None
    scores = z * (y - mu)[:, None]
    sums = np.vstack([scores[groups == lab].sum(axis=0) for lab in labels])
    n, k = z.shape
    factor = g / (g - 1) * (n - 1) / max(n - k, 1)
    cov = bread @ (sums.T @ sums) @ bread * factor
    return np.sqrt(np.clip(np.diag(cov), 0.0, None))


def fit_design(design: Design, *, prior_m: float = PRIOR_M, fp: str | None = None) -> HazardFit:
    """Fit (uncached). Raises NotEnoughDataError below MIN_EVENTS events."""
    if design.events < MIN_EVENTS:
        raise NotEnoughDataError(
            f"{design.events} resumptions known by {design.as_of.isoformat()}; the model needs {MIN_EVENTS}"
        )
    terms, dropped, missing_rows = _terms(design)
    z = model_matrix(terms, design.x)
    k = z.shape[1]
    pen = [i for i, t in enumerate(terms) if t.penalised]
    # log-F(m, m) pseudo-rows: one success and one failure of weight m/2 per penalised term.
    pseudo = np.zeros((2 * len(pen), k))
    for r, i in enumerate(pen):
        pseudo[2 * r, i] = pseudo[2 * r + 1, i] = 1.0
    exog = np.vstack([z, pseudo])
    endog = np.concatenate([design.y, np.tile([1.0, 0.0], len(pen))])
    weights = np.concatenate([np.ones(design.rows), np.full(2 * len(pen), prior_m / 2.0)])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = sm.GLM(endog, exog, family=sm.families.Binomial(), freq_weights=weights)
        res = model.fit(method="IRLS", maxiter=100, tol=1e-10)
    flagged = any(issubclass(w.category, PerfectSeparationWarning) for w in caught)
    converged = bool(getattr(res, "converged", True)) and not any(
        issubclass(w.category, ConvergenceWarning) for w in caught
    )
    beta = np.asarray(res.params, np.float64)
    cov_model = np.asarray(res.cov_params(), np.float64)
    se_model = np.sqrt(np.clip(np.diag(cov_model), 0.0, None))
    mu = 1.0 / (1.0 + np.exp(-(z @ beta)))
    se_cluster = _cluster_se(z, design.y, mu, design.track_code, cov_model)

    se = se_model if se_cluster is None else np.maximum(se_model, se_cluster)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov_model / np.outer(se_model, se_model)
    corr = np.nan_to_num(corr)
    cov = corr * np.outer(se, se)

    separated = [
        t.name
        for t, b, s in zip(terms, beta, se, strict=True)
        if abs(b) > SEPARATION_BETA or s > SEPARATION_SE or not np.isfinite(b) or not np.isfinite(s)
    ]
    if flagged and not separated:
        separated = ["(perfect prediction)"]
    for arr in (beta, cov, se_model):
        arr.setflags(write=False)
    return HazardFit(
        fingerprint=fp if fp is not None else fingerprint(design),
        terms=tuple(terms),
        dropped=tuple(dropped),
        beta=beta,
        cov=cov,
        se_model=se_model,
        se_cluster=se_cluster,
        rows=design.rows,
        events=design.events,
        clusters=int(np.unique(design.track_code).size),
        converged=converged,
        separated=tuple(separated),
        missing_rows=missing_rows,
    )


_CACHE: OrderedDict[str, HazardFit] = OrderedDict()
_LOCK = threading.Lock()


def fit_cached(design: Design) -> HazardFit:
    """`fit_design`, cached per fingerprint (an in-process LRU)."""
    key = fingerprint(design)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    fit = fit_design(design, fp=key)
    with _LOCK:
        _CACHE[key] = fit
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return fit


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()
