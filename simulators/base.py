"""The Dataset contract and the Simulator plugin base.

Convention everywhere in dagbench: ``g[i, j] = 1`` means the edge i -> j.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dagbench.io import (CorruptFileError, atomic_write_json, atomic_write_npz, read_json, read_npz,
                         remake_hint)
from dagbench.plugins import Plugin, discover, find


#: Training data in which some column is a linear function of the others up to this
#: fraction of its variance (1 - R^2 < COLLINEAR_TOL, intercept included) is degenerate:
#: exactly collinear, duplicated or constant columns, to the precision data are written
#: with. ``Dataset.problems`` refuses it; the held-out likelihood's least-squares refit
#: uses the same number (``evaluation.likelihood.DEGENERATE_FRACTION``).
COLLINEAR_TOL = 1e-10


class DataError(ValueError):
    """A dataset is malformed; the message names the dataset and what is wrong."""


@dataclass
class Dataset:
    """What a simulator returns and every method receives.

    Fields:
        x: [n, d] float64 training data.
        x_heldout: [m, d] float64 held-out rows from the same model.
        g_true: [d, d] int8 true DAG, ``g_true[i, j] = 1`` means i -> j.
        interv_mask: [n, d] bool, True where that row's node was intervened on
            (all False for observational data).
        interv_mask_heldout: [m, d] bool, the same for the held-out rows.
        node_names: d names.
        params_true: true parameters where they exist, e.g. ``weights`` [d, d]
            (``weights[i, j]`` is the coefficient of x_i in x_j's equation) and
            ``noise_scale`` [d]; in the scale of ``x`` (after standardisation).
        meta: simulator name, its parameters, seed, library versions.
    """

    x: np.ndarray
    x_heldout: np.ndarray
    g_true: np.ndarray
    interv_mask: np.ndarray | None = None
    interv_mask_heldout: np.ndarray | None = None
    node_names: list[str] | None = None
    params_true: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        self.x = np.asarray(self.x, dtype=np.float64)
        self.x_heldout = np.asarray(self.x_heldout, dtype=np.float64)
        self.g_true = np.asarray(self.g_true, dtype=np.int8)
        if self.interv_mask is None:
            self.interv_mask = np.zeros(self.x.shape, dtype=bool)
        if self.interv_mask_heldout is None:
            self.interv_mask_heldout = np.zeros(self.x_heldout.shape, dtype=bool)
        self.interv_mask = np.asarray(self.interv_mask, dtype=bool)
        self.interv_mask_heldout = np.asarray(self.interv_mask_heldout, dtype=bool)
        if self.node_names is None:
            self.node_names = [f"X{i}" for i in range(self.x.shape[1])]
        self.node_names = [str(s) for s in self.node_names]

    @property
    def n(self) -> int:
        return self.x.shape[0]

    @property
    def d(self) -> int:
        return self.x.shape[1]

    @property
    def is_interventional(self) -> bool:
        return bool(self.interv_mask.any())

    def observational_only(self) -> "Dataset":
        """This dataset with only its training rows that have no intervention (the
        held-out rows, truth and metadata unchanged)."""
        keep = ~self.interv_mask.any(axis=1)  # [n]
        return Dataset(x=self.x[keep], x_heldout=self.x_heldout, g_true=self.g_true,
                       interv_mask=self.interv_mask[keep], interv_mask_heldout=self.interv_mask_heldout,
                       node_names=self.node_names, params_true=self.params_true, meta=self.meta)

    def problems(self) -> list[str]:
        """Every way this dataset breaks the contract (empty when it is valid)."""
        out = []
        if self.x.ndim != 2:
            return [f"x must be 2-D [n, d], got shape {self.x.shape}"]
        n, d = self.x.shape
        if self.x_heldout.ndim != 2 or self.x_heldout.shape[1] != d:
            out.append(f"x_heldout has shape {self.x_heldout.shape}, expected [m, {d}]")
        if self.g_true.shape != (d, d):
            out.append(f"g_true has shape {self.g_true.shape} but the data has d = {d} columns")
        elif not ((self.g_true == 0) | (self.g_true == 1)).all():  # (np.unique would load numpy.ma)
            out.append("g_true has entries other than 0 and 1")
        elif np.diag(self.g_true).any():
            out.append("g_true has self-loops")
        if self.interv_mask.shape != self.x.shape:
            out.append(f"interv_mask has shape {self.interv_mask.shape}, expected {self.x.shape}")
        if self.interv_mask_heldout.shape != self.x_heldout.shape:
            out.append(f"interv_mask_heldout has shape {self.interv_mask_heldout.shape}, "
                       f"expected {self.x_heldout.shape}")
        if len(self.node_names) != d:
            out.append(f"{len(self.node_names)} node names for d = {d} columns")
        elif len(set(self.node_names)) != d:
            out.append("node names are not unique")
        for key, arr in (("x", self.x), ("x_heldout", self.x_heldout)):
            bad = ~np.isfinite(arr)
            if bad.any():
                cols = sorted({self.node_names[j] if j < len(self.node_names) else str(j)
                               for j in np.nonzero(bad)[1]})
                out.append(f"{key} has {int(bad.sum())} non-finite values (columns {', '.join(cols[:5])})")
        if n < 2:
            out.append(f"x has {n} rows; at least 2 are needed")
        elif not out:
            out += degenerate_columns(self.x, self.node_names)
        return out

    def save(self, path: str | Path) -> None:
        """Write ``path`` (.npz, arrays) and ``path`` with suffix .json (metadata and the
        .npz's SHA-256, which ``load`` checks), atomically, the .npz first."""
        path = Path(path)
        arrays = {"x": self.x, "x_heldout": self.x_heldout, "g_true": self.g_true,
                  "interv_mask": self.interv_mask, "interv_mask_heldout": self.interv_mask_heldout}
        arrays.update({f"params_true.{k}": np.asarray(v) for k, v in self.params_true.items()})
        sha256 = atomic_write_npz(path, arrays)
        atomic_write_json(path.with_suffix(".json"), {"node_names": self.node_names, "meta": self.meta,
                                                      "sha256": sha256})

    @classmethod
    def load(cls, path: str | Path) -> "Dataset":
        """The dataset saved at ``path``. Raises DataError with the recorded reason when
        the simulate step recorded there that this dataset could not be made, and
        CorruptFileError (dagbench.io) naming the file and how to remake it when the
        .npz or its .json sidecar is missing, truncated or damaged (the .npz is checked
        against the SHA-256 in the sidecar)."""
        path = Path(path)
        sidecar_path = path.with_suffix(".json")
        if not sidecar_path.exists() and path.exists():  # a failure's marker .npz without its sidecar
            arrays = read_npz(path, remake=remake_hint(path))
            if "data_error" in arrays:
                raise DataError(str(arrays["data_error"]))
        sidecar = _read_sidecar(path)
        if sidecar.get("status") == "data_error":
            raise DataError(_failure_reason(sidecar))
        arrays = read_npz(path, sha256=sidecar.get("sha256"), remake=remake_hint(path))
        try:
            params_true = {k.split(".", 1)[1]: arrays.pop(k) for k in list(arrays)
                           if k.startswith("params_true.")}
            return cls(**arrays, params_true=params_true, node_names=sidecar["node_names"],
                       meta=sidecar["meta"])
        except (KeyError, TypeError) as exc:  # a file that is whole but not a dataset's
            raise CorruptFileError(f"{path} (with {sidecar_path}) is not a dataset as Dataset.save writes "
                                   f"it ({type(exc).__name__}: {exc}); {remake_hint(path)}") from None


def _read_sidecar(path: Path) -> dict:
    """The .json sidecar of the dataset ``path`` (.npz), verified: CorruptFileError when it
    is missing, damaged or not a mapping."""
    sidecar_path = path.with_suffix(".json")
    sidecar = read_json(sidecar_path, remake=remake_hint(path))
    if not isinstance(sidecar, dict):
        raise CorruptFileError(f"{sidecar_path} is damaged (not a JSON object); {remake_hint(path)}")
    return sidecar


def _failure_reason(sidecar: dict) -> str:
    return str(sidecar.get("reason") or "the dataset could not be made (no reason recorded)")


def dataset_failure(path: str | Path) -> str | None:
    """The recorded reason when the dataset at ``path`` (.npz; its .json sidecar is read)
    could not be made (sidecar status ``data_error``, written by the simulate step), else
    None; None too when there is no sidecar. A damaged sidecar raises CorruptFileError."""
    path = Path(path)
    if not path.with_suffix(".json").exists():
        return None
    sidecar = _read_sidecar(path)
    if sidecar.get("status") == "data_error":
        return _failure_reason(sidecar)
    return None


def _surely_full_rank(u: np.ndarray) -> bool:
    """Whether the smallest eigenvalue of U^T U (the squared smallest singular value of
    the [n, d] unit-norm columns ``u``) is above 10 x COLLINEAR_TOL: then no pivot of
    the QR of ``degenerate_columns`` can fall below the tolerance. (Its rounding error,
    about d x 1e-16, is far below the margin.)"""
    return bool(np.linalg.eigvalsh(u.T @ u)[0] > 10 * COLLINEAR_TOL)


def _pivoted_qr(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, pivots) of the column-pivoted QR of ``u`` (LAPACK geqp3, through scipy)."""
    import scipy.linalg

    _, r, piv = scipy.linalg.qr(u, mode="economic", pivoting=True)
    return r, piv


def degenerate_columns(x: np.ndarray, names: list[str]) -> list[str]:
    """Problems of [n, d] training rows that make them a data problem, not a method's:
    constant columns, and columns that are linear functions of others (collinear or
    duplicated), each message naming the columns.

    A column counts as a linear function of others when they explain all but
    ``COLLINEAR_TOL`` (1e-10) of its variance (1 - R^2 < 1e-10, with an intercept, so
    shifted and rescaled copies count too). Found by a column-pivoted QR of the centred,
    unit-norm columns (``scipy.linalg.qr``, LAPACK's rank-revealing geqp3): once the
    largest remaining residual is below the tolerance, every remaining column is such a
    function of the columns already chosen, and its coefficients are reported. With
    n - 1 <= d the rows cannot have full rank whatever the variables are, so then only
    pairs (a column and a rescaled or shifted copy of another) are checked.

    The QR runs only when it can find something: every pivot's residual |r_kk| is at
    least the smallest singular value of the unit-norm columns (the distance of a column
    from the span of others is |U y| for some y with a 1 in it), so when the smallest
    eigenvalue of U^T U is above 10 x ``COLLINEAR_TOL`` no column is below the
    tolerance, and the answer (none) is known without the QR, and without importing
    scipy, a tenth of a second of every job that checks a dataset.
    """
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    const = [j for j in range(d) if np.ptp(x[:, j]) == 0]
    out = [f"constant columns: {', '.join(names[j] for j in const)}"] if const else []
    keep = [j for j in range(d) if j not in const]
    xc = x[:, keep] - x[:, keep].mean(axis=0)                  # [n, d'] centred
    norms = np.linalg.norm(xc, axis=0)
    if len(keep) < 2:
        return out
    u = xc / norms                                             # unit-norm columns
    found: list[tuple[int, list[int]]] = []                    # (column, the columns explaining it)
    if n - 1 > len(keep) and _surely_full_rank(u):
        pass  # full rank with room to spare: no column is a linear function of others
    elif n - 1 > len(keep):
        r, piv = _pivoted_qr(u)
        resid2 = np.abs(np.diag(r)) ** 2                       # 1 - R^2 of each pivot given the earlier ones
        rank = int(np.sum(resid2 >= COLLINEAR_TOL))
        found = [(int(piv[k]), sorted(int(i) for i in piv[:rank])) for k in range(rank, len(keep))]
    else:
        corr = u.T @ u                                          # [d', d'] correlations
        for b in range(len(keep)):
            for a in range(b):
                if 1 - corr[a, b] ** 2 < COLLINEAR_TOL and all(b != f for f, _ in found):
                    found.append((b, [a]))
    if found:
        terms = []
        for col, basis in found:
            coef, *_ = np.linalg.lstsq(xc[:, basis], xc[:, col], rcond=None)
            mean = x[:, keep].mean(axis=0)
            shift = mean[col] - float(coef @ mean[basis])
            big = [(c, names[keep[i]]) for c, i in zip(coef, basis) if abs(c) * norms[i] > 1e-6 * norms[col]]
            rhs = " + ".join(name if abs(c - 1) < 1e-6 else f"{c:.4g}·{name}" for c, name in big) or "0"
            if abs(shift) > 1e-6 * (np.abs(mean[col]) + norms[col] / np.sqrt(n)):
                rhs += f" {'+' if shift > 0 else '-'} {abs(shift):.4g}"
            terms.append(f"{names[keep[col]]} = {rhs}")
        out.append("collinear columns on the training rows (each a linear function of others, "
                   f"1 - R² < {COLLINEAR_TOL:g}): " + "; ".join(terms)
                   + ". Drop or merge them: no structure between them can be learned")
    return out


def standardise(ds: Dataset) -> Dataset:
    """Scale every column to mean 0, variance 1 using the training rows' statistics
    (observational rows only, when there are any), and apply the same map to the
    held-out rows and to the true linear parameters, so that variance ordering carries
    no information about the causal order."""
    obs = ~ds.interv_mask.any(axis=1)
    ref = ds.x[obs] if obs.sum() >= 2 else ds.x
    mean = ref.mean(axis=0)
    std = ref.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    params = dict(ds.params_true)
    if "weights" in params:  # x_j = sum_i w_ij x_i + e_j  ->  z_j = sum_i w_ij s_i / s_j z_i + e_j / s_j
        params["weights"] = params["weights"] * std[:, None] / std[None, :]
    if "noise_scale" in params:
        params["noise_scale"] = params["noise_scale"] / std
    return Dataset(x=(ds.x - mean) / std, x_heldout=(ds.x_heldout - mean) / std, g_true=ds.g_true,
                   interv_mask=ds.interv_mask, interv_mask_heldout=ds.interv_mask_heldout,
                   node_names=ds.node_names, params_true=params,
                   meta={**ds.meta, "standardised": True})


def size_problems(p: dict[str, Any]) -> list[str]:
    """Range checks of the size parameters most simulators share: d, n, n_heldout."""
    out = []
    if p["d"] < 2:
        out.append(f"parameter 'd' = {p['d']} must be >= 2")
    if p["n"] < 2:
        out.append(f"parameter 'n' = {p['n']} must be >= 2 (a dataset needs two rows)")
    if p["n_heldout"] < 1:
        out.append(f"parameter 'n_heldout' = {p['n_heldout']} must be >= 1")
    return out


class Simulator(Plugin):
    """Base of simulator plugins: one file in simulators/, one subclass each.

    Subclasses set ``name`` and ``defaults`` and implement ``generate(rng)``, which
    returns a Dataset in the original scale. ``simulate(seed=...)`` is what the
    harness calls: it seeds one ``numpy.random.Generator`` (the only source of
    randomness a simulator may use, so the same parameters and seed give the same
    dataset bit for bit), standardises when the ``standardise`` parameter is on, and
    fills in the metadata. Every simulator takes ``n`` (training rows), ``n_heldout``
    and ``standardise``; declare them in ``defaults``.
    """

    @classmethod
    def kind(cls) -> str:
        return "simulator"

    def generate(self, rng: np.random.Generator) -> Dataset:
        raise NotImplementedError

    def simulate(self, *, seed: int) -> Dataset:
        rng = np.random.default_rng(seed)
        ds = self.generate(rng)
        if self.params.get("standardise", False):
            ds = standardise(ds)
        ds.meta = {**ds.meta, "simulator": self.name, "params": self.params, "seed": seed,
                   "versions": {"numpy": np.__version__}}
        return ds


def registry() -> dict[str, type[Simulator]]:
    """{name: class} of every simulator plugin in simulators/."""
    return discover("simulators", Simulator)


def get(name: str) -> type[Simulator]:
    """The simulator plugin class called ``name`` (``dagbench.plugins.find``: only its own
    file is imported when that file is ``simulators/<name>.py``); PluginError listing the known
    names when there is none."""
    return find("simulators", Simulator, name)
