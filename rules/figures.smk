# Figures: one papermill run of a notebook per figure, and the tables published beside them.


rule publish_table:
    """The numbers behind the figures, beside them (committed for the full run: a reader checks
    any number without re-running)."""
    input:
        f"{R}/tables/{{published}}.csv",
    output:
        f"{FIG}/tables/{{published}}.csv",
    wildcard_constraints:
        published="|".join(ALL_TABLES),
    shell:
        "cp {input} {output}"


# A figure's notebook reads the tables published beside the figures ({FIG}/tables), never the
# run's models: so the executed notebook (results_dir = FIG) reruns anywhere those tables are,
# e.g. the committed figures/ in a fresh clone (`make redraw`, and nbval's references).
rule figure:
    input:
        notebook="notebooks/{fig}.ipynb",
        tables=lambda w: [f"{FIG}/tables/{t}.csv" for t in figure_tables(w.fig)],
        code=figure_code,
    output:
        pdf=f"{FIG}/{{fig}}.pdf",
        png=report(f"{FIG}/{{fig}}.png", category="Figures", labels={"figure": "{fig}"},
                   caption="report/figure.rst"),
        # the executed notebook (figure and summary inside) beside the figure: for the full run
        # it is committed, so a reader browses it without running anything
        notebook=report(f"{FIG}/notebooks/{{fig}}.ipynb", category="Executed notebooks",
                        labels={"notebook": "{fig}"}, caption="report/notebook.rst"),
    log:
        notebook=f"{R}/notebooks/{{fig}}.ipynb",
        log=f"{R}/logs/figure/{{fig}}.log",
    params:
        parameters=figure_params,
        caption=lambda w: FIGURES[w.fig].caption,  # the catalog's (rules/report/figure.rst shows it)
        # the catalog rows it draws: an edit of one (a method's colour) reruns the figures that
        # draw it, and only those (the catalog is no code input of any job)
        rows=lambda w: json.dumps(rows_drawn(w.fig, config), sort_keys=True),
    # on failure, the notebook's own one-line error first (papermill's traceback is in the log);
    # PNNSAT_PUBLISHING: this job may write the published figures (pnnsat.plotting.save_figure)
    shell:
        "PNNSAT_PUBLISHING=1 {PY} -m papermill {input.notebook} {log.notebook} -k python3"
        " --log-output"
        " -y {params.parameters:q} > {log.log} 2>&1 || {{ echo \"figure {wildcards.fig}:"
        " $(grep -E '^[A-Za-z]*(Error|Exception): ' {log.log} | tail -n 1)"
        " (full log: {log.log})\" >&2; exit 1; }}; {PY} -m pnnsat publish {log.notebook}"
        " {output.notebook} >> {log.log}"
