# What each figure job reads and is given (after rules/specs.smk): its library code, the
# parameters papermill injects, the catalog rows it draws (rules/figures.smk), and the checks that
# every figure config.figures asks for can be drawn by this run. The figures themselves are rows
# of pnnsat.catalog.FIGURES.
# the executed notebooks are report items too (mimetype, so the report offers them as notebooks)
mimetypes.add_type("application/x-ipynb+json", ".ipynb")


def figure_code(w):
    """What a figure notebook imports from the library (its cells' `from pnnsat... import`). The
    catalog rows it draws (labels, colours, markers) are the figure job's `rows` param instead
    (`pnnsat.catalog.rows_drawn`)."""
    return code_dependencies(notebook_imports(f"notebooks/{w.fig}.ipynb", PKG), PKG)


def figure_params(w):
    """The values papermill injects into figure `w.fig`: results_dir and figures_dir, and the
    catalog's parameters for this run (`pnnsat.catalog.figure_parameters`) that its notebook
    declares. papermill would add an undeclared name as a new variable, and the published
    notebook would then differ from what Run All on the source draws (tests/test_notebooks.py)."""
    from pnnsat.published import declared_parameters

    source = Path(workflow.basedir) / "notebooks" / f"{w.fig}.ipynb"
    declared = declared_parameters(source)
    own = figure_parameters(w.fig, config)
    undeclared = sorted(set(FIGURES[w.fig].derived) - set(declared))
    if undeclared:
        raise ValueError(f"pnnsat.catalog.FIGURES[{w.fig!r}] derives {undeclared}, which "
                         f"{source.name}'s parameters cell does not declare: declare them there.")
    values = {"results_dir": FIG,  # the published tables, {FIG}/tables (rules/figures.smk)
              "figures_dir": FIG, **{k: v for k, v in own.items() if k in declared}}
    return yaml.safe_dump(values, default_flow_style=True, width=10_000).strip()


# every figure config.figures asks for must have its tables in this run (fig6's need multitask)
_unbuildable = {f: sorted(set(figure_tables(f)) - set(ALL_TABLES)) for f in config["figures"]}
_unbuildable = {f: t for f, t in _unbuildable.items() if t}
if _unbuildable:
    raise ValueError(f"config figures: {_unbuildable} (figure: tables this run does not make); "
                     "add what makes them to the config (e.g. multitask for fig6_multitask) or "
                     "drop the figures from figures.")
