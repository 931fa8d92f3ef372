"""Each figure's headline answer, read from a run's tables: the README's results table as lines.

:func:`verdict_lines` gives, per figure of :data:`pnnsat.catalog.FIGURES`, a few lines; each is
one comparison with its 95 % interval over training seeds and the word **separated** (the
interval excludes zero) or **not separated**, and the paper's number where the paper has one.
:func:`print_verdict` prints them under a header; every figure notebook calls it right after its
parameters, so a reader sees the answer before the plots.

Every method of one seed starts from the same initialisation and sees the same batches, so
every comparison of two methods (or of an ablated model and its default) is paired over seeds:
the mean of the per-seed differences with its t-interval (:func:`pnnsat.comparisons.
paired_difference`), never two separate intervals. The per-seed values are the ones the figure
notebooks compute: :func:`pnnsat.reports.seed_values` on hardware (an offline model's mean over
device A and the fresh chips, an in situ model's device A), :func:`pnnsat.ladder_report.
seed_values` on the ladder's rungs, :func:`pnnsat.precision_report.hardware_values` for the DAC
and photon sweep. Tables are read with :func:`pnnsat.tables.read_table` (models that did not
learn left out).

Most headlines share one shape, a paired difference of per-seed values at one condition: they
are declared as :class:`Paired` rows of :data:`VERDICTS` (which per-seed values, where, which
pair, the paper's number); fig1's curvature ratio and rank correlation are small functions. A
comparison whose rows a run lacks (the quick run has smaller grids) reads "… not in this run's
tables" instead of failing. Torch-free: pandas, numpy and the table readers only.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .catalog import FIGURES, PLATFORMS

if TYPE_CHECKING:
    import pandas as pd

#: what a line says when the run's tables lack its rows (a table, a grid point, an ablation)
NOT_IN_RUN = "not in this run's tables"

#: platform id -> its short name in a verdict line
SHORT = {"mrr": "MRR", "mzi": "MZI", "d2nn": "D2NN"}


class Absent(LookupError):
    """A comparison's rows are not in this run's tables (the message says which)."""


class Tables:
    """A run's tables, each read once with :func:`pnnsat.tables.read_table` (every platform and
    method; the models that did not learn left out — the notebook that calls the verdict prints
    their names when it reads the same tables, so the verdict keeps them out of its lines)."""

    def __init__(self, results_dir: str | Path) -> None:
        self.results_dir = results_dir
        self._frames: dict[str, pd.DataFrame] = {}

    def __call__(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            from .tables import read_table

            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    frame = read_table(self.results_dir, name)
            except FileNotFoundError as err:
                raise Absent(f"no {name}.csv") from err
            self._frames[name] = frame
        return self._frames[name]


#: a source of per-seed values: (tables, platform, where) -> rows with columns platform, method,
#: seed and ``value``
Source = Callable[[Tables, str, Mapping[str, Any]], "pd.DataFrame"]


@dataclass(frozen=True)
class Paired:
    """One headline comparison: ``a − b`` on ``platform``, paired over training seeds, of the
    per-seed ``value`` that :data:`SOURCES` ``[source]`` reads at ``where``.

    label: where and what is compared (the line's start); names: how ``a`` and ``b`` are written
    (default: the ids); unit: of the difference (accuracy points, epochs, MSE, …; "" for none);
    digits: decimals shown; paper: the paper's numbers for this comparison ("" where it has
    none)."""

    source: str
    platform: str
    a: str
    b: str
    label: str
    where: Mapping[str, Any] = field(default_factory=dict)
    names: tuple[str, str] | None = None
    unit: str = "points"
    digits: int = 1
    paper: str = ""


# ---------------------------------------------------------------------------------------------
# per-seed values (the notebooks' computations, one condition at a time)


def _frame(rows: pd.DataFrame, value: pd.Series | Any) -> pd.DataFrame:
    """Rows reduced to the columns a paired difference reads, ``value`` as the value."""
    return rows.assign(value=value)[["platform", "method", "seed", "value"]]


def _at_condition(tables: Tables, platform: str, where: Mapping[str, Any]
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Device A's rows and the fresh chips' rows of ``platform`` at one condition: ``delta_T_K``
    (K; the thermal-drift table, the fresh chips heated to it or, at 0 K, the nominal ones) or an
    alignment ``axis`` at ``value`` (the alignment table; its unit is the axis's: degrees, nm,
    pixels)."""
    if "delta_T_K" in where:
        drift, dT = tables("thermal_drift"), float(where["delta_T_K"])
        on_a = drift[(drift.platform == platform) & (drift.target == "device")
                     & (drift.delta_T_K == dT)]
        fresh = tables("fresh_chips")
        fresh = fresh[fresh.platform == platform]
        chips = (fresh[fresh.axis == "nominal"] if dT == 0 else
                 fresh[(fresh.axis == "delta_T_K") & (fresh.value == dT)])
    else:
        alignment = tables("alignment")
        axis, value = where["axis"], float(where["value"])
        on_a = alignment[(alignment.platform == platform) & (alignment.target == "device")
                         & (alignment.axis == axis) & (alignment.value == value)]
        fresh = tables("fresh_chips")
        chips = fresh[(fresh.platform == platform) & (fresh.axis == axis)
                      & (fresh.value == value)]
    return on_a, chips


def hardware(tables: Tables, platform: str, where: Mapping[str, Any]) -> pd.DataFrame:
    """Accuracy on hardware (%) per method and seed at one condition (:func:`_at_condition`):
    :func:`pnnsat.reports.seed_values` (offline: mean over device A and the fresh chips measured
    there; in situ: device A), as fig2, fig4 and fig5 compute it."""
    from .reports import seed_values

    on_a, chips = _at_condition(tables, platform, where)
    values = seed_values(on_a, chips)
    return _frame(values, values.pct)


def device_a(tables: Tables, platform: str, where: Mapping[str, Any]) -> pd.DataFrame:
    """Accuracy on device A alone (%) per method and seed at one condition (fig4's and fig5's
    device-A curves)."""
    on_a, _ = _at_condition(tables, platform, where)
    return _frame(on_a, 100 * on_a.accuracy)


def _diagonal(tables: Tables, platform: str, sigma: float) -> pd.DataFrame:
    """The cross-device rows of ``platform`` at fabrication σ = ``sigma`` along its σ axis
    (:func:`pnnsat.reports.on_diagonal`, as fig3 and figS3 read it)."""
    import numpy as np

    from .reports import on_diagonal

    table = tables("cross_device")
    diagonal = on_diagonal(table[table.platform == platform])
    return diagonal[np.isclose(diagonal.sigma, sigma)]


def cross_device(tables: Tables, platform: str, where: Mapping[str, Any]) -> pd.DataFrame:
    """Accuracy (%) per method and seed on the fresh chips of fabrication σ = ``where["sigma"]``
    (each seed's mean over its chips, as fig3's summary)."""
    at = _diagonal(tables, platform, float(where["sigma"]))
    per_seed = (100 * at.groupby(["platform", "method", "seed"]).accuracy.mean()).rename(
        "value").reset_index()
    return per_seed


def chip_yield(tables: Tables, platform: str, where: Mapping[str, Any]) -> pd.DataFrame:
    """Yield (%) per method and seed at fabrication σ = ``where["sigma"]``: the fraction of the
    seed's fresh chips whose accuracy reaches the platform's specification
    (``PLATFORMS[p].yield_spec_pct``) — the per-seed fraction that :func:`pnnsat.reports.
    yield_curves` takes its interval over (figS3)."""
    at = _diagonal(tables, platform, float(where["sigma"]))
    passed = at.assign(ok=at.accuracy * 100 >= PLATFORMS[platform].yield_spec_pct)
    return (100 * passed.groupby(["platform", "method", "seed"]).ok.mean()).rename(
        "value").reset_index()


def rho(tables: Tables, platform: str, where: Mapping[str, Any]) -> pd.DataFrame:
    """figS1: accuracy (%) per seed on ``where["target"]`` (twin, device, fresh: the mean over the
    fresh chips) of SAT retrained at ρ = ``where["rho"]`` (rad), as method ``sat``, and of bp."""
    table = tables("rho_sweep")
    table = table[table.platform == platform]
    per_model = table.groupby(["platform", "method", "rho", "seed", "target"], as_index=False)[
        "accuracy"].mean()
    per_model = per_model[per_model.target == where["target"]]
    sat = per_model[(per_model.method == "sat") & (per_model.rho == float(where["rho"]))]
    rows = _concat([sat, per_model[per_model.method == "bp"]])
    return _frame(rows, 100 * rows.accuracy)


def multitask(tables: Tables, platform: str, where: Mapping[str, Any]) -> pd.DataFrame:
    """fig6: one task's metric per method and seed at temperature change ``where["delta_T_K"]``
    (K) on ``where["target"]`` (twin or device): accuracy in %, reconstruction MSE (pixel
    intensities in [0, 1]), Fréchet distance (features of the classifier trained here)."""
    table = tables("multitask")
    rows = table[(table.platform == platform) & (table.task == where["task"])
                 & (table.target == where["target"])
                 & (table.delta_T_K == float(where["delta_T_K"]))]
    scale = rows.metric.map({"accuracy": 100.0}).fillna(1.0)
    return _frame(rows, rows.value * scale)


def kept(tables: Tables, platform: str, where: Mapping[str, Any]) -> pd.DataFrame:
    """figS2 and figS4: one column of the training curves at each model's kept (best-validation)
    epoch: ``epoch`` (epochs), ``train_loss`` (cross-entropy), or a validation accuracy (%)."""
    curves = tables("curves")
    rows = curves[(curves.platform == platform) & curves.kept.astype(bool)]
    column = where["column"]
    return _frame(rows, rows[column] * (100 if column.startswith("val_") else 1))


def steep_rings(tables: Tables, platform: str, where: Mapping[str, Any]) -> pd.DataFrame:
    """figS2: the fraction of a model's rings (%) on the Lorentzian's steep flank (|∂W/∂Θ| above
    half its steepest slope, :mod:`pnnsat.detuning`), per method and seed."""
    rings = tables("ring_detuning")
    rings = rings[rings.platform == platform]
    sums = rings.groupby(["platform", "method", "seed"], as_index=False)[
        ["rings", "steep_rings"]].sum()
    return _frame(sums, 100 * sums.steep_rings / sums.rings)


def ablation(tables: Tables, platform: str, where: Mapping[str, Any]) -> pd.DataFrame:
    """figS5: accuracy on hardware (%) per seed of ``where["method"]`` trained as the ablation
    ``where["ablation"]`` (method ``ablated``) and by default (method ``default``), nominal or
    at ``where["delta_T_K"]`` (K) — the figS5 notebook's ``per_seed``."""
    from .reports import seed_values

    method, name = where["method"], where["ablation"]
    dT = float(where.get("delta_T_K", 0.0))
    parts = []
    for label, drift_name, fresh_name in (("default", "thermal_drift", "fresh_chips"),
                                          ("ablated", "ablation_thermal_drift",
                                           "ablation_fresh_chips")):
        drift, fresh = tables(drift_name), tables(fresh_name)
        if label == "ablated":
            drift, fresh = drift[drift.ablation == name], fresh[fresh.ablation == name]
        on_a = drift[(drift.platform == platform) & (drift.method == method)
                     & (drift.target == "device") & (drift.delta_T_K == dT)]
        chips = fresh[(fresh.platform == platform) & (fresh.method == method)]
        chips = (chips[chips.axis == "nominal"] if dT == 0 else
                 chips[(chips.axis == "delta_T_K") & (chips.value == dT)])
        values = seed_values(on_a, chips)
        parts.append(_frame(values.assign(method=label), values.pct))
    return _concat(parts)


def ladder(tables: Tables, platform: str, where: Mapping[str, Any]) -> pd.DataFrame:
    """figS6: accuracy (%) per ladder line and seed on one rung (``where["rung"]``) of one
    headline (``where["headline"]``): :func:`pnnsat.ladder_report.seed_values`, the lines named
    by :func:`pnnsat.ladder_report.line_label` (``sat``, ``bp (authors mrr budget)``,
    ``bp + random pose``, …)."""
    from .ladder_report import line_label, seed_values

    table = tables("ladder")
    table = table[(table.headline == where["headline"]) & (table.platform == platform)]
    if table.empty:
        raise Absent(f"no ladder headline {where['headline']}")
    values = seed_values(table)
    values = values[values.rung == where["rung"]]
    names = [line_label(s, m) for s, m in zip(values.ablation, values.method, strict=True)]
    return _frame(values.assign(method=names), values.pct)


def precision(tables: Tables, platform: str, where: Mapping[str, Any]) -> pd.DataFrame:
    """figS7: each seed's accuracy loss on hardware (points; through the DAC or photon budget
    ``where["axis"]`` = ``where["value"]`` (bits, photons per detection) minus the same model's
    exact chip) — :func:`pnnsat.precision_report.hardware_values`."""
    from .precision_report import hardware_values

    table = tables("precision")
    table = table[table.platform == platform]
    if table.empty:
        raise Absent(f"no {platform} rows in precision.csv")
    values = hardware_values(table)
    values = values[(values.axis == where["axis"]) & (values.value == float(where["value"]))]
    return _frame(values, values.loss)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """``pandas.concat`` of row frames (pandas imported on first use, not at import)."""
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


#: source name -> the function that reads its per-seed values
SOURCES: dict[str, Source] = {
    "hardware": hardware, "device_a": device_a, "cross_device": cross_device,
    "yield": chip_yield, "rho": rho, "multitask": multitask, "kept": kept,
    "steep_rings": steep_rings, "ablation": ablation, "ladder": ladder, "precision": precision,
}


# ---------------------------------------------------------------------------------------------
# one line per comparison


def _number(value: float, digits: int, sign: bool = False) -> str:
    return f"{value:{'+' if sign else ''}.{digits}f}"


def paired_line(spec: Paired, tables: Tables) -> str:
    """The line of one :class:`Paired` comparison: ``a − b = d ± h`` with both means, the seeds
    and the verdict (separated: the 95 % interval excludes zero), and the paper's number; or,
    where the run lacks its rows, that they are not in this run's tables."""
    from .comparisons import paired_difference

    a_name, b_name = spec.names or (spec.a, spec.b)
    head = f"{spec.label}: {a_name} − {b_name}"
    paper = f" — paper: {spec.paper}" if spec.paper else ""
    try:
        values = SOURCES[spec.source](tables, spec.platform, spec.where)
    except Absent as err:
        return f"{head}: {NOT_IN_RUN} ({err}){paper}"
    present = set(values[values.platform == spec.platform].method)
    missing = [name for m, name in ((spec.a, a_name), (spec.b, b_name)) if m not in present]
    if missing:
        what = ("no rows at this condition" if len(missing) == 2 else
                f"no rows of {missing[0]} at this condition")
        return f"{head}: {NOT_IN_RUN} ({what}){paper}"
    d = paired_difference(values, spec.platform, spec.a, spec.b, value="value")
    if d["seeds"] == 0:
        return f"{head}: {NOT_IN_RUN} (no seed has both){paper}"
    unit = f" {spec.unit}" if spec.unit else ""
    half = "" if math.isnan(d["ci95"]) else f" ± {_number(d['ci95'], spec.digits)}"
    verdict = "separated" if d["separated"] else "not separated"
    seeds = "1 seed, no interval" if d["seeds"] == 1 else f"{d['seeds']} seeds"
    return (f"{head} = {_number(d['diff'], spec.digits, sign=True)}{half}{unit} "
            f"({b_name} {_number(d['b_pct'], spec.digits)}, {a_name} "
            f"{_number(d['a_pct'], spec.digits)}; {seeds}, paired; {verdict}){paper}")


def _sharpness_ratio(tables: Tables) -> list[str]:
    """fig1: SAT's λmax (loss per control unit², the algebraically largest eigenvalue of the
    twin loss's Hessian w.r.t. Θ) relative to bp's per platform — the paired difference of the
    per-seed log10 λmax, as a ratio with its 95 % interval (fig1's summary)."""
    import numpy as np

    from .comparisons import paired_difference

    try:
        sharp = tables("sharpness")
    except Absent as err:
        return [f"λmax sat / bp: {NOT_IN_RUN} ({err})"]
    logs = sharp.assign(value=np.log10(sharp.lambda_max.where(sharp.lambda_max > 0)))
    lines = []
    for platform in [p for p in PLATFORMS if p in set(sharp.platform)]:
        head = f"{SHORT[platform]}: λmax sat / bp"
        present = set(sharp[sharp.platform == platform].method)
        if not {"sat", "bp"} <= present:
            lines.append(f"{head}: {NOT_IN_RUN} (no rows of sat or bp)")
            continue
        d = paired_difference(logs, platform, "sat", "bp", value="value")
        if d["seeds"] == 0:  # no seed with a positive λmax for both
            lines.append(f"{head}: {NOT_IN_RUN} (no seed with a positive λmax for both)")
            continue
        low, high = 10 ** (d["diff"] - d["ci95"]), 10 ** (d["diff"] + d["ci95"])
        verdict = "separated" if d["separated"] else "not separated"
        unit = PLATFORMS[platform].control_unit
        lines.append(f"{head} = {10 ** d['diff']:.2g} [{low:.2g}, {high:.2g}] (bp "
                     f"{10 ** d['b_pct']:.3g}, sat {10 ** d['a_pct']:.3g} loss/{unit}² "
                     f"geometric means; {d['seeds']} seeds, paired; {verdict}) — paper: SAT "
                     "flatter")
    return lines


def _sharpness_rank(tables: Tables) -> list[str]:
    """fig1: Spearman's ρ of λmax with the twin → hardware accuracy drop (points) over the
    offline models of each platform, with its bootstrap 95 % interval over models
    (:func:`pnnsat.comparisons.spearman`): on device A, and on the fresh chips (their mean)."""
    from .comparisons import spearman
    from .methods import METHODS

    try:
        sharp, drift, fresh = (tables(n) for n in ("sharpness", "thermal_drift", "fresh_chips"))
    except Absent as err:
        return [f"Spearman(λmax, twin → hardware drop): {NOT_IN_RUN} ({err})"]
    nominal = drift[drift.delta_T_K == 0].pivot_table(index=["platform", "method", "seed"],
                                                       columns="target", values="accuracy")
    on_fresh = (fresh[fresh.axis == "nominal"].groupby(["platform", "method", "seed"]).accuracy
                .mean().rename("fresh"))
    drops = nominal.join(on_fresh)
    drops = 100 * drops[["twin"]].assign(device=drops.twin - drops.device,
                                         fresh=drops.twin - drops.fresh).drop(columns="twin")
    points = sharp.join(drops, on=["platform", "method", "seed"])
    offline = points[points.method.map(lambda m: METHODS[m].family == "in silico")]
    lines = []
    for target, name in (("device", "device A"), ("fresh", "fresh chips")):
        parts = []
        for platform in [p for p in PLATFORMS if p in set(offline.platform)]:
            g = offline[offline.platform == platform].dropna(subset=["lambda_max", target])
            if len(g) < 3:
                parts.append(f"{SHORT[platform]} {NOT_IN_RUN} ({len(g)} models)")
                continue
            r = spearman(g.lambda_max, g[target])
            verdict = "separated" if r["low"] > 0 or r["high"] < 0 else "not separated"
            parts.append(f"{SHORT[platform]} {r['rho']:+.2f} [{r['low']:+.2f}, "
                         f"{r['high']:+.2f}] ({r['n']} models; {verdict})")
        lines.append(f"Spearman(λmax, twin → {name} drop) over the offline models, bootstrap "
                     f"95 %: {'; '.join(parts) or NOT_IN_RUN} — paper: flat ⇒ robust")
    return lines


# ---------------------------------------------------------------------------------------------
# the headlines: the README's results table (docs/results.md gives each in detail)

_NOMINAL = {"delta_T_K": 0.0}
_HOT = {"delta_T_K": 2.0}

#: figure id -> its headline comparisons, in the order printed: :class:`Paired` rows, or a
#: function of the run's tables returning its lines (fig1)
VERDICTS: dict[str, tuple[Paired | Callable[[Tables], list[str]], ...]] = {
    "fig1_sharpness": (_sharpness_ratio, _sharpness_rank),
    "fig2_offline_vs_online": (
        Paired("hardware", "mrr", "sat", "bp", "MRR, nominal, hardware", _NOMINAL),
        Paired("hardware", "mrr", "sat", "pat", "MRR, nominal, hardware", _NOMINAL,
               paper="sat ≈ online"),
        Paired("hardware", "mzi", "sat", "bp", "MZI, nominal, hardware", _NOMINAL,
               paper="bp 68.6, sat 92.3 (their bars: one chip, MNIST)"),
        Paired("hardware", "mzi", "sat", "pat", "MZI, nominal, hardware", _NOMINAL,
               paper="pat 70.2, sat 92.3"),
        Paired("hardware", "d2nn", "sat", "bp", "D2NN, nominal, hardware", _NOMINAL),
    ),
    "fig3_cross_device": (
        Paired("cross_device", "mzi", "sat", "dat", "MZI, fresh chips at σ = (0.15, 0.15)",
               {"sigma": 0.15}, paper="SAT 95, DAT 54"),
        Paired("cross_device", "mzi", "sat_pat", "dat", "MZI, fresh chips at σ = (0.15, 0.15)",
               {"sigma": 0.15}, paper="sat_pat > dat > pat"),
        Paired("cross_device", "mzi", "sat", "bp", "MZI, fresh chips at σ = (0.15, 0.15)",
               {"sigma": 0.15}),
        Paired("cross_device", "mrr", "sat", "dat", "MRR, fresh chips at σ = 0.08 nm",
               {"sigma": 0.08}),
        Paired("cross_device", "mrr", "sat_pat", "dat", "MRR, fresh chips at σ = 0.08 nm",
               {"sigma": 0.08}),
    ),
    "fig4_thermal_drift": (
        Paired("hardware", "mrr", "sat", "bp", "MRR, ΔT = 2 K, hardware", _HOT,
               paper="bp 2, sat 88"),
        Paired("device_a", "mrr", "sat", "bp", "MRR, ΔT = 2 K, device A", _HOT,
               paper="bp 2, sat 88"),
        Paired("hardware", "mzi", "sat", "bp", "MZI, ΔT = 2 K, hardware", _HOT),
        Paired("ablation", "mrr", "ablated", "default", "MRR, ΔT = 2 K, hardware",
               {"ablation": "sat_thermal_ascent", "method": "sat", **_HOT},
               names=("sat with ΔT in its ascent", "default sat")),
        Paired("ladder", "mrr", "sat (authors mrr budget)", "bp (authors mrr budget)",
               "MRR, ΔT = 2 K toward resonance on the twin (figS6), the authors' budget",
               {"headline": "mrr_drift", "rung": "toward_resonance"}, paper="bp 2, sat 88"),
    ),
    "fig5_alignment": (
        Paired("hardware", "d2nn", "sat", "bp", "D2NN, rotation 1°, hardware",
               {"axis": "rotation_deg", "value": 1.0}, paper="bp 43, sat 98"),
        Paired("device_a", "d2nn", "sat", "bp",
               "D2NN, rotation 2° (the paper's 1° in mask-edge displacement), device A",
               {"axis": "rotation_deg", "value": 2.0}, paper="bp 43, sat 98"),
        Paired("ladder", "d2nn", "sat", "bp + random pose",
               "D2NN, equal mask-edge displacement (figS6), against the augmentation control",
               {"headline": "d2nn_rotation", "rung": "edge_displacement"}),
        Paired("device_a", "mrr", "sat", "bp", "MRR, carrier misalignment σ 0.1 nm, device A",
               {"axis": "carrier_sigma_nm", "value": 0.1}),
        Paired("device_a", "mzi", "sat", "bp", "MZI, output fibre-array rotation 0.1°, device A",
               {"axis": "output_angle_deg", "value": 0.1}),
    ),
    "fig6_multitask": (
        Paired("multitask", "mrr", "sat", "bp", "MRR classification, ΔT = +0.25 K, twin",
               {"task": "classification", "target": "twin", "delta_T_K": 0.25},
               paper="bp 83 → 10, sat 83 → 77"),
        Paired("multitask", "mrr", "sat", "bp", "MRR reconstruction MSE, ΔT = +0.25 K, twin",
               {"task": "reconstruction", "target": "twin", "delta_T_K": 0.25}, unit="",
               digits=4, paper="bp 0.010 → 0.53–1.25, sat 0.013 → 0.096"),
        Paired("multitask", "mrr", "sat", "bp",
               "MRR generation Fréchet distance, ΔT = +0.25 K, twin",
               {"task": "generation", "target": "twin", "delta_T_K": 0.25}, unit="",
               paper="FID bp 107 → 455–513, sat 104 → 211 (Inception features: not comparable)"),
        Paired("multitask", "mrr", "sat", "bp", "MRR classification, ΔT = +1 K, twin",
               {"task": "classification", "target": "twin", "delta_T_K": 1.0}),
        Paired("multitask", "mrr", "sat", "bp", "MRR reconstruction MSE, ΔT = +1 K, twin",
               {"task": "reconstruction", "target": "twin", "delta_T_K": 1.0}, unit="",
               digits=4),
    ),
    "figS1_rho": tuple(
        Paired("rho", "mzi", "sat", "bp", f"MZI, ρ = {r:g} rad, {name}",
               {"rho": r, "target": target}, names=(f"SAT(ρ = {r:g})", "bp"))
        for r, target, name in ((0.1, "fresh", "fresh chips"), (0.3, "fresh", "fresh chips"),
                                (1.0, "fresh", "fresh chips"), (3.0, "fresh", "fresh chips"),
                                (0.3, "device", "device A"))),
    "figS2_mrr_training": (
        Paired("kept", "mrr", "sat", "bp", "MRR, kept epoch, validation accuracy on the twin",
               {"column": "val_accuracy_twin"}),
        Paired("kept", "mrr", "sat", "bp", "MRR, kept epoch, training loss (cross-entropy)",
               {"column": "train_loss"}, unit="", digits=3),
        Paired("steep_rings", "mrr", "sat", "bp",
               "MRR, rings on the Lorentzian's steep flank (% of rings)", unit="points"),
    ),
    "figS3_yield": (
        Paired("yield", "mrr", "sat", "bp", "MRR yield (≥ 80 %) at σ = 0.08 nm (device A's)",
               {"sigma": 0.08}),
        Paired("yield", "mzi", "sat", "bp", "MZI yield (≥ 80 %) at σ = 0.15 (device A's)",
               {"sigma": 0.15}),
        Paired("yield", "d2nn", "sat", "bp", "D2NN yield (≥ 75 %) at σ = 0.2 rad (device A's)",
               {"sigma": 0.2}),
    ),
    "figS4_convergence": (
        Paired("kept", "mrr", "sat", "bp", "MRR, kept (best-validation) epoch",
               {"column": "epoch"}, unit="epochs"),
        Paired("kept", "mzi", "sat", "bp", "MZI, kept (best-validation) epoch",
               {"column": "epoch"}, unit="epochs"),
        Paired("kept", "d2nn", "sat", "bp", "D2NN, kept (best-validation) epoch",
               {"column": "epoch"}, unit="epochs"),
        Paired("kept", "mzi", "dat", "pat",
               "MZI, validation accuracy on device A at the kept epoch",
               {"column": "val_accuracy_target"}),
    ),
    "figS5_ablations": tuple(
        Paired("ablation", platform, "ablated", "default", f"{SHORT[platform]}, {condition}, "
               "hardware", {"ablation": name, "method": method, "delta_T_K": dT},
               names=(f"{method} ({name})", f"default {method}"))
        for name, platform, method, dT, condition in (
            ("readout_power_fraction", "mzi", "bp", 0.0, "nominal"),
            ("authors_optimiser", "mzi", "bp", 0.0, "nominal"),
            ("sat_all_parameters", "mzi", "sat", 0.0, "nominal"),
            ("sat_thermal_ascent", "mrr", "sat", 0.0, "nominal"),
            ("sat_thermal_ascent", "mrr", "sat", 2.0, "ΔT = 2 K"))),
    "figS6_ladder": (
        Paired("ladder", "mrr", "sat (authors mrr budget)", "bp (authors mrr budget)",
               "MRR 2 K, toward resonance", {"headline": "mrr_drift",
                                             "rung": "toward_resonance"},
               paper="bp 2, sat 88"),
        Paired("ladder", "mrr", "sat (authors mrr budget)", "sat",
               "MRR 2 K, toward resonance", {"headline": "mrr_drift",
                                             "rung": "toward_resonance"}),
        Paired("ladder", "mrr", "sat", "bp", "MRR 0.25 K, toward resonance",
               {"headline": "mrr_quarter_kelvin", "rung": "toward_resonance"},
               paper="bp 10, sat 77"),
        Paired("ladder", "mzi", "bp (authors optimiser)", "bp", "MZI bars, hardware",
               {"headline": "mzi_chip", "rung": "ours"}, paper="bp 68.6"),
        Paired("ladder", "d2nn", "sat", "bp + random pose",
               "D2NN rotation, equal mask-edge displacement",
               {"headline": "d2nn_rotation", "rung": "edge_displacement"},
               paper="bp 43, sat 98"),
    ),
    "figS7_precision": (
        Paired("precision", "mzi", "sat", "bp", "MZI, 4-bit DAC, loss against the exact chip",
               {"axis": "dac_bits", "value": 4}),
        Paired("precision", "mrr", "sat", "bp",
               "MRR, 100 photons per detection, loss against the exact chip",
               {"axis": "photons", "value": 100}),
        Paired("precision", "mrr", "sat", "bp", "MRR, 4-bit DAC, loss against the exact chip",
               {"axis": "dac_bits", "value": 4}),
        Paired("ablation", "mzi", "ablated", "default",
               "MZI, trained in situ on 8-bit DACs and ADCs and 1 000 photons, exact device A",
               {"ablation": "insitu_noise", "method": "pat"},
               names=("pat (noisy training)", "pat (exact training)")),
        Paired("ablation", "mzi", "ablated", "default",
               "MZI, trained in situ on 8-bit DACs and ADCs and 1 000 photons, exact device A",
               {"ablation": "insitu_noise", "method": "sat_pat"},
               names=("sat_pat (noisy training)", "sat_pat (exact training)")),
    ),
}


def verdict_lines(figure: str, results_dir: str | Path) -> list[str]:
    """``figure``'s headline answer from the tables in ``results_dir``/tables: one line per
    comparison (:data:`VERDICTS`), each a paired difference over training seeds with its 95 %
    interval (accuracy in points unless the line names another unit: epochs, MSE, Fréchet
    distance; fig1: a λmax ratio and Spearman's ρ) and "separated" or "not separated", the
    paper's number where it has one, or "… not in this run's tables" where the run lacks the
    comparison's rows. Models that did not learn are left out (:func:`pnnsat.tables.read_table`;
    the line's seed count shows it). Raises ValueError for a figure not in
    :data:`pnnsat.catalog.FIGURES`."""
    if figure not in FIGURES:
        raise ValueError(f"figure {figure!r} is not in pnnsat.catalog.FIGURES "
                         f"({', '.join(FIGURES)}).")
    tables = Tables(results_dir)
    lines: list[str] = []
    for entry in VERDICTS[figure]:
        lines += [paired_line(entry, tables)] if isinstance(entry, Paired) else entry(tables)
    return lines


def print_verdict(figure: str, results_dir: str | Path) -> None:
    """Print ``Verdict (<figure>):`` and :func:`verdict_lines`, each indented by two spaces (the
    notebook has said which run's tables it reads; the output stays the same for a copy of
    them elsewhere)."""
    lines = verdict_lines(figure, results_dir)
    print(f"Verdict ({figure}):")
    for line in lines:
        print(f"  {line}")
