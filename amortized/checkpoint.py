"""Saved AVICI models: the weights with the architecture and training record beside them.

A model file (``model.pt``, torch.save of a plain dict, loaded with ``weights_only=True``
so that opening a checkpoint runs no pickled code) holds ``format``, ``model_kwargs`` (the
AviciNet constructor's arguments), ``state_dict``, ``spec`` (the training config block) and
``info`` (steps, datasets seen, wall time, final validation scores, versions).
"""
from __future__ import annotations

from pathlib import Path

import torch

from amortized.model import AviciNet

FORMAT = "dagbench-amortized/1"

#: the checkpoint shipped with dagbench (amortized/weights/README.md says how it was made)
SHIPPED = Path(__file__).resolve().parent / "weights" / "avici-lin-rff-d20.pt"


class CheckpointError(ValueError):
    """A model file is missing or not one this package wrote; the message names the file."""


def save_model(net: AviciNet, path: str | Path, *, spec: dict, info: dict) -> None:
    """Write ``net`` (its weights in float32 on the CPU) to ``path`` atomically."""
    from dagbench.io import atomic_path

    state = {"format": FORMAT, "model_kwargs": dict(net.kwargs),
             "state_dict": {k: v.detach().to("cpu", torch.float32) for k, v in net.state_dict().items()},
             "spec": spec, "info": info}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_model(path: str | Path | None = None, *, device: str | torch.device = "cpu") -> tuple[AviciNet, dict]:
    """(network in eval mode, the file's dict without the weights) from ``path`` (default:
    the shipped model). Raises CheckpointError naming the file when it is missing,
    damaged or of another format."""
    path = Path(path) if path else SHIPPED
    if not path.is_file():
        raise CheckpointError(f"amortized model file {path} does not exist")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # truncated zip, pickle refused, not a torch file ...
        raise CheckpointError(f"{path} is not a readable model file ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a dagbench amortized model (format {FORMAT}); a training "
                              "checkpoint.pt cannot be used directly, use the model.pt written when training ends")
    net = AviciNet(**state["model_kwargs"])
    try:
        net.load_state_dict(state["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: the weights do not fit the recorded architecture ({exc})") from None
    net.to(device).eval()
    return net, {k: v for k, v in state.items() if k != "state_dict"}
