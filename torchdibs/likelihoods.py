"""Likelihoods of DiBS: the marginal BGe score and two joint models.

Every model holds its training data and is evaluated on batches of graphs:

* marginal (``is_joint = False``): ``log_marginal(g [..., d, d]) -> [...]`` float64,
  log p(D | G), differentiable in soft graphs;
* joint (``is_joint = True``): parameters are a flat tensor theta [P, T] per particle
  and ``log_joint(g [P, S, d, d], theta [P, T]) -> [P, S]`` is
  log p(Θ | G) + log p(D | G, Θ), differentiable in both soft graphs and theta.

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
    """Inverse of ``_pack_bits``: [M, W] int64 -> [M, d] bool."""
    pow2 = 2 ** torch.arange(_WORD, device=words.device, dtype=torch.int64)  # [56]
    return torch.cat([(words[:, w, None] // pow2) % 2 != 0 for w in range(words.shape[1])], 1)[:, :d]


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
        """Like ``family_scores`` for 0/1 masks [U, d], without gradients: families are
        grouped by parent count l and scored with compact Choleskys of R restricted to the
        parents followed by the child, [l + 1, l + 1] (Σ l³ work instead of U·d³): the
        first l pivots give log|R_pa|, the last one squared is the Schur complement
        R_jj − R_j,pa R_pa⁻¹ R_pa,j."""
        out = torch.empty(len(nodes), dtype=torch.float64, device=masks.device)
        n_par = masks.sum(-1).round().long()  # [U]
        for l in torch.unique(n_par).tolist():
            sel = torch.nonzero(n_par == l).squeeze(1)  # [U_l]
            j = nodes[sel]  # [U_l]
            if l == 0:
                diag = self.R[j, j, j]  # [U_l]
                out[sel] = self._assemble(j, n_par[sel].double(), torch.zeros_like(diag), diag)
                continue
            idx = torch.nonzero(masks[sel] > 0.5)[:, 1].reshape(len(sel), l)  # [U_l, l] parent ids
            fam = torch.cat([idx, j[:, None]], 1)  # [U_l, l + 1] parents, then the child
            for lo in range(0, len(sel), self.max_chunk):
                c_fam, c_j = fam[lo:lo + self.max_chunk], j[lo:lo + self.max_chunk]  # [u, l + 1], [u]
                sub = self.R[c_j[:, None, None], c_fam[:, :, None], c_fam[:, None, :]]  # [u, l + 1, l + 1]
                chol, _ = torch.linalg.cholesky_ex(sub)  # [u, l + 1, l + 1]
                piv = chol.diagonal(dim1=-2, dim2=-1)  # [u, l + 1]
                logdet_pa = 2.0 * torch.log(piv[:, :l]).sum(-1)  # [u]
                schur = piv[:, l] * piv[:, l]  # [u]
                out[sel[lo:lo + self.max_chunk]] = self._assemble(c_j, torch.full_like(schur, float(l)),
                                                                  logdet_pa, schur)
        return out

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
            masks = ((uniq // d)[:, None] // self._pow2 % 2).to(torch.float64)  # [U, d]
        else:  # d > 56: the parent set as several 56-bit words, and the node, one row per family
            words = _pack_bits(gb.transpose(-1, -2).reshape(-1, d))  # [B*d, W]
            nodes_all = torch.arange(d, device=g.device).repeat(gb.shape[0])  # [B*d]
            rows = torch.cat([nodes_all[:, None], words], 1)  # [B*d, 1 + W]
            uniq, inverse = _unique_rows(rows)  # [U, 1 + W], [B*d]
            nodes = uniq[:, 0]  # [U]
            masks = _unpack_bits(uniq[:, 1:], d).to(torch.float64)  # [U, d]
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
        keep = _keep_mask(x64, interv_mask)  # [n, d]
        C = torch.einsum("rj,ra,rb->jab", keep, x64, x64)  # [d(node), d, d]
        ar = torch.arange(self.d, device=device)
        self.C = C.to(dtype)  # [d, d, d]
        self.C_col = C[ar, :, ar].T.contiguous().to(dtype)  # [d(a), d(j)]  C_j[a, j]
        self.C_diag = C[ar, ar, ar].to(dtype)  # [d]  C_j[j, j]
        self.n_obs = keep.sum(0).to(dtype)  # [d]
        # without interventions every C_j is the same XᵀX: one [d, d] matrix does for all nodes
        self._C_shared = self.C[0].T.contiguous() if bool((C == C[0]).all()) else None  # [d(b), d(a)]
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
        if self._C_shared is not None:  # one GEMM [P·S·d(j), d(b)] @ [d(b), d(a)]
            d = self.d
            wt = w.transpose(-1, -2).reshape(-1, d)  # [P·S·d(j), d(b)]
            return (wt @ self._C_shared).reshape(*w.shape[:-2], d, d).transpose(-1, -2)
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
        self.chunk_elements = 1 << 21  # activations per chunk in log_joint_grad (8 MB in float32)
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

    def log_joint_grad(self, g: torch.Tensor, theta: torch.Tensor, *, wrt: str = "g"):
        """``log_joint`` and its gradient per sample by hand-written backpropagation (no autograd).

        Works in the row-major layout [n, P, S, d, H] so that the first layer of every
        (particle, sample, node) is one GEMM x [n, d] @ A [d, P·S·d·H], with
        A[i, p, s, j, h] = G_ij W1_jih, and its backward pass another, xᵀ @ δhid.

        Args:
            g: [P, S, d, d] graphs (soft or hard); theta: [P, T]; wrt: 'g' or 'theta'.
        Returns:
            (log_joint [P, S], gradient [P, S, d, d] with respect to g, or [P, S, T] with
            respect to theta in the flat layout of ``unpack``).
        """
        if wrt not in ("g", "theta"):
            raise ValueError(f"wrt must be 'g' or 'theta', got {wrt!r}")
        # particles are independent: go through them in chunks whose [n, P_c, S, d, H]
        # activations stay in cache (every pass over them is memory-bound otherwise)
        P, S = theta.shape[0], g.shape[1]
        per_particle = self.x.shape[0] * S * self.d * self.hidden
        step = max(1, self.chunk_elements // per_particle)
        parts = [self._log_joint_grad_chunk(g[lo:lo + step], theta[lo:lo + step], wrt)
                 for lo in range(0, P, step)]
        return torch.cat([v for v, _ in parts]), torch.cat([gr for _, gr in parts])

    def _log_joint_grad_chunk(self, g: torch.Tensor, theta: torch.Tensor, wrt: str):
        """``log_joint_grad`` for one chunk of particles: g [P, S, d, d], theta [P, T]."""
        d, H, P, S = self.d, self.hidden, theta.shape[0], g.shape[1]
        n = self.x.shape[0]
        w1, b1, w2, b2 = self.unpack(theta)  # [P, d(j), d(i), H], [P, d, H], [P, d, H], [P, d]
        inv_var, inv_var_p = 1.0 / self.obs_noise, 1.0 / self.sigma_param ** 2
        w1_i = w1.permute(2, 0, 1, 3)[:, :, None]  # [d(i), P, 1, d(j), H]
        a = torch.empty((d, P, S, d, H), dtype=theta.dtype, device=theta.device)  # contiguous for the GEMM
        torch.mul(g.permute(2, 0, 1, 3)[..., None], w1_i, out=a)  # [d(i), P, S, d(j), H]
        hid = (self.x @ a.reshape(d, -1)).reshape(n, P, S, d, H)  # [n, P, S, d, H]
        hid += b1[:, None]
        r = hid.clamp_(min=0.0)  # relu in place: [n, P, S, d, H]
        w2_b = w2[:, None]  # [P, 1, d, H]
        mu = (r * w2_b).sum(-1) + b2[:, None]  # [n, P, S, d]
        resid = (self.x[:, None, None] - mu).mul_(self.keep[:, None, None])  # [n, P, S, d]
        loglik = self._loglik_const - (0.5 * inv_var) * (resid * resid).sum((0, 3))  # [P, S]
        lp_w1 = self._log_normal(w1).sum(-1)  # [P, d(j), d(i)]
        prior_w1 = (g * lp_w1.transpose(-1, -2)[:, None]).sum((-2, -1))  # [P, S]
        prior_rest = (self._log_normal(b1).sum((-2, -1)) + self._log_normal(w2).sum((-2, -1))
                      + self._log_normal(b2).sum(-1))  # [P]
        value = loglik + prior_w1 + prior_rest[:, None]  # [P, S]
        d_mu = resid.mul_(inv_var)  # [n, P, S, d]  ∂ loglik / ∂mu
        d_hid = torch.sign(r).mul_(d_mu[..., None]).mul_(w2_b)  # [n, P, S, d, H]  relu' = sign(r) as r >= 0
        d_a = (self.x.T @ d_hid.reshape(n, -1)).reshape(d, P, S, d, H)  # [d(i), P, S, d(j), H]
        if wrt == "g":
            d_g = (d_a * w1_i).sum(-1).permute(1, 2, 0, 3)  # [P, S, d(i), d(j)]
            return value, d_g + lp_w1.transpose(-1, -2)[:, None]
        g_i = g.permute(2, 0, 1, 3)[..., None]  # [d(i), P, S, d(j), 1]
        d_w1 = (g_i * (d_a - w1_i * inv_var_p)).permute(1, 2, 3, 0, 4)  # [P, S, d(j), d(i), H]
        d_b1 = d_hid.sum(0) - (b1 * inv_var_p)[:, None]  # [P, S, d, H]
        d_w2 = (d_mu[..., None] * r).sum(0) - (w2 * inv_var_p)[:, None]  # [P, S, d, H]
        d_b2 = d_mu.sum(0) - (b2 * inv_var_p)[:, None]  # [P, S, d]
        return value, torch.cat([d_w1.reshape(P, S, -1), d_b1.reshape(P, S, -1),
                                 d_w2.reshape(P, S, -1), d_b2], dim=-1)  # [P, S, T]

    def log_density_rows(self, x, interv_mask, g: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """Per-row log densities: x [m, d], interv_mask [m, d], g [K, d, d], theta [K, T] -> [K, m]."""
        x = torch.as_tensor(np.asarray(x), dtype=theta.dtype, device=theta.device)  # [m, d]
        keep = _keep_mask(x, interv_mask)  # [m, d]
        mu = self.means(x, g.to(theta.dtype)[:, None], theta)[:, 0]  # [K, m, d]
        lp = -0.5 * (_LOG_2PI + math.log(self.obs_noise)) - (x - mu) ** 2 / (2 * self.obs_noise)
        return (lp * keep).sum(-1)
