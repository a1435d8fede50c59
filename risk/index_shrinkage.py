"""Empirical-Bayes shrinkage of an area's observed/expected escalation ratio toward its parent's.

Marshall (1991, "Mapping disease and mortality rates using empirical Bayes estimators") smooths a
rate ``O/E`` with a Gamma prior whose mean and variance are estimated by moments from the areas
themselves; his *local* variant takes the prior mean from the neighbours. Here the neighbour is
the parent area (a village shrinks toward its town, a town toward its county...), and the prior's
relative spread is estimated once per level and week from all areas of that level:

    theta_i ~ Gamma(shape = a, rate = a / m_i)        m_i = the parent's posterior mean
    1/a     = max(c2_min, (sum E_i (O_i/E_i - m_i)^2 / sum E_i  -  mbar / ebar) / mean_E(m_i^2))

(``mbar`` the E-weighted mean of ``m_i``, ``ebar`` the mean ``E_i``: Marshall's moment estimator,
the Poisson part of the spread removed; the sums run over the areas expecting at least a quarter of
the level's typical E, so that one escalation in a two-case village cannot inflate the spread). The posterior is Gamma(a + O_i, a / m_i + E_i): its mean is
the smoothed ratio and its quantiles the uncertainty band. An area with little expected (E small)
keeps its parent's ratio; one with much evidence keeps its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = ["GammaPosterior", "gamma_quantile", "prior_shape", "shrink_to_parent"]


@dataclass(frozen=True)
class GammaPosterior:
    """Posterior Gamma(shape, rate) of each area's ratio; arrays of one shape (areas x weeks)."""

    shape: np.ndarray
    rate: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        return self.shape / self.rate

    def quantile(self, q: float) -> np.ndarray:
        """The ``q`` quantile of each area's ratio.

        Examples
        --------
        >>> post = GammaPosterior(np.array([[4.0, 40.0]]), np.array([[4.0, 40.0]]))
        >>> post.mean.tolist(), np.round(post.quantile(0.05), 3).tolist()
        ([[1.0, 1.0]], [[0.342, 0.755]])
        """
        return gamma_quantile(q, self.shape) / self.rate


# Wilson-Hilferty's cube-root normal approximation is within 0.3% of the exact quantile from shape 5
# on (both tails) and ~60x faster: the index takes quantiles of millions of cells.
_EXACT_BELOW_SHAPE = 5.0
INFORMATIVE_SHARE = 0.25


def gamma_quantile(q: float, shape: np.ndarray) -> np.ndarray:
    """The ``q`` quantile of Gamma(shape, rate 1): exact below shape 5, Wilson-Hilferty above.

    Examples
    --------
    >>> np.round(gamma_quantile(0.95, np.array([1.0, 10.0])), 2)
    array([ 3. , 15.7])
    """
    shape = np.asarray(shape, dtype=float)
    z = float(special.ndtri(q))
    out = shape * np.maximum(1.0 - 1.0 / (9.0 * shape) + z / (3.0 * np.sqrt(shape)), 0.0) ** 3
    small = shape < _EXACT_BELOW_SHAPE
    out[small] = special.gammaincinv(shape[small], q)
    return out


def prior_shape(
    observed: np.ndarray, expected: np.ndarray, prior_mean: np.ndarray, *, min_cv2: float
) -> np.ndarray:
    """Marshall's moment estimate of the prior shape ``a`` per column (week), from the areas (rows)
    of one level; ``min_cv2`` bounds the relative prior variance ``1/a`` from below.

    Examples
    --------
    Ten areas, each with 20 expected; half observe 10, half 30 (ratios 0.5 and 1.5 around a parent
    at 1): the spread beyond Poisson noise gives a prior coefficient of variation of ~0.45.

    >>> O = np.array([[10.0]] * 5 + [[30.0]] * 5)
    >>> E = np.full((10, 1), 20.0)
    >>> a = prior_shape(O, E, np.ones((10, 1)), min_cv2=0.01)
    >>> round(float(1 / np.sqrt(a[0])), 2)
    0.45

    Areas that scatter no more than Poisson noise shrink (almost) fully: the floor applies.

    >>> prior_shape(np.full((4, 1), 20.0), E[:4], np.ones((4, 1)), min_cv2=0.01)
    array([100.])
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        positive = expected > 0
        typical = expected.sum(axis=0) / positive.sum(axis=0)
        # One chance event where almost nothing was expected, (O - mE)^2 / E with E -> 0, would swamp
        # the moments; such areas say little about the spread, so only areas expecting at least a
        # quarter of the typical area's count estimate it (all areas are shrunk by it).
        has = expected >= np.maximum(INFORMATIVE_SHARE * typical, np.finfo(float).tiny)
        e = np.where(has, expected, 0.0)
        weight = e.sum(axis=0)
        ratio = np.where(has, observed / np.where(has, expected, 1.0), 0.0)
        spread = (e * (ratio - prior_mean) ** 2).sum(axis=0) / weight
        mbar = (e * prior_mean).sum(axis=0) / weight
        ebar = weight / has.sum(axis=0)
        mean_m2 = (e * prior_mean**2).sum(axis=0) / weight
        cv2 = (spread - mbar / ebar) / mean_m2
    cv2 = np.where(np.isfinite(cv2), np.maximum(cv2, min_cv2), min_cv2)
    return 1.0 / cv2


def shrink_to_parent(
    observed: np.ndarray, expected: np.ndarray, prior_mean: np.ndarray, shape: np.ndarray
) -> GammaPosterior:
    """Posterior of each area's ratio given its counts and a Gamma(shape, shape / prior_mean) prior;
    ``shape`` is per column (week) as ``prior_shape`` gives it, or per cell.

    Examples
    --------
    A village with 2 expected and 1 observed keeps nearly its town's ratio 1.2; one with 40 expected
    and 80 observed moves most of the way to its own ratio 2.

    >>> post = shrink_to_parent(
    ...     np.array([[1.0], [80.0]]), np.array([[0.02], [40.0]]), np.array([[1.2], [1.2]]), np.array([10.0])
    ... )
    >>> np.round(post.mean[:, 0], 2)
    array([1.32, 1.86])
    """
    rate = shape / prior_mean
    return GammaPosterior(shape + observed, rate + expected)
