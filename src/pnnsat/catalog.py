"""The study's catalog: every fact about its methods, platforms, tables and figures, said once.

Everything else reads these tables: the method and platform registries (``pnnsat.methods``,
``pnnsat.platforms``), the plotting style, the config schema's enums (:func:`pnnsat.config.schema`),
the Snakemake rules (figures, their tables, parameters and captions; scheduling costs), the figure
notebooks (``platforms = None`` and ``methods = None`` resolve here) and the README's figure table
(``python -m pnnsat.catalog`` prints it; a test compares).

Pure data and a few pure functions: no torch, numpy or pandas at import, so the Snakefile plans the
DAG from it. Pipeline jobs do not list this file among their code inputs; each job gets the rows it
depends on as Snakemake ``params`` instead, so an edit reruns exactly the jobs whose rows changed
(a method's colour: the figures that draw that method; its class: its training).

Adding a method: its module in ``pnnsat/methods/`` plus one :data:`METHODS` row (and its config
block). Adding a platform: its module in ``pnnsat/platforms/``, one :data:`PLATFORMS` row, its
``platform_specific`` keys in ``config/schema.yaml`` and its config block (``docs/pipeline.md``,
"Extending").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

#: the two training families: ``in silico`` (offline: trained on the twin) and ``in situ``
#: (online: trained on device A through measurements); line style of each in every figure
FAMILY_LINESTYLE = {"in silico": "-", "in situ": "--"}


@dataclass(frozen=True)
class MethodRow:
    """One training method.

    family: ``in silico`` or ``in situ`` (:data:`FAMILY_LINESTYLE`); cls: its class as
    ``module:Class`` in ``pnnsat.methods``, called with the method's config block; label, colour
    (hex, Okabe–Ito palette: distinguishable with colour-vision deficiencies) and marker: how every
    figure draws it; step_ratio: its training step's time relative to bp's (``make bench``), for
    scheduling only."""

    family: str
    cls: str
    label: str
    colour: str
    marker: str
    step_ratio: float = 2.0


#: method id -> its row. Order = plotting order (in silico first).
METHODS: dict[str, MethodRow] = {
    "bp": MethodRow("in silico", "bp:Backprop", "BP", "#000000", "o", 1.0),
    "nat": MethodRow("in silico", "nat:NoiseAware", "NAT", "#E69F00", "s", 1.05),
    "hat": MethodRow("in silico", "hat:HardwareAware", "HAT", "#56B4E9", "^", 2.0),
    "sat": MethodRow("in silico", "sat:SharpnessAware", "SAT", "#D55E00", "D", 2.0),
    "pat": MethodRow("in situ", "pat:PhysicsAware", "PAT", "#009E73", "v", 1.2),
    "dat": MethodRow("in situ", "dat:DualAdaptive", "DAT", "#0072B2", "P", 1.5),
    "sat_pat": MethodRow("in situ", "sat_pat:SharpnessAwarePAT", "SAT+PAT", "#CC79A7", "X", 2.5),
}


@dataclass(frozen=True)
class PlatformRow:
    """One PNN type.

    module: its module in ``pnnsat.platforms`` (defines ``PLATFORM``); label: panel title;
    marker: its scatter marker where platforms share a panel; rho_unit: the unit of SAT's ascent
    radius ρ on it (its controls' unit, or ``relative`` under ASAM's |Θ| scaling); control_unit:
    the unit of its controls Θ (curvatures w.r.t. Θ are per control_unit²); field_labels: axis
    label, with units, of every field of its fabrication and perturbation dataclasses that a
    sweep can vary; bp_step_s: seconds of one bp training step (batch 128, one thread, ``make
    bench``), for scheduling only; yield_spec_pct: the test accuracy (%) a chip must reach to
    count towards the yield (figS3: about ten points under the twin's accuracy)."""

    module: str
    label: str
    marker: str
    rho_unit: str
    control_unit: str
    field_labels: dict[str, str] = field(default_factory=dict)
    bp_step_s: float = 0.05
    yield_spec_pct: float = 80.0


#: platform id -> its row (a test checks that every fabrication and perturbation field has a
#: label)
PLATFORMS: dict[str, PlatformRow] = {
    "mrr": PlatformRow("mrr", "MRR weight bank", "o", "relative", "nm", {
        "resonance_sigma_nm": "Resonance-offset σ (nm)",
        "crosstalk_kappa": "Thermal crosstalk κ",
        "delta_T_K": "Temperature change ΔT (K)",
        "carrier_offset_nm": "Carrier offset (nm)",
        "carrier_sigma_nm": "Carrier misalignment σ_λ (nm)",
        "carrier_seed": "Carrier-grid seed",
    }, bp_step_s=0.023, yield_spec_pct=80),
    "mzi": PlatformRow("mzi", "MZI mesh", "s", "rad", "rad", {
        "splitter_sigma": "Splitter-error σ",
        "phase_sigma_rad": "Phase-error σ (rad)",
        "beta_spread": "Thermo-optic spread (relative)",
        "crosstalk_kappa": "Thermal crosstalk κ",
        "delta_T_K": "Temperature change ΔT (K)",
        "input_offset_um": "Input fibre-array offset (µm)",
        "input_angle_deg": "Input fibre-array rotation (°)",
        "output_offset_um": "Output fibre-array offset (µm)",
        "output_angle_deg": "Output fibre-array rotation (°)",
    }, bp_step_s=0.023, yield_spec_pct=80),
    "d2nn": PlatformRow("d2nn", "Diffractive (D2NN)", "^", "rad", "rad", {
        "phase_sigma_rad": "Phase-error σ (rad)",
        "axial_sigma_um": "Axial-position σ (µm)",
        "crosstalk": "Pixel crosstalk",
        "rotation_deg": "Mask rotation (°)",
        "shift_x_px": "Mask shift x (pixels)",
        "shift_y_px": "Mask shift y (pixels)",
        "scale": "Mask magnification",
        "axial_error_um": "Axial error (µm)",
        "delta_T_K": "Temperature change ΔT (K)",
    }, bp_step_s=0.042, yield_spec_pct=75),
}

#: per-model evaluation tables (one evaluate job per platform and method writes all of them)
#: -> the key of the platform's config block that holds the table's sweep (None: no sweep)
MODEL_TABLES: dict[str, str | None] = {
    "training": None,
    "curves": None,
    "thermal_drift": "thermal_drift_K",
    "alignment": "alignment",
    "cross_device": "cross_device",
    "fresh_chips": "fresh_chips",
}


@dataclass(frozen=True)
class FigureRow:
    """One figure: its notebook is ``notebooks/<id>.ipynb``.

    tables: the tables its notebook reads (``<figures_dir>/tables/<name>.csv``; the training
    tables of their models are added by :func:`figure_tables`); caption: the README's and the
    report's caption; platforms, methods: what it draws — ``None``: every one the run has, a
    tuple: those of them, or a config key path (``"rho_sweep.platforms"``) whose list it draws;
    without_platforms: platforms never drawn; derived: parameters computed from the run's config
    (names of :data:`DERIVED`); needs: config key paths besides those in platforms and methods
    that must hold at least one entry for the figure to be drawn (:func:`empty_config_lists`)."""

    tables: tuple[str, ...]
    caption: str
    platforms: tuple[str, ...] | str | None = None
    methods: tuple[str, ...] | str | None = None
    without_platforms: tuple[str, ...] = ()
    derived: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()


#: figure id -> its row, in the README's order
FIGURES: dict[str, FigureRow] = {
    "fig1_sharpness": FigureRow(
        ("sharpness", "landscape", "thermal_drift", "fresh_chips"),
        "Curvature of the loss w.r.t. the controls Θ on the twin (Hessian-vector products): 2-D "
        "landscape of MRR bp vs sat, λmax (the algebraically largest eigenvalue, Lanczos) and "
        "Hessian trace per method on each platform's own axis, and λmax vs the twin → device-A "
        "accuracy drop over the offline models; the summary gives SAT's λmax relative to bp's "
        "(paired over seeds) and Spearman's ρ with its bootstrap interval."),
    "fig2_offline_vs_online": FigureRow(
        ("thermal_drift", "training", "fresh_chips"),
        "Accuracy on hardware at nominal conditions for the four offline methods (bp, nat, hat, "
        "sat: each seed's mean over device A and 10 fresh chips of the same design — 4 on the "
        "D2NN — with 95 % intervals over 3 seeds) and the three online ones (pat, dat, sat_pat: "
        "device A, the chip they trained on, over 3 seeds), the twin accuracy of the same models "
        "(diamonds); every method's difference to bp paired over seeds with its 95 % interval "
        "(open: not separated from zero); what training cost: wall time and device queries."),
    "fig3_cross_device": FigureRow(
        ("cross_device",),
        "Every model, unchanged, on fresh chips per point of a fabrication-σ grid (10 per point "
        "on the MRR, 5 on the MZI, 3 on the D2NN) (seeds never used in training): MZI heatmaps "
        "over (phase σ, splitter σ) for bp, pat, dat, sat_pat and sat; accuracy vs σ for all "
        "methods on the MRR, the D2NN and the MZI's diagonal, device A's σ (the paper's MZI test "
        "point 0.15) marked; the summary gives the paired differences there.",
        derived=("device_sigma",)),
    "fig4_thermal_drift": FigureRow(
        ("thermal_drift", "fresh_chips"),
        "Accuracy on device A vs temperature change ΔT for all seven methods (MRR: 80 pm/K ring "
        "drift; MZI: 0.1 rad/K per phase shifter, 10 % spread); mean over 3 seeds; below, SAT − "
        "BP and SAT+PAT − PAT paired over seeds with 95 % bands. The D2NN panel is left out: its "
        "drift (0.05 nm/K of 532 nm) is flat over 0–2 K by construction. The summary gives the "
        "2 K headline over device A and the fresh chips, and the authors' protocol (the twin "
        "under drift).",
        without_platforms=("d2nn",)),
    "fig5_alignment": FigureRow(
        ("alignment", "thermal_drift", "fresh_chips"),
        "Accuracy on device A under one alignment error at a time: MRR carrier misalignment, MZI "
        "input and output fibre-array rotation (a lateral offset is not swept: the normalised "
        "readout cancels a uniform loss), D2NN mask rotation (ticks also in mask-edge "
        "displacement, to compare with the paper's 128-pixel masks), shift and magnification; "
        "mean over seeds (paired SAT − BP in the summary).",
        derived=("mask_px",)),
    "fig6_multitask": FigureRow(
        ("multitask", "multitask_examples"),
        "Beyond classification on MRR weight banks under thermal drift (−2…+2 K, the paper's "
        "±0.25 K shaded), offline bp, nat and sat: classification accuracy (the method matrix's "
        "models), reconstruction MSE of an autoencoder and Fréchet distance of a VAE's generated "
        "images (features of a digital classifier trained here; Fashion-MNIST, not the paper's "
        "CIFAR-10), on the twin and on device A; example reconstructions and samples at −1, "
        "−0.25, 0, +0.25, +1 K.",
        platforms=("mrr",), methods="multitask.methods"),
    "figS1_rho": FigureRow(
        ("rho_sweep",),
        "SAT retrained on the MZI at ρ = 0.1, 0.3, 1, 3 rad (bp = ρ → 0, dashed): test accuracy "
        "on the twin, on device A and on 5 fresh chips, SAT(ρ) − BP paired over seeds with its "
        "95 % band, and λmax of the twin loss w.r.t. Θ, against ρ on a log axis.",
        platforms="rho_sweep.platforms", methods=("bp", "sat")),
    "figS2_mrr_training": FigureRow(
        ("curves", "ring_detuning"),
        "MRR bp vs sat: training loss and validation accuracy per epoch (each seed, the mean "
        "over the seeds still training, the kept epochs marked), and where the trained ring "
        "detunings sit on the Lorentzian W(Θ) and its slope.",
        platforms=("mrr",), methods=("bp", "sat")),
    "figS3_yield": FigureRow(
        ("cross_device",),
        "Yield: the fraction of fresh chips (over seeds × chips) whose accuracy meets a stated "
        "specification (MRR, MZI ≥ 80 %, D2NN ≥ 75 %), against the fabrication σ, per method; "
        "device A's σ marked, with 95 % intervals over seeds there.",
        derived=("device_sigma",)),
    "figS4_convergence": FigureRow(
        ("curves",),
        "Convergence: validation accuracy on what each model trains on (twin or device A) and "
        "training loss per epoch, every method and platform: each seed to its last epoch and "
        "the mean over the seeds still training, the kept (best) epochs marked."),
    "figS5_ablations": FigureRow(
        ("thermal_drift", "training", "fresh_chips", "ablation_thermal_drift",
         "ablation_training", "ablation_fresh_chips"),
        "Ablations of the protocol: on the MZI our first readout, the authors' optimisers, SAT "
        "over all parameters, the authors' NAT noise; on the MRR SAT with ΔT in its ascent and "
        "the authors' training budget; the controls bp + random ΔT (MRR) and bp + random pose "
        "(D2NN) — each against the default on hardware (and on the twin), and the effect "
        "ablated − default paired over seeds with its 95 % interval, at nominal conditions and "
        "at 2 K.",
        needs=("ablations",)),
    "figS6_ladder": FigureRow(
        ("ladder",),
        "The ladder from our protocol to the authors': each headline number of the paper (MRR at "
        "2 K and at 0.25 K, the MZI bars, D2NN at 1°) re-measured on the same models and seeds "
        "with one difference changed per rung (the twin as target, every ring on the side the "
        "drift pushes toward resonance, BatchNorm statistics of the test batch, the one chip, "
        "nearest-neighbour mask rotation, equal mask-edge displacement), then the trained rungs "
        "(the authors' MRR budget and MZI optimiser) and the controls bp + random ΔT / pose; "
        "mean over 3 seeds with 95 % intervals, the paper's number and the authors' one-batch "
        "score marked.",
        needs=("ladder.headlines",)),
    "figS7_precision": FigureRow(
        ("precision", "curves", "ablation_curves", "thermal_drift", "ablation_thermal_drift"),
        "Beyond the paper: every model, unchanged, on device A and 2 fresh chips driven through "
        "a DAC of 2–12 bits (MRR heaters over ±1.5 nm of detuning, MZI heaters over 2π, both "
        "∝ V²; D2NN SLM gray levels over 2π) and read with 10–10⁵ photons per detection at full "
        "scale (shot noise), against the exact chip on the same 2 000 test images; mean over 3 "
        "seeds with 95 % intervals, and the bits and photons at which each method keeps its "
        "accuracy within 1 point; the MZI's pat and sat_pat trained in situ on a device A with "
        "8-bit DACs and ADCs and 1 000 photons per detection: curves and cost.",
        needs=("precision.controls", "ablations")),
}


def _mask_px(config: Mapping[str, Any]) -> int:
    """The D2NN mask width in pixels (the rotation panel's edge-displacement axis)."""
    return int(config["platforms"].get("d2nn", {}).get("physics", {}).get("grid", 64))


def _device_sigma(config: Mapping[str, Any]) -> dict[str, float]:
    """Device A's σ on each platform's cross-device axis (its first grid field)."""
    return {p: float(block["device"].get(sorted(block["cross_device"]["grid"])[0], 0.0))
            for p, block in config["platforms"].items()}


#: figure parameters computed from the run's config: name -> function of the config
DERIVED = {"mask_px": _mask_px, "device_sigma": _device_sigma}


def derived_value(name: str, config: Mapping[str, Any] | None = None) -> Any:
    """Derived parameter ``name`` for ``config`` (None: the full run's ``config/config.yaml``,
    whose tables are the published ones) — what a notebook run by hand uses for a ``None``."""
    if config is None:
        import yaml

        from .paths import resolve

        config = yaml.safe_load(resolve("config/config.yaml").read_text(encoding="utf-8"))
    return DERIVED[name](config)


def _config_list(config: Mapping[str, Any], path: str) -> list[str]:
    value: Any = config
    for key in path.split("."):
        value = (value or {}).get(key) if isinstance(value, Mapping) else None
    return list(value or [])


def empty_config_lists(fig: str, config: Mapping[str, Any]) -> list[str]:
    """The config key paths figure ``fig`` draws from (its row's platforms and methods paths, and
    its ``needs``) that are empty in ``config``: the figure cannot be drawn from this run."""
    row = FIGURES[fig]
    paths = [p for p in (row.platforms, row.methods) if isinstance(p, str)] + list(row.needs)
    return [p for p in paths if not _config_list(config, p)]


def figure_selection(fig: str, config: Mapping[str, Any] | None = None,
                     present: Mapping[str, Iterable[str]] | None = None) -> dict[str, list[str]]:
    """The platforms and methods figure ``fig`` draws, in catalog order: those its row selects
    among the run's — the run's ``config`` (the pipeline), or the ids ``present`` in the tables it
    reads (``{"platforms": [...], "methods": [...]}``: a notebook run by hand). A row's config
    path is read from ``config``; without one, the ids present stand for it."""
    row = FIGURES[fig]
    chosen: dict[str, list[str]] = {}
    for name, catalog in (("platforms", PLATFORMS), ("methods", METHODS)):
        selection = getattr(row, name)
        run = (list(config[name]) if config is not None
               else [x for x in catalog if x in set((present or {}).get(name, catalog))])
        if isinstance(selection, str):
            run = _config_list(config, selection) if config is not None else run
        elif selection is not None:
            run = [x for x in selection if x in run]
        if name == "platforms":
            run = [p for p in run if p not in row.without_platforms]
        chosen[name] = [x for x in catalog if x in run]
    return chosen


def figure_tables(fig: str) -> list[str]:
    """The tables figure ``fig`` reads, with the training tables that
    :func:`pnnsat.tables.read_table` consults for every model table (learned flags, families)."""
    tables = list(FIGURES[fig].tables)
    flags = (["training"] if tables else []) + (
        ["ablation_training"] if any(t.startswith("ablation_") for t in tables) else [])
    return tables + [t for t in flags if t not in tables]


def figure_parameters(fig: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters a pipeline run gives figure ``fig`` beyond results_dir and figures_dir:
    what it draws (:func:`figure_selection` for the run's config) and its :data:`DERIVED` ones."""
    values: dict[str, Any] = dict(figure_selection(fig, config))
    values.update({name: DERIVED[name](config) for name in FIGURES[fig].derived})
    return values


def rows_drawn(fig: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog rows figure ``fig`` draws for the run's ``config`` (a Snakemake param of the
    figure job: an edit of one of these rows reruns this figure, and only the figures that draw
    the edited row)."""
    selection = figure_selection(fig, config)
    return {"figure": asdict(FIGURES[fig]),
            "platforms": {p: asdict(PLATFORMS[p]) for p in selection["platforms"]},
            "methods": {m: asdict(METHODS[m]) for m in selection["methods"]},
            "families": FAMILY_LINESTYLE}


def readme_figure_table() -> str:
    """The README's figure table (gallery, notebook, caption), one row per figure."""
    lines = ["| figure | notebook | what it shows |", "| --- | --- | --- |"]
    for fig, row in FIGURES.items():
        short = fig.split("_")[0]
        lines.append(f"| ![{short}](figures/{fig}.png) | `notebooks/{fig}.ipynb` | "
                     f"{row.caption} |")
    return "\n".join(lines)


if __name__ == "__main__":  # `python -m pnnsat.catalog`: the README's figure table
    print(readme_figure_table())
