"""Discrete-time hazard logits of "a round starts this week", specified by a `HazardSpec`.

Two specifications are fitted (see `SPECS`):

- `rule_hazard`, the model: the recent-rate rule's weekly log-odds, logit((k + 0.5) / 27) for k
  weeks with a round in the last 26, as an offset, plus event terms (suspensions, exchanges,
  proposals, rejections, mediator activity) with no intercept and no centring. With no events
  it is exactly the rule; each term says how much an event moves the weekly odds away from it.
- `gap_logit`, a baseline: intercept + log(1 + weeks since the last round), unpenalised.

Estimator: statsmodels GLM Binomial (IRLS) on the risk set plus log-F(m, m) pseudo-rows
(Greenland & Mansournia 2015) for every penalised term: m/2 successes and m/2 failures of a row
whose only non-zero entry is a 1 in that term's column, which is a log-F(m, m) prior on its
coefficient centred on 0. m = 4 on a term scaled by max(training SD, 0.5) bounds a one-unit
effect at roughly ±2.5 on the log-odds scale (95% prior mass).

Terms need support: a term enters only if at least `MIN_SUPPORT` training events (weeks with a
round) have it non-zero; otherwise it is "not estimated" and contributes nothing.

Covariance: the penalised information matrix (the GLM's own `cov_params`) and a cluster-robust
sandwich by track. With a handful of tracks the sandwich has rank ≤ G − 1, too few to draw
from, so the covariance served is the model-based correlation matrix rescaled to the larger of
the two standard errors per term. Both standard errors are reported.

Fits are deterministic and cached per (specification, fingerprint of the training data).
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Final

import numpy as np
import statsmodels.api as sm
from numpy.typing import NDArray
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from forecasting.errors import NotEnoughDataError
from forecasting.features import COVARIATE_NAMES, COVARIATES, Design

FloatArray = NDArray[np.float64]

MODEL_VERSION: Final = "hazard-2.0.0"
PRIOR_M: Final = 4.0
SEED: Final = 20240601
DRAWS: Final = 2000
MIN_EVENTS: Final = 10
# A term needs this many training events (weeks with a round) in which it is non-zero; a decayed
# count is taken as non-zero from SUPPORT_FLOOR (one record within about 13 weeks), since it
# never returns to exactly 0.
MIN_SUPPORT: Final = 5
SUPPORT_FLOOR: Final = 0.1
# Penalised terms are scaled by max(training SD, this): about what one event's decayed count is
# worth a month later, and the SD of a 0/1 flag at its most variable.
SCALE_FLOOR: Final = 0.5
# Separation rule, on the standardised scale.
SEPARATION_BETA: Final = 8.0
SEPARATION_SE: Final = 10.0
_CACHE_SIZE: Final = 1024
RATE_COLUMN: Final = COVARIATE_NAMES.index("recent_rate_logit")


@dataclass(frozen=True)
class HazardSpec:
    """Which covariates enter, and how."""

    name: str
    terms: tuple[str, ...]
    intercept: bool
    rule_offset: bool  # the recent-rate rule's weekly log-odds as an offset
    centred: bool  # terms centred on their training means (else 0 means "no event")
    penalised: bool  # log-F(m, m) pseudo-rows on every term but the intercept

    @property
    def text(self) -> str:
        return (
            f"{MODEL_VERSION}/{self.name}; logit; terms {','.join(self.terms)}; intercept {self.intercept}; "
            f"rule offset {self.rule_offset}; centred {self.centred}; "
            f"log-F({PRIOR_M:g},{PRIOR_M:g}) {self.penalised}; support {MIN_SUPPORT} at {SUPPORT_FLOOR}; "
            f"scale floor {SCALE_FLOOR}"
        )


EVENT_TERMS: Final = (
    "suspended",
    "exchanges_executed",
    "exchanges_pending",
    "leader_proposals",
    "rejections",
    "mediator_statements",
)
RULE_HAZARD: Final = HazardSpec(
    "rule_hazard", EVENT_TERMS, intercept=False, rule_offset=True, centred=False, penalised=True
)
RATE_POSTERIOR: Final = HazardSpec(
    "rate_posterior", (), intercept=False, rule_offset=True, centred=False, penalised=True
)
GAP_LOGIT: Final = HazardSpec(
    "gap_logit", ("log_weeks_since_round",), intercept=True, rule_offset=False, centred=True, penalised=False
)
SPECS: Final = {s.name: s for s in (RULE_HAZARD, RATE_POSTERIOR, GAP_LOGIT)}


@dataclass(frozen=True)
class Term:
    """One column of the model matrix."""

    name: str  # e.g. "suspended"
    source: int  # index into COVARIATES; -1 for the intercept
    kind: str  # "intercept" | "value"
    penalised: bool
    mean: float  # what the term is centred on (0 when the spec does not centre)
    scale: float  # training SD; penalised terms: at least SCALE_FLOOR
    low: float  # training range, for the extrapolation flag
    high: float


@dataclass(frozen=True)
class Dropped:
    term: str
    reason: str


@dataclass(frozen=True, eq=False)
class HazardFit:
    spec: HazardSpec
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
    support: dict[str, int] = field(default_factory=dict)

    @property
    def model_id(self) -> str:
        return f"{MODEL_VERSION}/{self.spec.name}+{self.fingerprint[:16]}"

    @property
    def se(self) -> FloatArray:
        return np.sqrt(np.diag(self.cov))

    def matrix(self, x_raw: FloatArray) -> FloatArray:
        return model_matrix(self.terms, x_raw)

    def offset(self, x_raw: FloatArray) -> FloatArray:
        return x_raw[:, RATE_COLUMN] if self.spec.rule_offset else np.zeros(x_raw.shape[0])

    def linear_predictor(self, x_raw: FloatArray) -> FloatArray:
        return self.matrix(x_raw) @ self.beta + self.offset(x_raw)

    @cached_property
    def draws(self) -> FloatArray:
        """DRAWS coefficient vectors from N(β̂, cov); the same for every call (fixed seed)."""
        if self.beta.size == 0:
            return np.zeros((DRAWS, 0))
        rng = np.random.default_rng(SEED)
        return rng.multivariate_normal(self.beta, self.cov, size=DRAWS, method="eigh")


def model_matrix(terms: tuple[Term, ...], x_raw: FloatArray) -> FloatArray:
    """Raw covariates -> the model matrix (intercept first when there is one)."""
    cols: list[FloatArray] = []
    for term in terms:
        if term.kind == "intercept":
            cols.append(np.ones(x_raw.shape[0]))
        else:
            cols.append((np.nan_to_num(x_raw[:, term.source]) - term.mean) / term.scale)
    return np.column_stack(cols) if cols else np.zeros((x_raw.shape[0], 0))


def fingerprint(design: Design, spec: HazardSpec) -> str:
    """sha256 of the specification and the canonical training data: tracks, weeks, outcomes,
    raw covariates."""
    h = hashlib.sha256()
    h.update(spec.text.encode())
    h.update("\x1f".join(design.tracks).encode())
    h.update("\x1f".join(design.coverage).encode())
    h.update(np.ascontiguousarray(design.track_code, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(design.week, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(design.y, dtype="<f8").tobytes())
    nan = np.isnan(design.x)
    # NaN payloads vary; hash the mask and a canonical fill instead.
    h.update(np.packbits(nan).tobytes())
    # The covariates come from integer counts through numpy's log/exp, whose SIMD kernels differ
    # in the last bit between CPUs (AVX-512 or not): hashed at float32 precision, equal records
    # give equal ids on every machine, while distinct counts stay far apart at that precision.
    h.update(np.ascontiguousarray(np.where(nan, 0.0, design.x), dtype="<f4").tobytes())
    return h.hexdigest()


def _terms(design: Design, spec: HazardSpec) -> tuple[list[Term], list[Dropped], dict[str, int]]:
    terms: list[Term] = []
    if spec.intercept:
        terms.append(Term("intercept", -1, "intercept", False, 0.0, 1.0, 1.0, 1.0))
    dropped: list[Dropped] = []
    support: dict[str, int] = {}
    events = design.y == 1.0
    for name in spec.terms:
        j = COVARIATE_NAMES.index(name)
        raw = np.nan_to_num(design.x[:, j])
        n = int(((np.abs(raw) >= SUPPORT_FLOOR) & events).sum())
        support[name] = n
        if n < MIN_SUPPORT:
            dropped.append(
                Dropped(name, f"not estimated: {n} training events with it non-zero, {MIN_SUPPORT} needed")
            )  # its value still shows, with no contribution and no share of the interval
            continue
        sd = float(raw.std())
        if sd < 1e-9:
            dropped.append(Dropped(name, "not estimated: constant in the training window"))
            continue
        penalised = spec.penalised and COVARIATES[j].penalised
        terms.append(
            Term(
                name,
                j,
                "value",
                penalised,
                float(raw.mean()) if spec.centred else 0.0,
                max(sd, SCALE_FLOOR) if penalised else sd,
                float(raw.min()),
                float(raw.max()),
            )
        )
    return terms, dropped, support


def _cluster_se(
    z: FloatArray, y: FloatArray, mu: FloatArray, groups: NDArray[np.int64], bread: FloatArray
) -> FloatArray | None:
    """Cluster-robust SEs: bread = inverse penalised information; scores from data rows only
    (the pseudo-rows are a prior, not observations). CR1 small-sample factor as statsmodels."""
    labels = np.unique(groups)
    g = labels.size
    if g < 2 or z.shape[1] == 0:
        return None
    scores = z * (y - mu)[:, None]
    sums = np.vstack([scores[groups == lab].sum(axis=0) for lab in labels])
    n, k = z.shape
    factor = g / (g - 1) * (n - 1) / max(n - k, 1)
    cov = bread @ (sums.T @ sums) @ bread * factor
    return np.sqrt(np.clip(np.diag(cov), 0.0, None))


def fit_design(design: Design, spec: HazardSpec = RULE_HAZARD, *, fp: str | None = None) -> HazardFit:
    """Fit (uncached). Raises NotEnoughDataError below MIN_EVENTS events."""
    if design.events < MIN_EVENTS:
        raise NotEnoughDataError(
            f"{design.events} resumptions known by {design.as_of.isoformat()}; the model needs {MIN_EVENTS}"
        )
    terms, dropped, support = _terms(design, spec)
    z = model_matrix(tuple(terms), design.x)
    offset = design.x[:, RATE_COLUMN] if spec.rule_offset else np.zeros(design.rows)
    k = z.shape[1]
    beta = np.zeros(0)
    cov_model = np.zeros((0, 0))
    converged, flagged = True, False
    if k:
        pen = [i for i, t in enumerate(terms) if t.penalised]
        # log-F(m, m) pseudo-rows: one success and one failure of weight m/2 per penalised term.
        pseudo = np.zeros((2 * len(pen), k))
        for r, i in enumerate(pen):
            pseudo[2 * r, i] = pseudo[2 * r + 1, i] = 1.0
        exog = np.vstack([z, pseudo])
        endog = np.concatenate([design.y, np.tile([1.0, 0.0], len(pen))])
        weights = np.concatenate([np.ones(design.rows), np.full(2 * len(pen), PRIOR_M / 2.0)])
        offsets = np.concatenate([offset, np.zeros(2 * len(pen))])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = sm.GLM(endog, exog, family=sm.families.Binomial(), freq_weights=weights, offset=offsets)
            res = model.fit(method="IRLS", maxiter=100, tol=1e-10)
        flagged = any(issubclass(w.category, PerfectSeparationWarning) for w in caught)
        converged = bool(getattr(res, "converged", True)) and not any(
            issubclass(w.category, ConvergenceWarning) for w in caught
        )
        beta = np.asarray(res.params, np.float64)
        cov_model = np.asarray(res.cov_params(), np.float64)
    se_model = np.sqrt(np.clip(np.diag(cov_model), 0.0, None))
    mu = 1.0 / (1.0 + np.exp(-(z @ beta + offset)))
    se_cluster = _cluster_se(z, design.y, mu, design.track_code, cov_model) if k else None

    se = se_model if se_cluster is None else np.maximum(se_model, se_cluster)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov_model / np.outer(se_model, se_model)
    cov = np.nan_to_num(corr) * np.outer(se, se)

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
        spec=spec,
        fingerprint=fp if fp is not None else fingerprint(design, spec),
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
        support=support,
    )


_CACHE: OrderedDict[str, HazardFit] = OrderedDict()
_LOCK = threading.Lock()


def fit_cached(design: Design, spec: HazardSpec = RULE_HAZARD) -> HazardFit:
    """`fit_design`, cached per (specification, fingerprint) in an in-process LRU."""
    key = fingerprint(design, spec)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    fit = fit_design(design, spec, fp=key)
    with _LOCK:
        _CACHE[key] = fit
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return fit


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()
