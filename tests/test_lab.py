"""What keeps the published record safe from work by hand (issue 32): JupyterLab's file manager
refuses to write a published execution, the published files carry no write permission, and git
commits the source notebooks without their outputs (the nbstripout filter of `make setup`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import socket
import subprocess
import time
import urllib.request

import nbformat
import pytest
from conftest import REPO, chrome
from tornado.web import HTTPError

from pnnsat.lab import PublishedReadOnlyContentsManager

PUBLISHED = sorted((REPO / "figures/notebooks").glob("*.ipynb"))
SOURCE = "notebooks/fig4_thermal_drift.ipynb"
RECORD = "figures/notebooks/fig4_thermal_drift.ipynb"


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture
def manager():
    return PublishedReadOnlyContentsManager(root_dir=str(REPO))


def test_jupyter_reports_a_published_notebook_read_only_and_a_source_writable(manager):
    assert run(manager.get(RECORD, content=False))["writable"] is False
    listing = run(manager.get("figures/notebooks"))
    assert {c["name"]: c["writable"] for c in listing["content"]} == {
        p.name: False for p in PUBLISHED}
    assert manager.published(RECORD) and manager.published("/" + RECORD)
    assert not manager.published(SOURCE) and not manager.published("figures/fig4_thermal_drift.png")


@pytest.mark.parametrize("action", ["save", "delete", "rename"])
def test_jupyter_refuses_to_write_a_published_notebook_and_names_the_source(manager, action):
    before = (REPO / RECORD).read_bytes()
    model = run(manager.get(RECORD))
    model["content"].cells[-1].outputs = []  # what Run All then autosave would write
    calls = {"save": lambda: manager.save(model, RECORD),
             "delete": lambda: manager.delete_file(RECORD),
             "rename": lambda: manager.rename_file(RECORD, "figures/notebooks/renamed.ipynb")}
    with pytest.raises(HTTPError) as refused:
        run(calls[action]())
    assert refused.value.status_code == 403
    assert SOURCE in refused.value.log_message and "read-only" in refused.value.log_message
    assert (REPO / RECORD).read_bytes() == before


def test_jupyter_still_saves_elsewhere_a_published_notebook_saved_as(manager):
    """File > Save Notebook As... into another folder works (a copy the user owns)."""
    scratch = REPO / "results/by-hand/test-lab"
    scratch.mkdir(parents=True, exist_ok=True)
    target = f"results/by-hand/test-lab/copy-{id(manager)}.ipynb"
    model = run(manager.get(RECORD))
    try:
        saved = run(manager.save({**model, "path": target}, target))
        assert saved["writable"] is True
        assert nbformat.read(REPO / target, as_version=4).cells[1].source == \
            model["content"].cells[1].source
    finally:
        (REPO / target).unlink(missing_ok=True)


def test_setup_installs_the_manager_as_the_environments_jupyter_default():
    installed = REPO / ".venv/etc/jupyter/jupyter_server_config.json"
    shipped = json.loads((REPO / "envs/jupyter_server_config.json").read_text())
    assert shipped["ServerApp"]["contents_manager_class"] == \
        f"{PublishedReadOnlyContentsManager.__module__}.{PublishedReadOnlyContentsManager.__name__}"
    if not installed.is_file():
        pytest.fail(f"{installed} is missing: run `make setup`")
    assert json.loads(installed.read_text()) == shipped


def test_published_notebooks_have_no_write_permission():
    writable = [p.name for p in PUBLISHED if p.stat().st_mode & 0o222]
    assert not writable, f"{writable} are writable: run `make protect` (git keeps no write bits)"


def test_git_strips_the_outputs_of_source_notebooks_and_keeps_the_published_ones(tmp_path):
    """The filter is defined (make setup) and applies to notebooks/ only; run on a source
    notebook holding the outputs of a run by hand, it gives the committed file byte for byte."""
    attrs = subprocess.run(["git", "check-attr", "filter", "--", SOURCE, RECORD], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert attrs == [f"{SOURCE}: filter: nbstripout", f"{RECORD}: filter: unspecified"]
    clean = subprocess.run(["git", "config", "filter.nbstripout.clean"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    assert clean, "the nbstripout filter is not defined in .git/config: run `make setup`"
    nb = nbformat.read(REPO / SOURCE, as_version=4)
    ran = nbformat.read(REPO / RECORD, as_version=4)
    outputs = [c for c in ran.cells if c.cell_type == "code" and c.outputs]
    for cell in nb.cells:  # the published outputs pasted into the source: a run by hand
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = outputs[0].outputs, 7
    with_outputs = tmp_path / "with_outputs.ipynb"
    nbformat.write(nb, with_outputs)
    stripped = subprocess.run(shlex.split(clean), input=with_outputs.read_bytes(),
                              capture_output=True, check=True).stdout
    assert stripped == subprocess.run(["git", "show", f":{SOURCE}"], cwd=REPO,
                                      capture_output=True, check=True).stdout


def test_a_figure_saved_by_hand_into_the_published_folder_goes_to_by_hand(monkeypatch, capsys):
    """Run All on a published execution runs its injected `figures_dir = "figures"`: outside
    the publishing jobs (PNNSAT_PUBLISHING unset) the figure goes to results/by-hand/figures."""
    import matplotlib.pyplot as plt

    from pnnsat import plotting

    monkeypatch.delenv(plotting.PUBLISHING, raising=False)
    name = f"test-lab-guard-{os.getpid()}"
    written = plotting.save_figure(plt.figure(), name, "figures")
    try:
        assert [p.parent for p in written] == [REPO / plotting.BY_HAND] * 2
        assert not any((REPO / "figures" / f"{name}.{ext}").exists() for ext in ("png", "pdf"))
        assert "holds the published figures" in capsys.readouterr().out
    finally:
        for path in written:
            path.unlink()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_all_on_a_published_notebook_in_jupyterlab_changes_nothing_committed():
    """JupyterLab (this environment's, as `make lab` starts it) in headless Chromium: open the
    published fig4 execution, Run All (every cell runs, no error), then save: the save is
    refused, the file keeps its bytes, and git sees no change under figures/ or notebooks/."""
    record = REPO / RECORD
    before = record.read_bytes()
    port = free_port()
    lab = subprocess.Popen(
        [str(REPO / ".venv/bin/jupyter"), "lab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--allow-root",
         "--expose-app-in-browser", f"--ServerApp.root_dir={REPO}"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver = None
    try:
        for _ in range(120):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=1)
                break
            time.sleep(0.5)
        driver = chrome()
        driver.get(f"http://127.0.0.1:{port}/lab/tree/{RECORD}")
        ready = """const a = window.jupyterapp, w = a && a.shell.currentWidget;
            const k = w && w.sessionContext && w.sessionContext.session
                      && w.sessionContext.session.kernel;
            return !!(w && w.context && w.context.isReady && k && k.status === 'idle');"""
        for _ in range(240):
            if driver.execute_script(ready):
                break
            time.sleep(0.5)
        assert driver.execute_script(
            "return window.jupyterapp.shell.currentWidget.context.contentsModel.writable") is False
        ran = driver.execute_async_script("""const done = arguments[arguments.length - 1];
            const a = window.jupyterapp, w = a.shell.currentWidget;
            a.commands.execute('notebook:run-all-cells').then(async () => {
              const k = w.sessionContext.session.kernel;
              for (let i = 0; i < 600 && k.status !== 'idle'; i++)
                await new Promise(r => setTimeout(r, 500));
              const cells = w.content.widgets.filter(c => c.model.type === 'code');
              const outs = cells.flatMap(c => c.model.outputs.toJSON());
              w.context.save().then(() => done({saved: true}))
                .catch(e => done({saved: false, message: String(e.message || e),
                                  counts: cells.map(c => c.model.executionCount),
                                  errors: outs.filter(o => o.output_type === 'error').length}));
            });""")
        assert ran["saved"] is False and SOURCE in ran["message"], ran
        assert ran["errors"] == 0 and None not in ran["counts"], ran
    finally:
        if driver is not None:
            driver.quit()
        lab.terminate()
        lab.wait(30)
    assert record.read_bytes() == before
    # nothing differs from git's index, and nothing new (figures, checkpoints) appeared there
    changed = subprocess.run(["git", "diff", "--name-only", "--", "figures", "notebooks"],
                             cwd=REPO, capture_output=True, text=True, check=True).stdout
    new = subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "--", "figures",
                          "notebooks"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    assert changed == new == "", (changed, new)
