"""Likelihoods of DiBS: the marginal BGe score and two joint models.

Every model holds its training data and is evaluated on batches of graphs:

* marginal (``is_joint = False``): ``log_marginal(g [..., d, d]) -> [...]`` float64,
  log p(D | G), differentiable in soft graphs;
* joint (``is_joint = True``): parameters are a flat tensor theta [P, T] per particle
  and ``log_joint(g [P, S, d, d], theta [P, T]) -> [P, S]`` is
  log p(Θ | G) + log p(D | G, Θ), differentiable in both soft graphs and theta. A joint
  model may also offer ``log_joint_softmax_grad(g, theta, wrt=, factor=)``, the
  softmax-weighted gradient sum of the DiBS estimators in closed form; without it DiBS
  uses autograd through ``log_joint``.

Interventional rows: ``interv_mask`` [n, d] bool; where ``interv_mask[r, j]`` is True,
node j's term of row r is left out (the intervened node's own conditional).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from torchdibs.latent import offdiag

_LOG_2PI = math.log(2 * math.pi)


def _keep_mask(x: torch.Tensor, interv_mask) -> torch.Tensor:
    """[n, d] float: 1 where a node's term counts, 0 where it was intervened on."""
    if interv_mask is None:
        return torch.ones_like(x)
    m = torch.as_tensor(np.asarray(interv_mask), device=x.device).to(torch.bool)
    if m.shape != x.shape:
        raise ValueError(f"interv_mask has shape {tuple(m.shape)}, expected {tuple(x.shape)}")
    return (~m).to(x.dtype)


_WORD = 56  # bits per int64 word when parent sets are packed (exact in int64 arithmetic)


def _pack_bits(b: torch.Tensor) -> torch.Tensor:
    """0/1 rows [M, d] -> [M, ceil(d / 56)] int64, 56 bits per word (word by word, so the
    temporary is [M, 56], not [M, d] int64)."""
    pow2 = 2 ** torch.arange(_WORD, device=b.device, dtype=torch.int64)  # [56]
    cols = [(b[:, lo:lo + _WORD].to(torch.int64) * pow2[:min(_WORD, b.shape[1] - lo)]).sum(-1)
            for lo in range(0, b.shape[1], _WORD)]
    return torch.stack(cols, 1)


def _unpack_bits(words: torch.Tensor, d: int) -> torch.Tensor:
    """Inverse of ``_pack_bits``: [M, W] int64 -> [M, d] bool (shifts, not divisions)."""
    shifts = torch.arange(_WORD, device=words.device, dtype=torch.int64)  # [56]
    return torch.cat([((words[:, w, None] >> shifts) & 1) != 0 for w in range(words.shape[1])], 1)[:, :d]


def _unique_rows(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Distinct rows of an int64 matrix [M, C] -> (one row per distinct value [U, C], the
    index of each row's value [M]), like ``torch.unique(rows, dim=0, return_inverse=True)``
    up to the order of the distinct rows. Column by column: each column's dense ranks are
    combined with the ranks so far and re-ranked, so every key stays below M² (exact in
    int64) and every step is a 1-D ``torch.unique``, much faster than ``unique(dim=0)``."""
    if rows.shape[0] == 0:
        return rows, torch.zeros(0, dtype=torch.int64, device=rows.device)
    key = torch.zeros(rows.shape[0], dtype=torch.int64, device=rows.device)  # [M]
    for c in range(rows.shape[1]):
        _, rank = torch.unique(rows[:, c], return_inverse=True)  # [M]
        _, key = torch.unique(key * (int(rank.max()) + 1) + rank, return_inverse=True)  # [M] dense ranks
    n_uniq = int(key.max()) + 1
    first = torch.empty(n_uniq, dtype=torch.int64, device=rows.device)
    first.scatter_(0, key, torch.arange(len(key), device=rows.device))  # a row holding each value
    return rows[first], key


def _sample_blocks(n_particles: int, n_samples: int, per_sample: int, chunk: int):
    """(p0, p1, s0, s1) blocks of about ``chunk`` elements when one (particle, sample) takes
    ``per_sample``: whole particles while a particle fits, else runs of one particle's samples."""
    per_particle = per_sample * n_samples
    if per_particle <= chunk:
        step = max(1, chunk // per_particle)
        return [(p, min(n_particles, p + step), 0, n_samples) for p in range(0, n_particles, step)]
    step = max(1, chunk // per_sample)
    return [(p, p + 1, s, min(n_samples, s + step)) for p in range(n_particles) for s in range(0, n_samples, step)]


def _check_softmax_grad_args(wrt: str, factor) -> None:
    """The arguments of the joint models' ``log_joint_softmax_grad``: ValueError if wrong."""
    if wrt not in ("g", "theta"):
        raise ValueError(f"wrt must be 'g' or 'theta', got {wrt!r}")
    if factor is not None and wrt != "g":
        raise ValueError("a factor is only supported with wrt='g'")


class _SoftmaxSum:
    """Σ_s softmax_s(v) c_s per particle, accumulated over blocks of samples without ever
    holding all c_s: each block's terms are weighted by exp(v − block max) and blocks are
    merged by rescaling to the running max (the "online softmax", Milakov & Gimelshein 2018,
    arXiv:1805.02867, Algorithm 3). v [P, S] float; c_s [P, ...]."""

    def __init__(self, n_particles: int, n_samples: int, *, dtype, device):
        self.value = torch.empty((n_particles, n_samples), dtype=dtype, device=device)  # [P, S]
        self.max = torch.full((n_particles,), -math.inf, dtype=dtype, device=device)  # [P]
        self.norm = torch.zeros(n_particles, dtype=dtype, device=device)  # [P]
        self.total = None  # [P, ...]

    def add(self, p0: int, p1: int, s0: int, s1: int, v: torch.Tensor, weighted_sum) -> None:
        """v [Pc, Sb] for particles p0:p1, samples s0:s1; ``weighted_sum(e [Pc, Sb])`` returns
        Σ_s e_s c_s [Pc, ...] for this block."""
        self.value[p0:p1, s0:s1] = v
        v_max = v.max(1).values  # [Pc]
        e = torch.exp(v - v_max[:, None])  # [Pc, Sb]
        c = weighted_sum(e)  # [Pc, ...]
        if self.total is None:
            self.total = torch.zeros((self.max.shape[0], *c.shape[1:]), dtype=c.dtype, device=c.device)
        new_max = torch.maximum(self.max[p0:p1], v_max)  # [Pc]
        old_scale, new_scale = torch.exp(self.max[p0:p1] - new_max), torch.exp(v_max - new_max)  # [Pc]
        shape = (-1,) + (1,) * (c.dim() - 1)
        self.total[p0:p1] = self.total[p0:p1] * old_scale.view(shape) + c * new_scale.view(shape)
        self.norm[p0:p1] = self.norm[p0:p1] * old_scale + e.sum(1) * new_scale
        self.max[p0:p1] = new_max

    def result(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(v [P, S], Σ_s softmax_s(v) c_s [P, ...])."""
        return self.value, self.total / self.norm.view((-1,) + (1,) * (self.total.dim() - 1))


class _Workspace:
    """Scratch tensors reused from block to block (a fresh multi-MB tensor per block costs
    more than the arithmetic on it: allocation, first touch, a cold cache)."""

    def __init__(self, *, dtype, device):
        self.dtype, self.device, self.flat = dtype, device, {}

    def get(self, name: str, shape) -> torch.Tensor:
        """A contiguous tensor of ``shape`` (contents undefined) backed by ``name``'s buffer."""
        size = math.prod(shape)
        if name not in self.flat or self.flat[name].numel() < size:
            self.flat[name] = torch.empty(size, dtype=self.dtype, device=self.device)
        return self.flat[name][:size].view(shape)


class BGe:
    """BGe marginal likelihood log p(D | G) (Geiger & Heckerman 2002; Kuipers et al. 2014).

    Normal-Wishart prior with mean ``mean_obs`` (zeros), α_μ = ``alpha_mu`` (1),
    α_λ = ``alpha_lambda`` (d + 2) and T = t·I, t = α_μ(α_λ − d − 1)/(α_μ + 1). The score
    is score-equivalent (Markov-equivalent DAGs score equal) and decomposes over nodes;
    node j with (possibly soft) parent indicator vector m = G[:, j], l = Σ m, gets

        ½ log(α_μ/(N+α_μ)) − ½ N log π + lnΓ(½(N+a+l+1)) − lnΓ(½(a+l+1))
        + ½(a+2l+1) log t + ½(N+a+l) log|R_pa| − ½(N+a+l+1) log|R_pa∪j|,   a = α_λ − d,

    with R = T + S_N + N α_μ/(N+α_μ) (x̄ − ν)(x̄ − ν)ᵀ computed from the rows where j was
    not intervened on (N of them). Soft parent sets use the masked matrix
    R ⊙ (m mᵀ) + diag(1 − m), which equals the submatrix determinant at 0/1 masks and is
    positive definite in between; log|R_pa∪j| = log|R_pa| + log(R_jj − rᵀ M⁻¹ r) with
    r = m ⊙ R[:, j] (a Schur complement), so one batched float64 Cholesky per
    (graph, node) gives both determinants.
    """

    is_joint = False

    def __init__(self, *, x, interv_mask=None, alpha_mu: float = 1.0, alpha_lambda: float | None = None,
                 mean_obs=None, device="cpu", max_chunk: int = 8192):
        x = torch.as_tensor(np.asarray(x), dtype=torch.float64, device=device)  # [n, d]
        n, d = x.shape
        self.d, self.device = d, torch.device(device)
        self.alpha_mu = float(alpha_mu)
        self.alpha_lambda = float(d + 2 if alpha_lambda is None else alpha_lambda)
        if self.alpha_lambda <= d + 1:
            raise ValueError(f"alpha_lambda must exceed d + 1 = {d + 1}, got {self.alpha_lambda}")
        self.max_chunk = max_chunk
        keep = _keep_mask(x, interv_mask)  # [n, d]
        nu = torch.zeros(d, dtype=torch.float64, device=device) if mean_obs is None else \
            torch.as_tensor(np.asarray(mean_obs), dtype=torch.float64, device=device)  # [d]
        n_obs = keep.sum(0)  # [d]  rows that count for node j
        xbar = (keep.T @ x) / n_obs.clamp(min=1)[:, None]  # [d(node), d]
        second = torch.einsum("rj,ra,rb->jab", keep, x, x)  # [d(node), d, d]
        s_n = second - n_obs[:, None, None] * xbar[:, :, None] * xbar[:, None, :]  # [d, d, d]
        self.small_t = self.alpha_mu * (self.alpha_lambda - d - 1) / (self.alpha_mu + 1)
        diff = xbar - nu  # [d(node), d]
        shrink = n_obs * self.alpha_mu / (n_obs + self.alpha_mu)  # [d]
        self.R = (self.small_t * torch.eye(d, dtype=torch.float64, device=device) + s_n
                  + shrink[:, None, None] * diff[:, :, None] * diff[:, None, :])  # [d, d, d]
        self.n_obs = n_obs  # [d]
        # without interventions every node's R is the same: one [d, d] matrix to gather from
        self._R_shared = self.R[0].contiguous() if bool((self.R == self.R[0]).all()) else None
        self.const = (0.5 * (math.log(self.alpha_mu) - torch.log(n_obs + self.alpha_mu))
                      - 0.5 * n_obs * math.log(math.pi))  # [d]
        self._pow2 = 2 ** torch.arange(d, device=device, dtype=torch.int64) if d <= 56 else None

    # -- family scores -------------------------------------------------------------------
    def family_scores(self, nodes: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Local scores of (node, parent set) pairs.

        Args:
            nodes: [U] long, the child node j of each pair.
            masks: [U, d] float64 parent indicators in [0, 1] (entry j must be 0).
        Returns:
            [U] float64 local BGe scores (differentiable in ``masks``).
        """
        out = []
        for lo in range(0, len(nodes), self.max_chunk):
            out.append(self._family_chunk(nodes[lo:lo + self.max_chunk], masks[lo:lo + self.max_chunk]))
        return torch.cat(out) if out else masks.new_zeros(0)

    def _family_chunk(self, nodes: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        U = len(nodes)
        ar = torch.arange(U, device=m.device)
        r_full = self.R[nodes]  # [U, d, d]
        mat = r_full * (m[:, :, None] * m[:, None, :]) + torch.diag_embed(1.0 - m)  # [U, d, d]
        chol, _ = torch.linalg.cholesky_ex(mat)  # [U, d, d]
        logdet_pa = 2.0 * torch.log(chol.diagonal(dim1=-2, dim2=-1)).sum(-1)  # [U]
        r = r_full[ar, :, nodes] * m  # [U, d]  R[:, j] restricted (softly) to the parents
        y = torch.linalg.solve_triangular(chol, r[..., None], upper=False)  # [U, d, 1]
        schur = r_full[ar, nodes, nodes] - (y * y).sum((-2, -1))  # [U]
        return self._assemble(nodes, m.sum(-1), logdet_pa, schur)

    def _assemble(self, nodes: torch.Tensor, n_par: torch.Tensor, logdet_pa: torch.Tensor,
                  schur: torch.Tensor) -> torch.Tensor:
        """Local scores [U] from child nodes [U], parent counts [U], log|R_pa| [U] and the
        Schur complements R_jj − R_j,pa R_pa⁻¹ R_pa,j [U]."""
        N = self.n_obs[nodes]  # [U]
        a = self.alpha_lambda - self.d
        score = (self.const[nodes]
                 + torch.lgamma(0.5 * (N + a + n_par + 1)) - torch.lgamma(0.5 * (a + n_par + 1))
                 + 0.5 * (a + 2 * n_par + 1) * math.log(self.small_t)
                 - 0.5 * logdet_pa - 0.5 * (N + a + n_par + 1) * torch.log(schur.clamp(min=1e-300)))
        return torch.where(N > 0, score, torch.zeros_like(score))

    @torch.no_grad()
    def family_scores_hard(self, nodes: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Like ``family_scores`` for 0/1 masks [U, d] (float or bool), without gradients:
        families are grouped by parent count l and scored with compact Choleskys of R
        restricted to the parents followed by the child, [l + 1, l + 1] (Σ l³ work instead
        of U·d³): the first l pivots give log|R_pa|, the last one squared is the Schur
        complement R_jj − R_j,pa R_pa⁻¹ R_pa,j."""
        out = torch.empty(len(nodes), dtype=torch.float64, device=masks.device)
        present = masks if masks.dtype == torch.bool else masks > 0.5  # [U, d]
        n_par = present.sum(-1)  # [U]
        for l in torch.unique(n_par).tolist():
            sel = torch.nonzero(n_par == l).squeeze(1)  # [U_l]
            j = nodes[sel]  # [U_l]
            if l == 0:
                diag = self.R[j, j, j]  # [U_l]
                out[sel] = self._assemble(j, n_par[sel].double(), torch.zeros_like(diag), diag)
                continue
            idx = torch.nonzero(present[sel])[:, 1].reshape(len(sel), l)  # [U_l, l] parent ids
            fam = torch.cat([idx, j[:, None]], 1)  # [U_l, l + 1] parents, then the child
            for lo in range(0, len(sel), self.max_chunk):
                c_fam, c_j = fam[lo:lo + self.max_chunk], j[lo:lo + self.max_chunk]  # [u, l + 1], [u]
                sub = self._submatrices(c_j, c_fam)  # [u, l + 1, l + 1]
                chol, _ = torch.linalg.cholesky_ex(sub)  # [u, l + 1, l + 1]
                piv = chol.diagonal(dim1=-2, dim2=-1)  # [u, l + 1]
                logdet_pa = 2.0 * torch.log(piv[:, :l]).sum(-1)  # [u]
                schur = piv[:, l] * piv[:, l]  # [u]
                out[sel[lo:lo + self.max_chunk]] = self._assemble(c_j, torch.full_like(schur, float(l)),
                                                                  logdet_pa, schur)
        return out

    def _submatrices(self, nodes: torch.Tensor, fam: torch.Tensor) -> torch.Tensor:
        """R of each child restricted to its family: nodes [u], fam [u, m] -> [u, m, m].

        A gather through flat indices; on the CPU numpy's ``take`` does it (3-4 × faster
        than torch's advanced indexing or ``torch.take`` on 51 × 51 blocks at d = 100), and
        from the one shared [d, d] matrix when no node was intervened on (it stays in cache).
        """
        d = self.d
        if self._R_shared is not None:
            src, rows = self._R_shared, fam * d  # [d, d], [u, m]
        else:
            src, rows = self.R, (nodes[:, None] * d + fam) * d  # [d, d, d], [u, m]
        if src.device.type == "cpu":  # numpy's broadcast add and take: 2 × torch's speed here
            rows, fam = rows.numpy(), fam.numpy()
            return torch.from_numpy(np.take(src.numpy().reshape(-1), rows[:, :, None] + fam[:, None, :]))
        return torch.take(src, rows[:, :, None] + fam[:, None, :])  # [u, m, m] offsets into src

    # -- graph scores --------------------------------------------------------------------
    def node_scores(self, g: torch.Tensor) -> torch.Tensor:
        """Per-node scores: g [..., d, d] (0/1 or soft) -> [..., d] float64."""
        d = self.d
        lead = g.shape[:-2]
        gm = g.to(torch.float64) * offdiag(d, device=g.device, dtype=torch.float64)  # [..., d, d]
        masks = gm.transpose(-1, -2).reshape(-1, d)  # [B*d, d]  row (b, j) = G_b[:, j]
        nodes = torch.arange(d, device=g.device).repeat(masks.shape[0] // d)  # [B*d]
        return self.family_scores(nodes, masks).reshape(*lead, d)

    def log_marginal(self, g: torch.Tensor) -> torch.Tensor:
        """log p(D | G): g [..., d, d] (0/1 or soft, differentiable) -> [...] float64."""
        return self.node_scores(g).sum(-1)

    @torch.no_grad()
    def log_marginal_hard(self, g: torch.Tensor) -> torch.Tensor:
        """log p(D | G) of 0/1 graphs g [..., d, d] -> [...] float64, equal to ``log_marginal(g)``:
        the sum of ``node_scores_hard`` (each distinct family scored once); not differentiable."""
        return self.node_scores_hard(g).sum(-1)

    @torch.no_grad()
    def node_scores_hard(self, g: torch.Tensor) -> torch.Tensor:
        """Per-node local scores of 0/1 graphs, each distinct (node, parent set) scored once.

        Args:
            g: [..., d, d] 0/1 graphs.
        Returns:
            [..., d] float64, equal to ``node_scores(g)``; not differentiable.
        """
        d = self.d
        lead = g.shape[:-2]
        gb = (g.reshape(-1, d, d) != 0) & (offdiag(d, device=g.device, dtype=torch.int64) != 0)
        if self._pow2 is not None:
            codes = (gb.to(torch.int64) * self._pow2[:, None]).sum(-2)  # [B, d]  parent set of j as bits
            keys = codes * d + torch.arange(d, device=g.device)  # [B, d]
            uniq, inverse = torch.unique(keys.reshape(-1), return_inverse=True)  # [U], [B*d]
            nodes = uniq % d  # [U]
            masks = (((uniq // d)[:, None] >> torch.arange(d, device=g.device)) & 1) != 0  # [U, d] bool
        else:  # d > 56: the parent set as several 56-bit words, and the node, one row per family
            words = _pack_bits(gb.transpose(-1, -2).reshape(-1, d))  # [B*d, W]
            nodes_all = torch.arange(d, device=g.device).repeat(gb.shape[0])  # [B*d]
            rows = torch.cat([nodes_all[:, None], words], 1)  # [B*d, 1 + W]
            uniq, inverse = _unique_rows(rows)  # [U, 1 + W], [B*d]
            nodes = uniq[:, 0]  # [U]
            masks = _unpack_bits(uniq[:, 1:], d)  # [U, d] bool
        scores = self.family_scores_hard(nodes, masks)  # [U]
        return scores[inverse].reshape(*lead, d)


class LinearGaussian:
    """Linear Gaussian SEM with Gaussian edge weights (joint model).

    x_j = Σ_i G_ij Θ_ij x_i + ε_j, ε_j ~ N(0, ``obs_noise``) (a variance), Θ_ij ~ N(mean_edge,
    sigma_edge²) on present edges: log p(Θ | G) = Σ_ij G_ij log N(Θ_ij). theta [P, d·d] is
    the row-major flattening of Θ [P, d, d]. The likelihood uses per-node sufficient
    statistics C_j = Σ_{rows r counting for j} x_r x_rᵀ, so its cost does not grow with n.
    """

    is_joint = True

    def __init__(self, *, x, interv_mask=None, obs_noise: float = 0.1, sigma_edge: float = 1.0,
                 mean_edge: float = 0.0, min_edge_init: float = 0.5, device="cpu",
                 dtype=torch.float32):
        x64 = torch.as_tensor(np.asarray(x), dtype=torch.float64, device=device)  # [n, d]
        self.d = x64.shape[1]
        self.n_theta = self.d * self.d
        self.obs_noise, self.sigma_edge, self.mean_edge = float(obs_noise), float(sigma_edge), float(mean_edge)
        self.min_edge_init = float(min_edge_init)
        self.device, self.dtype = torch.device(device), dtype
        self.chunk_elements = 1 << 18  # gradient entries per block in log_joint_softmax_grad (1 MB)
        keep = _keep_mask(x64, interv_mask)  # [n, d]
        C = torch.einsum("rj,ra,rb->jab", keep, x64, x64)  # [d(node), d, d]
        ar = torch.arange(self.d, device=device)
        self.C = C.to(dtype)  # [d, d, d]
        self.C_col = C[ar, :, ar].T.contiguous().to(dtype)  # [d(a), d(j)]  C_j[a, j]
        self.C_diag = C[ar, ar, ar].to(dtype)  # [d]  C_j[j, j]
        self.n_obs = keep.sum(0).to(dtype)  # [d]
        # without interventions every C_j is the same XᵀX: one [d, d] matrix does for all nodes
        self._C_shared = self.C[0].contiguous() if bool((C == C[0]).all()) else None  # [d(a), d(b)]
        self._const = float((-0.5 * self.n_obs * (_LOG_2PI + math.log(self.obs_noise))).sum()
                            - (self.C_diag.double() / (2 * self.obs_noise)).sum())

    def init_theta(self, n_particles: int, generator: torch.Generator) -> torch.Tensor:
        """Initial particles: N(mean, σ²) pushed away from 0 by ``min_edge_init``: [P, d·d]."""
        th = self.mean_edge + self.sigma_edge * torch.randn(
            (n_particles, self.n_theta), generator=generator, device=self.device, dtype=self.dtype)
        return th + torch.sign(th) * self.min_edge_init

    def edge_weights(self, g: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """Effective weights G ⊙ Θ: g [K, d, d], theta [K, d·d] -> [K, d, d]."""
        return g * theta.reshape(-1, self.d, self.d)

    def log_joint(self, g: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """log p(Θ | G) + log p(D | G, Θ): g [P, S, d, d], theta [P, d·d] -> [P, S]."""
        d, P = self.d, theta.shape[0]
        th = theta.reshape(P, 1, d, d)  # [P, 1, d, d]
        w = g * th  # [P, S, d, d]
        cw = torch.einsum("jab,psbj->psaj", self.C, w)  # [P, S, d, d]  (C_j w_j)_a
        quad = (w * cw).sum(-2)  # [P, S, d]
        lin = (w * self.C_col).sum(-2)  # [P, S, d]
        rss = self.C_diag - 2 * lin + quad  # [P, S, d]
        loglik = (-0.5 * self.n_obs * (_LOG_2PI + math.log(self.obs_noise))
                  - rss / (2 * self.obs_noise)).sum(-1)  # [P, S]
        z = (th - self.mean_edge) / self.sigma_edge  # [P, 1, d, d]
        log_prior = (g * (-0.5 * z * z - math.log(self.sigma_edge) - 0.5 * _LOG_2PI)).sum((-2, -1))  # [P, S]
        return loglik + log_prior

    def _cw(self, w: torch.Tensor) -> torch.Tensor:
        """(C_j w_j)_a for w [P, S, d, d] -> [P, S, d(a), d(j)]."""
        if self._C_shared is not None:  # batched GEMMs C [d(a), d(b)] @ w [d(b), d(j)], no copies
            return torch.matmul(self._C_shared, w)
        return torch.einsum("jab,psbj->psaj", self.C, w)

    def log_joint_grad(self, g: torch.Tensor, theta: torch.Tensor, *, wrt: str = "g"):
        """``log_joint`` and its gradient per sample in closed form (no autograd).

        With w = G ⊙ Θ and B = (c − C_j w_j)/σ² (c = C_j[:, j]), ∂ log p(D | G, Θ)/∂w = B, so
        ∂/∂G = Θ ⊙ B + log N(Θ) and ∂/∂Θ = G ⊙ (B − (Θ − μ)/σ_e²).

        Args:
            g: [P, S, d, d] graphs (soft or hard); theta: [P, d·d]; wrt: 'g' or 'theta'.
        Returns:
            (log_joint [P, S], gradient [P, S, d, d] with respect to g or to Θ [P, d, d]).
        """
        d, P = self.d, theta.shape[0]
        inv_var = 1.0 / self.obs_noise
        th = theta.reshape(P, 1, d, d)  # [P, 1, d, d]
        w = g * th  # [P, S, d, d]
        b = torch.sub(self.C_col * inv_var, self._cw(w), alpha=inv_var)  # [P, S, d, d]  ∂ loglik / ∂w
        zt = (th - self.mean_edge) / self.sigma_edge  # [P, 1, d, d]
        lp = -0.5 * zt * zt - (math.log(self.sigma_edge) + 0.5 * _LOG_2PI)  # [P, 1, d, d]
        # loglik = const + Σ w ⊙ (c − cw/2)/σ² = const + ½ Σ w ⊙ b + Σ G ⊙ Θ ⊙ c/(2σ²), so with the
        # per-edge terms folded into one [P, 1, d, d] tensor the value costs two fused passes
        per_edge = lp + (0.5 * inv_var) * th * self.C_col  # [P, 1, d, d]
        value = self._const + 0.5 * (w * b).sum((-2, -1)) + (g * per_edge).sum((-2, -1))  # [P, S]
        if wrt == "g":
            return value, torch.addcmul(lp, th, b)  # [P, S, d, d]
        if wrt == "theta":
            return value, b.sub_((th - self.mean_edge) / self.sigma_edge ** 2).mul_(g)  # [P, S, d, d]
        raise ValueError(f"wrt must be 'g' or 'theta', got {wrt!r}")

    def log_joint_softmax_grad(self, g: torch.Tensor, theta: torch.Tensor, *, wrt: str = "g",
                               factor: torch.Tensor | None = None):
        """``log_joint`` and Σ_s w_s f_s ⊙ ∇ log_joint_s with w = softmax_s(log_joint) per
        particle and f = ``factor`` (1 when None): the sum both DiBS estimators need (Lorch et
        al. 2021, eqs. 10-11). ``log_joint_grad`` on blocks of about ``chunk_elements``
        gradient entries, merged by ``_SoftmaxSum``, so the [P, S, d, d] per-sample
        gradients are never held at once (at d = 200 they would be 400 MB).

        Args:
            g: [P, S, d, d]; theta: [P, d·d]; wrt: 'g' or 'theta'; factor: [P, S, d, d] or
            None (only with wrt='g').
        Returns:
            (log_joint [P, S], [P, d, d] for wrt='g' or [P, d·d] for wrt='theta').
        Raises:
            ValueError: for another ``wrt``, or a factor with wrt='theta'.
        """
        _check_softmax_grad_args(wrt, factor)
        P, S, d = theta.shape[0], g.shape[1], self.d
        acc = _SoftmaxSum(P, S, dtype=theta.dtype, device=theta.device)
        for p0, p1, s0, s1 in _sample_blocks(P, S, d * d, self.chunk_elements):
            value, grad = self.log_joint_grad(g[p0:p1, s0:s1], theta[p0:p1], wrt=wrt)  # [Pc, Sb], [Pc, Sb, d, d]
            if factor is not None:
                grad.mul_(factor[p0:p1, s0:s1])
            acc.add(p0, p1, s0, s1, value, lambda e: torch.einsum("ps,psij->pij", e, grad))
        value, total = acc.result()
        return value, total if wrt == "g" else total.reshape(P, -1)

    def log_density_rows(self, x, interv_mask, g: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """Per-row log densities: x [m, d], interv_mask [m, d], g [K, d, d], theta [K, T] -> [K, m]."""
        x = torch.as_tensor(np.asarray(x), dtype=theta.dtype, device=theta.device)  # [m, d]
        keep = _keep_mask(x, interv_mask)  # [m, d]
        mean = torch.einsum("ma,kaj->kmj", x, self.edge_weights(g.to(theta.dtype), theta))  # [K, m, d]
        lp = -0.5 * (_LOG_2PI + math.log(self.obs_noise)) - (x - mean) ** 2 / (2 * self.obs_noise)
        return (lp * keep).sum(-1)


class MLPGaussian:
    """Nonlinear Gaussian SEM: one MLP per node (joint model).

    x_j = f_j(G[:, j] ⊙ x) + ε_j, ε_j ~ N(0, ``obs_noise``), f_j(v) = W2_j · relu(W1_j v + b1_j)
    + b2_j with ``hidden`` units. Every parameter has a N(0, sigma_param²) prior; the
    first-layer weights of input i to node j count only where G_ij = 1 (soft allowed).
    Flat layout of theta [P, T]: W1 [d(j), d(i), H], b1 [d, H], W2 [d, H], b2 [d];
    T = d·d·H + 2·d·H + d.
    """

    is_joint = True

    def __init__(self, *, x, interv_mask=None, hidden: int = 5, obs_noise: float = 0.1,
                 sigma_param: float = 1.0, device="cpu", dtype=torch.float32):
        self.x = torch.as_tensor(np.asarray(x), dtype=dtype, device=device)  # [n, d]
        self.d = self.x.shape[1]
        self.hidden = int(hidden)
        d, H = self.d, self.hidden
        self.sizes = (d * d * H, d * H, d * H, d)
        self.n_theta = sum(self.sizes)
        self.obs_noise, self.sigma_param = float(obs_noise), float(sigma_param)
        self.device, self.dtype = torch.device(device), dtype
        self.keep = _keep_mask(self.x, interv_mask)  # [n, d]
        self.chunk_elements = 1 << 19  # activations per block of samples in log_joint_softmax_grad (2 MB)
        ones = torch.ones((self.x.shape[0], 1), dtype=dtype, device=device)
        self._x1 = torch.cat([self.x, ones], 1)  # [n, d + 1]: x with a column for the first bias
        self._x1_t = self._x1.T.contiguous()  # [d + 1, n]
        self._x_t, self._keep_t = self.x.T.contiguous(), self.keep.T.contiguous()  # [d, n]
        self._loglik_const = float(-0.5 * (_LOG_2PI + math.log(self.obs_noise)) * self.keep.sum())

    def init_theta(self, n_particles: int, generator: torch.Generator) -> torch.Tensor:
        """Initial particles drawn from the N(0, σ²) parameter prior: [P, T]."""
        return self.sigma_param * torch.randn((n_particles, self.n_theta), generator=generator,
                                              device=self.device, dtype=self.dtype)

    def unpack(self, theta: torch.Tensor):
        """theta [P, T] -> W1 [P, d, d, H], b1 [P, d, H], W2 [P, d, H], b2 [P, d]."""
        d, H, P = self.d, self.hidden, theta.shape[0]
        w1, b1, w2, b2 = torch.split(theta, self.sizes, dim=-1)
        return w1.reshape(P, d, d, H), b1.reshape(P, d, H), w2.reshape(P, d, H), b2.reshape(P, d)

    def means(self, x: torch.Tensor, g: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """Conditional means: x [n, d], g [P, S, d, d], theta [P, T] -> [P, S, n, d]."""
        w1, b1, w2, b2 = self.unpack(theta)
        a = g.transpose(-1, -2)[..., None] * w1[:, None]  # [P, S, d(j), d(i), H]
        hid = torch.einsum("ni,psjih->psnjh", x, a) + b1[:, None, None]  # [P, S, n, d, H]
        return (torch.relu(hid) * w2[:, None, None]).sum(-1) + b2[:, None, None]  # [P, S, n, d]

    def _log_normal(self, v: torch.Tensor) -> torch.Tensor:
        return -0.5 * (v / self.sigma_param) ** 2 - math.log(self.sigma_param) - 0.5 * _LOG_2PI

    def log_joint(self, g: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """log p(Θ | G) + log p(D | G, Θ): g [P, S, d, d], theta [P, T] -> [P, S]."""
        mu = self.means(self.x, g, theta)  # [P, S, n, d]
        lp = -0.5 * (_LOG_2PI + math.log(self.obs_noise)) - (self.x - mu) ** 2 / (2 * self.obs_noise)
        loglik = (lp * self.keep).sum((-2, -1))  # [P, S]
        w1, b1, w2, b2 = self.unpack(theta)
        lp_w1 = self._log_normal(w1).sum(-1)  # [P, d(j), d(i)]
        prior_w1 = (g * lp_w1.transpose(-1, -2)[:, None]).sum((-2, -1))  # [P, S]
        prior_rest = (self._log_normal(b1).sum((-2, -1)) + self._log_normal(w2).sum((-2, -1))
                      + self._log_normal(b2).sum(-1))  # [P]
        return loglik + prior_w1 + prior_rest[:, None]

    def log_joint_softmax_grad(self, g: torch.Tensor, theta: torch.Tensor, *, wrt: str = "g",
                               factor: torch.Tensor | None = None):
        """``log_joint`` and the softmax-weighted sum over samples of its gradient, by
        hand-written backpropagation (no autograd): Σ_s w_s f_s ⊙ ∇ log_joint_s with
        w = softmax_s(log_joint) per particle and f = ``factor`` (1 when None). This is
        exactly the sum both DiBS estimators need (Lorch et al. 2021, eqs. 10-11, the
        self-normalised forms of §4.2), so the per-sample gradients are never stored.

        Particle by particle: a forward pass over all its samples gives the values and
        the weights; the backward pass runs only for samples whose weight is at least eps²
        (of the dtype) times the largest. Early in a run the
        log-likelihoods of the samples differ by hundreds of nats and a few samples carry
        all the weight; the dropped ones change the sum by less than its rounding.

        Layout [S, H, d(j), n], observations innermost: the first layer of a block of
        samples is one GEMM A [S·H·d, d + 1] @ [x, 1]ᵀ [d + 1, n] with A[s, h, j, i] =
        G_ij W1_jih and the bias as the last column; its backward pass is another,
        δhid [·, n] @ [x, 1]. The second layer's weights are folded into the small
        [·, d + 1] results, so the activation-sized passes are the GEMMs, the relu, the
        output sum and the relu's derivative (``threshold_backward``), on blocks of about
        ``chunk_elements`` activations. A particle's activations, S·H·d·n floats, are kept
        from the forward to the backward pass (5 MB at d = 20, 51 MB at d = 200).

        Args:
            g: [P, S, d, d] graphs (soft or hard); theta: [P, T]; wrt: 'g' or 'theta';
            factor: [P, S, d, d] or None (only with wrt='g').
        Returns:
            (log_joint [P, S], [P, d, d] for wrt='g' or [P, T] for wrt='theta' in the flat
            layout of ``unpack``).
        Raises:
            ValueError: for another ``wrt``, or a factor with wrt='theta'.
        """
        _check_softmax_grad_args(wrt, factor)
        d, H, P, S, n = self.d, self.hidden, theta.shape[0], g.shape[1], self.x.shape[0]
        par = self._block_params(theta)
        work = _Workspace(dtype=theta.dtype, device=theta.device)
        block = max(1, self.chunk_elements // (n * d * H))  # samples per block
        value = torch.empty((P, S), dtype=theta.dtype, device=theta.device)  # [P, S]
        out = torch.empty((P, d, d) if wrt == "g" else (P, self.n_theta), dtype=theta.dtype, device=theta.device)
        negligible = math.log(torch.finfo(theta.dtype).eps ** 2)
        for p in range(P):
            g_t = g[p].transpose(-1, -2)  # [S, j, i]
            hid, resid = work.get("hid", (S, H, d, n)), work.get("resid", (S, d, n))
            for s0 in range(0, S, block):  # forward: values, relu(hid) and residuals of all samples
                value[p, s0:s0 + block] = self._forward(par, p, g_t[s0:s0 + block], work,
                                                        hid[s0:s0 + block], resid[s0:s0 + block])
            v = value[p] - value[p].max()  # [S]
            keep = torch.nonzero(v >= negligible).flatten()  # [K] samples that carry weight
            w = torch.softmax(value[p], 0)  # [S]
            total = None
            f_t = None if factor is None else factor[p].transpose(-1, -2)  # [S, j, i]
            for k0 in range(0, len(keep), block):  # backward: the samples that carry weight
                sel = slice(k0, k0 + block) if len(keep) == S else keep[k0:k0 + block]
                part = self._backward(par, p, *(None if t is None else t[sel] for t in (g_t, w, hid, resid, f_t)),
                                      work=work, wrt=wrt)
                total = part if total is None else total.add_(part)
            out[p] = total if total is not None else float("nan")  # no finite value: as autograd would
        return value, out

    def _block_params(self, theta: torch.Tensor) -> dict:
        """theta in the layouts ``_forward`` and ``_backward`` read, computed once per call."""
        w1, b1, w2, b2 = self.unpack(theta)  # [P, j, i, H], [P, j, H], [P, j, H], [P, j]
        w1_h = w1.permute(0, 3, 1, 2)  # [P, H, j, i]
        w2_h = w2.transpose(1, 2).contiguous()  # [P, H, j]
        lp_w1 = self._log_normal(w1).sum(-1)  # [P, j, i]
        prior_rest = (self._log_normal(b1).sum((-2, -1)) + self._log_normal(w2).sum((-2, -1))
                      + self._log_normal(b2).sum(-1))  # [P]
        return dict(w1=w1, b1=b1, w2=w2, b2=b2, w1_h=w1_h, w2_h=w2_h, b1_h=b1.transpose(1, 2),
                    w12_h=w1_h * w2_h[..., None], lp_w1=lp_w1, prior_rest=prior_rest)

    def _first_layer(self, par: dict, p: int, g_t: torch.Tensor, work: "_Workspace") -> torch.Tensor:
        """A [Sb, H, d(j), d + 1] for particle p and graphs g_t [Sb, j, i]: G_ij W1_jih, then b1."""
        d, H = self.d, self.hidden
        a = work.get("a", (g_t.shape[0], H, d, d + 1))
        torch.mul(g_t[:, None], par["w1_h"][p, None], out=a[..., :d])
        a[..., d] = par["b1_h"][p]
        return a

    def _forward(self, par: dict, p: int, g_t: torch.Tensor, work: "_Workspace", hid: torch.Tensor,
                 resid: torch.Tensor) -> torch.Tensor:
        """log_joint [Sb] of particle p for graphs g_t [Sb, j, i]; writes relu(hid) [Sb, H, d, n]
        and the residuals x − mu [Sb, d, n] (0 where intervened)."""
        d, H, n = self.d, self.hidden, self.x.shape[0]
        a = self._first_layer(par, p, g_t, work)
        torch.mm(a.view(-1, d + 1), self._x1_t, out=hid.view(-1, n)).clamp_(min=0.0)  # relu(hid)
        w2 = par["w2_h"][p, :, :, None]  # [H, j, 1]
        torch.mul(hid[:, 0], w2[0], out=resid)  # mu, accumulated in resid's storage
        for h in range(1, H):
            resid.addcmul_(hid[:, h], w2[h])
        resid += par["b2"][p, :, None]
        torch.sub(self._x_t, resid, out=resid).mul_(self._keep_t)  # [Sb, j, n]
        return (self._loglik_const - (0.5 / self.obs_noise) * (resid * resid).sum((1, 2))
                + (g_t * par["lp_w1"][p]).sum((-2, -1)) + par["prior_rest"][p])  # [Sb]

    def _backward(self, par: dict, p: int, g_t: torch.Tensor, w: torch.Tensor, hid: torch.Tensor,
                  resid: torch.Tensor, f_t: torch.Tensor | None, *, work: "_Workspace", wrt: str) -> torch.Tensor:
        """Σ_s w_s f_s ⊙ ∇ log_joint_s over K samples of particle p (g_t, f_t [K, j, i], w [K],
        relu(hid) [K, H, j, n], resid [K, j, n], overwritten): [d, d] (wrt g) or [T] (wrt theta)."""
        d, H, n = self.d, self.hidden, self.x.shape[0]
        inv_var, inv_var_p = 1.0 / self.obs_noise, 1.0 / self.sigma_param ** 2
        d_mu = resid.mul_((w * inv_var)[:, None, None])  # [K, j, n]  w_s ∂ loglik/∂mu
        d_hid = work.get("d_hid", hid.shape)  # ∂/∂hid without the factor w2: 1[hid > 0] w_s ∂ loglik/∂mu
        torch.ops.aten.threshold_backward.grad_input(d_mu[:, None].expand_as(hid), hid, 0.0, grad_input=d_hid)
        m = work.get("m", (len(w), H, d, d + 1))  # [s, h, j, i]: Σ_n [x, 1]_i δ / w2
        torch.mm(d_hid.view(-1, n), self._x1, out=m.view(-1, d + 1))
        lp_w1, w2_h = par["lp_w1"][p], par["w2_h"][p]  # [j, i], [H, j]
        if wrt == "g":
            w12 = par["w12_h"][p]  # [H, j, i]
            dg = m[:, 0, :, :d] * w12[0]  # [K, j, i]
            for h in range(1, H):
                dg.addcmul_(m[:, h, :, :d], w12[h])
            w_g = w[:, None, None]  # [K, 1, 1]
            if f_t is not None:
                dg.mul_(f_t)
                w_g = w_g * f_t
            return (dg.sum(0) + lp_w1 * w_g.sum(0)).T  # [i, j]
        w_sum = w.sum()
        w1, b1, w2, b2 = (par[k][p] for k in ("w1", "b1", "w2", "b2"))
        a = self._first_layer(par, p, g_t, work)  # [K, H, j, i+1]
        d_w1 = ((g_t[:, None] * m[..., :d]).sum(0) * w2_h[..., None]).permute(1, 2, 0)  # [j, i, H]
        d_w1 -= w1 * (inv_var_p * torch.einsum("s,sji->ji", w, g_t))[..., None]
        d_b1 = (w2_h * m[..., d].sum(0)).T - b1 * (inv_var_p * w_sum)
        # Σ_n δmu relu(hid) = Σ_i A ⊙ m, as relu(h) = 1[h > 0] h and h = [x, 1] A
        d_w2 = (a * m).sum((0, 3)).T - w2 * (inv_var_p * w_sum)
        d_b2 = d_mu.sum((0, 2)) - b2 * (inv_var_p * w_sum)
        return torch.cat([d_w1.reshape(-1), d_b1.reshape(-1), d_w2.reshape(-1), d_b2])

    def log_density_rows(self, x, interv_mask, g: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """Per-row log densities: x [m, d], interv_mask [m, d], g [K, d, d], theta [K, T] -> [K, m]."""
        x = torch.as_tensor(np.asarray(x), dtype=theta.dtype, device=theta.device)  # [m, d]
        keep = _keep_mask(x, interv_mask)  # [m, d]
        mu = self.means(x, g.to(theta.dtype)[:, None], theta)[:, 0]  # [K, m, d]
        lp = -0.5 * (_LOG_2PI + math.log(self.obs_noise)) - (x - mu) ** 2 / (2 * self.obs_noise)
        return (lp * keep).sum(-1)
