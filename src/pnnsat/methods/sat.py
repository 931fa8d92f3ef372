"""``sat``: sharpness-aware training — SAM on the control parameters Θ (Xu et al., seed paper).

One step on a batch (Foret et al. 2021, applied to Θ only):

1. g = ∇_Θ L(Θ, w) at the current controls (BatchNorm statistics are updated here, once);
2. ascent ε = ρ · g / ‖g‖ — or, ``adaptive`` (ASAM, Kwon et al. 2021),
   ε = ρ · T² g / ‖T g‖ with T = |Θ| + η element-wise;
3. gradient of L at (Θ + ε, w) for *all* parameters (digital weights included), with BatchNorm
   statistics frozen;
4. Θ is restored exactly (bit for bit) and the base optimizer steps with that gradient.

Two gradient evaluations per step. ``adaptive`` scales by |Θ|: meaningful for MRR detunings,
meaningless for 2π-periodic phases, where it defaults off.

**Scope** (``scope``): ``controls`` (the default, the paper's text) perturbs the physical controls
Θ only; ``all`` perturbs every trainable parameter — digital convolutions, fully connected layers
and BatchNorm affine parameters as well — as the authors' code does (SAM applied to the whole
model); the ascent's norm is then taken over all of them.

**Reused ascent** (``ascent_every: k``, default 1 = exact SAM): steps 1–2 run every k-th step
only; the k − 1 steps in between reuse the last ascent ε (and the last perturbation ascent) and
take one gradient, at Θ + ε, updating BatchNorm statistics there (once per step, as always). The
cost falls from two gradient evaluations per step to (k + 1)/k; the ascent direction lags behind
Θ by up to k − 1 steps (in the spirit of LookSAM, Liu et al. 2022, and of SAM's "m-sharpness"
shortcuts). On reuse steps the reported loss and outputs are those at Θ + ε.

**Perturbation-aware ascent** (the paper's second modification). ``perturbation_ascent`` maps
fields of the platform's perturbation (e.g. ``rotation_deg``, ``delta_T_K``) to an ascent radius
r_f in the field's units. In step 2 the fields also move uphill, as SAM does, on the ellipsoid
with semi-axes r_f: δ_f = r_f² s_f / ‖(r_g s_g)_g‖ with slopes s_f = ∂L/∂p_f (one field:
δ = r·sign(s)); step 3 evaluates the gradient at (Θ + ε, nominal + δ). ∂L/∂p_f comes from the
first backward pass where the platform's forward is differentiable in p_f
(``perturbation_gradient: exact``), or from a one-sided finite difference
(L(nominal + r_f) − L(nominal)) / r_f, one extra forward per field (``finite_difference``, the
only option for a black-box device); ``auto`` tries exact and falls back to finite differences
for good if a field has no gradient.

**Random perturbation** (``perturbation_mode: random``, the authors' recipe for misalignment):
instead of moving uphill, each step draws every field of ``perturbation_ascent`` uniformly in
[nominal, nominal + r_f] (a fresh draw per step, from a generator seeded by the training seed) and
takes the descent gradient at (Θ + ε, that pose). The authors' code adds a finite-difference
nudge of 0.03 · ∂L/∂p to the drawn pose; with their nearest-neighbour rotation that slope was zero
in most logged steps, and it is not reproduced here.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import torch
from torch import nn

from .. import ieee
from ..platforms.base import Platform
from .base import LossFn, Method, StepResult, TrainingContext, frozen_batchnorm_statistics

GRADIENT_MODES = ("auto", "exact", "finite_difference")
PERTURBATION_MODES = ("ascent", "random")
SCOPES = ("controls", "all")


def ascent_direction(controls: list[torch.Tensor], grads: list[torch.Tensor | None], rho: float,
                     adaptive: bool, eta: float) -> list[torch.Tensor]:
    """ε for each control tensor (see module docstring); zeros where the gradient is None/0."""
    grads = [torch.zeros_like(p) if g is None else g for p, g in zip(controls, grads, strict=True)]
    if adaptive:
        scales = [p.detach().abs() + eta for p in controls]
        scaled = [s * g for s, g in zip(scales, grads, strict=True)]
    else:
        scales = [torch.ones_like(p) for p in controls]
        scaled = grads
    norm = ieee.sqrt(sum((t * t).sum() for t in scaled))
    if norm == 0:
        return [torch.zeros_like(p) for p in controls]
    return [rho * s * t / norm for s, t in zip(scales, scaled, strict=True)]


def perturbation_ascent(slopes: dict[str, float], radii: dict[str, float]) -> dict[str, float]:
    """SAM's ascent in the perturbation coordinates, on the ellipsoid of radii r_f:
    δ_f = r_f² s_f / ‖(r_g s_g)_g‖ for slopes s_f = ∂L/∂p_f. One field: δ = r·sign(s). Fields move
    together along the steepest direction, never all to their full radius at once."""
    norm = sum((radii[k] * slopes[k]) ** 2 for k in radii) ** 0.5
    if norm == 0:
        return {k: 0.0 for k in radii}
    return {k: radii[k] ** 2 * slopes[k] / norm for k in radii}


class SharpnessAware(Method):
    """SAM on Θ (module docstring). rho: ascent radius in the controls' units (nm for MRR
    detunings, rad for phases); adaptive / eta: ASAM scaling T = |Θ| + eta;
    perturbation_ascent: {perturbation field: radius in the field's units};
    perturbation_gradient: auto | exact | finite_difference; scope: controls (Θ) | all
    (every trainable parameter)."""

    name = "sat"

    def __init__(self, rho: float, adaptive: bool = False, eta: float = 0.01,
                 perturbation_ascent: dict[str, float] | None = None,
                 perturbation_gradient: str = "auto", ascent_every: int = 1,
                 scope: str = "controls", perturbation_mode: str = "ascent") -> None:
        if perturbation_mode not in PERTURBATION_MODES:
            raise ValueError(f"{self.name}: perturbation_mode = {perturbation_mode!r}; choose one "
                             f"of {PERTURBATION_MODES}.")
        self.perturbation_mode = perturbation_mode
        self.generator: torch.Generator | None = None
        if scope not in SCOPES:
            raise ValueError(f"{self.name}: scope = {scope!r}; choose one of {SCOPES} (controls: "
                             "the physical controls only; all: every trainable parameter).")
        self.scope = scope
        if rho < 0:
            raise ValueError(f"{self.name}: rho = {rho} is negative; the ascent radius must be "
                             ">= 0.")
        if perturbation_gradient not in GRADIENT_MODES:
            raise ValueError(f"{self.name}: perturbation_gradient = {perturbation_gradient!r}; "
                             f"choose one of {GRADIENT_MODES}.")
        self.rho, self.adaptive, self.eta = float(rho), bool(adaptive), float(eta)
        self.radii = {k: float(v) for k, v in (perturbation_ascent or {}).items()}
        for field_name, radius in self.radii.items():
            if radius < 0:
                raise ValueError(f"{self.name}: perturbation_ascent.{field_name} = {radius} is "
                                 "negative; radii must be >= 0.")
        if isinstance(ascent_every, bool) or int(ascent_every) != ascent_every or ascent_every < 1:
            raise ValueError(f"{self.name}: ascent_every = {ascent_every!r} must be an integer "
                             ">= 1 (1: the exact two-gradient step every time).")
        self.ascent_every = int(ascent_every)
        #: steps taken, and the last ascent (ε per control, ascended perturbation) for reuse
        self.steps_taken = 0
        self.last_eps: list[torch.Tensor] | None = None
        self.last_ascended: dict[str, float] | None = None
        self.gradient_mode = perturbation_gradient
        self.perturbation_cls: type | None = None
        #: how ∂L/∂p was obtained in the last step: "exact", "finite_difference" or None
        self.used_gradient: str | None = None

    def validate_for(self, platform: Platform) -> None:
        known = {f.name for f in fields(platform.perturbation)}
        unknown = sorted(set(self.radii) - known)
        if unknown:
            raise ValueError(f"{self.name}: perturbation_ascent names {unknown}, which are not "
                             f"fields of {platform.perturbation.__name__}; allowed: "
                             f"{sorted(known)}.")

    def bind(self, model: nn.Module, context: TrainingContext) -> None:
        super().bind(model, context)
        if not self.radii:
            return
        self.perturbation_cls = context.platform.perturbation
        defaults = {f.name: f.default for f in fields(self.perturbation_cls)}
        self.nominal = {k: float(defaults[k]) for k in self.radii}
        if self.perturbation_mode == "random":  # the poses drawn depend on the seed only
            self.generator = torch.Generator().manual_seed(1_000_003 + int(context.seed))

    def perturbed(self, model: nn.Module) -> list[torch.Tensor]:
        """The parameters the ascent moves: Θ (``scope: controls``) or every trainable one."""
        if self.scope == "all":
            return [p for p in model.parameters() if p.requires_grad]
        return list(model.control_parameters())

    def _perturbation(self, values: dict[str, Any]) -> Any | None:
        return None if self.perturbation_cls is None else self.perturbation_cls(**values)

    def _first_pass(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                    loss_fn: LossFn) -> tuple[torch.Tensor, torch.Tensor, dict[str, float] | None]:
        """Loss and outputs at (Θ, nominal); backward done. Returns ∂L/∂p if obtained exactly."""
        exact = (self.radii and self.gradient_mode != "finite_difference"
                 and self.perturbation_mode == "ascent")
        if not exact:
            outputs = model(x, perturbation=self._perturbation(self.nominal)) if self.radii \
                else model(x)
            loss = loss_fn(outputs, y)
            loss.backward()
            return loss, outputs, None
        probes = {k: torch.tensor(v, requires_grad=True) for k, v in self.nominal.items()}
        outputs = model(x, perturbation=self._perturbation(probes))
        loss = loss_fn(outputs, y)
        loss.backward()
        missing = [k for k, t in probes.items() if t.grad is None]
        if missing:
            if self.gradient_mode == "exact":
                raise ValueError(f"{self.name}: perturbation_gradient is 'exact' but the "
                                 f"platform's forward is not differentiable in {missing}; use "
                                 "'finite_difference' or 'auto'.")
            self.gradient_mode = "finite_difference"  # auto: fall back for the rest of training
            return loss, outputs, None
        return loss, outputs, {k: float(t.grad) for k, t in probes.items()}

    @torch.no_grad()
    def _finite_difference(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                           loss_fn: LossFn, loss0: float) -> dict[str, float]:
        """One-sided slopes (L(nominal + r_f) − L(nominal)) / r_f, one forward per field."""
        slopes = {}
        with frozen_batchnorm_statistics(model):
            for k, radius in self.radii.items():
                shifted = dict(self.nominal, **{k: self.nominal[k] + radius})
                loss = float(loss_fn(model(x, perturbation=self._perturbation(shifted)), y))
                slopes[k] = (loss - loss0) / radius if radius > 0 else 0.0
        return slopes

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {}
        if self.ascent_every > 1:
            state.update(steps_taken=self.steps_taken, last_eps=self.last_eps,
                         last_ascended=self.last_ascended)
        if self.generator is not None:
            state["generator"] = self.generator.get_state()
        return state

    def load_state_dict(self, state: Any) -> None:
        if state and "steps_taken" in state:
            self.steps_taken = int(state["steps_taken"])
            self.last_eps, self.last_ascended = state["last_eps"], state["last_ascended"]
        if state and "generator" in state and self.generator is not None:
            self.generator.set_state(state["generator"])

    def _random_pose(self) -> dict[str, float]:
        """Every field drawn uniformly in [nominal, nominal + r_f] (``perturbation_mode``)."""
        return {k: self.nominal[k] + r * float(torch.rand(1, generator=self.generator))
                for k, r in self.radii.items()}

    def _gradient_at(self, model: nn.Module, eps: list[torch.Tensor], ascended: dict | None,
                     x: torch.Tensor, y: torch.Tensor,
                     loss_fn: LossFn) -> tuple[torch.Tensor, torch.Tensor]:
        """Backward of the loss at (Θ + ε, the ascended perturbation, if any); Θ is restored bit
        for bit afterwards. Returns the loss and the outputs there."""
        controls = self.perturbed(model)
        with torch.no_grad():
            saved = [p.detach().clone() for p in controls]
            for p, e in zip(controls, eps, strict=True):
                p.add_(e)
        try:
            outputs = model(x) if ascended is None else \
                model(x, perturbation=self._perturbation(ascended))
            loss = loss_fn(outputs, y)
            loss.backward()
        finally:
            with torch.no_grad():
                for p, original in zip(controls, saved, strict=True):
                    p.copy_(original)
        return loss, outputs

    def _reuse_step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                    optimizer: torch.optim.Optimizer, loss_fn: LossFn) -> StepResult:
        """One gradient at Θ + (the last ε), under the last perturbation ascent."""
        optimizer.zero_grad(set_to_none=True)
        with self.forward_context():
            loss, outputs = self._gradient_at(model, self.last_eps, self.last_ascended, x, y,
                                              loss_fn)
        optimizer.step()
        return StepResult(loss=float(loss.detach()), outputs=outputs.detach())

    def ascend(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: LossFn
               ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor], dict[str, float] | None]:
        """SAM's first step (steps 1–2 of the module docstring): the loss, outputs and gradient at
        (Θ, nominal), then the ascent ε of the perturbed parameters and, with
        ``perturbation_ascent``, the ascended (or drawn) perturbation. Gradients are left in
        ``.grad``; the caller zeroes them before the descent."""
        loss, outputs, slopes = self._first_pass(model, x, y, loss_fn)
        ascended = None
        if self.radii and self.perturbation_mode == "random":
            ascended = self._random_pose()
        elif self.radii:
            self.used_gradient = "exact" if slopes is not None else "finite_difference"
            if slopes is None:
                slopes = self._finite_difference(model, x, y, loss_fn, float(loss.detach()))
            ascended = {k: self.nominal[k] + e for k, e in
                        perturbation_ascent(slopes, self.radii).items()}
        controls = self.perturbed(model)
        with torch.no_grad():
            eps = ascent_direction(controls, [p.grad for p in controls], self.rho,
                                   self.adaptive, self.eta)
        if self.ascent_every > 1:
            self.last_eps, self.last_ascended = [e.detach() for e in eps], ascended
        return loss, outputs, eps, ascended

    def step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
             optimizer: torch.optim.Optimizer, loss_fn: LossFn) -> StepResult:
        """SAM's two steps: :meth:`ascend`, then the descent — the gradient at (Θ + ε, the
        ascended perturbation) with BatchNorm statistics frozen, Θ restored, the optimizer's step
        (steps 3–4). Reuse steps (``ascent_every`` > 1) take the descent only."""
        reuse = (self.ascent_every > 1 and self.last_eps is not None
                 and self.steps_taken % self.ascent_every != 0)
        self.steps_taken += 1
        if reuse:
            return self._reuse_step(model, x, y, optimizer, loss_fn)
        optimizer.zero_grad(set_to_none=True)
        with self.forward_context():
            loss, outputs, eps, ascended = self.ascend(model, x, y, loss_fn)
            optimizer.zero_grad(set_to_none=True)
            with frozen_batchnorm_statistics(model):
                self._gradient_at(model, eps, ascended, x, y, loss_fn)
        optimizer.step()
        return StepResult(loss=float(loss.detach()), outputs=outputs.detach())
