"""Square roots rounded as IEEE 754 prescribes, for numerics level ``ieee`` (pnnsat.numerics).

torch's CPU ``sqrt`` on tensors of 8 or more elements is not correctly rounded: on this project's
AMD EPYC 17 041 of 100 003 float32 results (and 1 314 of 100 003 float64 ones) are one unit in
the last place off the IEEE result, and the Intel Xeon of ``../shared/cross-cpu`` rounds them
differently again — at the same pinned ATen capability, oneDNN cap and MKL branch. Every Adam step
takes one (its denominator √v̂), and so do the MZI couplers, the diffractive transfer function and
its intensity normalisation: this one kernel is what still makes two CPUs train different models.

IEEE 754 requires sqrt to be correctly rounded, and the x86 instructions (SQRTPS, SQRTPD) are on
every CPU; numpy's ``sqrt`` uses them. At level ``ieee`` the library's square roots (:func:`sqrt`)
and its Adam (:class:`Adam`, via :func:`adam`) go through numpy on CPU tensors, so they give the
same bits on every x86-64 CPU. At every other level they are torch's own, bit for bit as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

from .numerics import current_level

#: the level at which square roots are IEEE-rounded
LEVEL = "ieee"


def enabled() -> bool:
    """True if this process computes at level ``ieee``."""
    return current_level() == LEVEL


def ieee_sqrt(x: torch.Tensor) -> torch.Tensor:
    """√x of a CPU tensor, correctly rounded (NumPy's sqrt: the CPU's IEEE instruction); not
    differentiable (see :func:`sqrt`). Other devices keep torch's sqrt."""
    if x.device.type != "cpu" or x.is_complex():
        return torch.sqrt(x)
    values = x.detach().numpy()
    out = np.empty_like(values)  # (an ndarray for 0-d input too, where np.sqrt gives a scalar)
    with np.errstate(invalid="ignore"):  # √ of a negative is NaN, as torch's (no warning)
        np.sqrt(values, out=out)
    return torch.from_numpy(out)


class _Sqrt(torch.autograd.Function):
    """√x with torch's derivative, d√x/dx = 1 / (2√x), itself differentiable (Hessian-vector
    products of the sharpness measures take a second derivative)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return ieee_sqrt(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad / (2 * sqrt(x))


def sqrt(x: torch.Tensor) -> torch.Tensor:
    """√x as the library computes it: IEEE-rounded at level ``ieee``, torch's elsewhere."""
    return _Sqrt.apply(x) if enabled() else torch.sqrt(x)


class Adam(torch.optim.Optimizer):
    """Adam exactly as ``torch.optim.Adam`` computes it on CPU (its single-tensor path, no
    amsgrad), with the square root of its denominator taken by ``root`` (default: IEEE-rounded).

    lr: step size; betas: decay of the first and second moment averages; eps: added to the
    denominator; weight_decay: L2 coefficient added to the gradient (as torch.optim.Adam)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0,
                 root: Callable[[torch.Tensor], torch.Tensor] = ieee_sqrt) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay})
        self.root = root

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.is_complex():
                    raise TypeError("pnnsat.ieee.Adam takes real parameters only.")
                grad = p.grad
                if group["weight_decay"] != 0:
                    grad = grad.add(p, alpha=group["weight_decay"])
                state = self.state[p]
                if not state:
                    state["step"] = torch.tensor(0.0)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                step = state["step"].item()
                bias_correction1 = 1 - beta1**step
                bias_correction2_sqrt = (1 - beta2**step) ** 0.5
                denom = (self.root(exp_avg_sq) / bias_correction2_sqrt).add_(group["eps"])
                p.addcdiv_(exp_avg, denom, value=-group["lr"] / bias_correction1)
        return loss


def adam(params: Iterable[Any], lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """The library's Adam: :class:`Adam` (IEEE square roots) at level ``ieee``, else
    ``torch.optim.Adam``."""
    if enabled():
        return Adam(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
