"""Shared helpers of the torchdibs tests."""
import torch


def seeded(seed: int) -> torch.Generator:
    """A seeded CPU generator (every torchdibs random draw takes one explicitly)."""
    return torch.Generator().manual_seed(seed)


def all_graphs(d: int) -> torch.Tensor:
    """[2^(d(d−1)), d, d] float64: every graph p(G | Z) can produce (diagonal 0, cyclic
    ones included), graph b having edge number e iff bit e of b is set."""
    off = [(i, j) for i in range(d) for j in range(d) if i != j]
    bits = (torch.arange(2 ** len(off))[:, None] >> torch.arange(len(off))) & 1  # [B, d(d−1)]
    g = torch.zeros(len(bits), d, d, dtype=torch.float64)
    g[:, [i for i, _ in off], [j for _, j in off]] = bits.double()
    return g
