"""The whole Snakefile on a tiny config in a temporary folder: tables and figures exist
and hold what they should."""
import time

import pandas as pd
import pytest

import browser
from evaluation.plots import figure_names
from evaluation.posterior_quality import POSTERIOR_KEYS
from evaluation.statistics import METRICS, figure_names as statistics_figure_names
from evaluation.statistics import table_names as statistics_table_names
from workflow_helpers import run_snakemake

TINY = {
    "seeds": 2,
    "timeout_s": 300,
    "settings": [
        {"id": "er1-lin-d{d}", "simulator": "linear",
         "params": {"d": 5, "n": 200, "n_heldout": 50, "edges_per_node": 1.0}},
        {"id": "er1-mlp-d{d}", "simulator": "mlp",
         "params": {"d": 5, "n": 100, "n_heldout": 50, "edges_per_node": 1.0}},
    ],
    "methods": [
        {"method": "empty"},
        {"method": "random_dag"},
        {"method": "pc", "params": {"alpha": [0.01, 0.1]}},
        {"method": "ges", "bootstrap": 3},
        {"method": "notears", "run_on": ["*-lin-*"]},  # only on the linear setting
    ],
}


TINY_COMPARED = [m for m in METRICS if m not in POSTERIOR_KEYS]  # no setting has the exact posterior


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("workflow")
    run_snakemake(workdir, TINY, "all")
    return workdir


def test_score_table_has_one_row_per_setting_seed_method(tiny_run):
    df = pd.read_csv(tiny_run / "results" / "tables" / "scores.csv")
    methods = ["empty", "random_dag", "pc[alpha=0.01]", "pc[alpha=0.1]", "boot-ges", "notears"]
    assert len(df) == 2 * 2 * (len(methods) - 1) + 2  # notears: run_on the linear setting only
    assert sorted(df["method_id"].unique()) == sorted(methods)
    assert set(df.loc[df["method_id"] == "notears", "setting"]) == {"er1-lin-d5"}
    assert set(df["setting"]) == {"er1-lin-d5", "er1-mlp-d5"}
    assert (df["status"] == "ok").all(), df.loc[df["status"] != "ok", ["method_id", "reason"]]
    # parameters of the setting and the method are columns
    assert {"sim.d", "sim.n", "method.alpha", "method.lambda1"} <= set(df.columns)
    assert (df.loc[df["method_id"] == "pc[alpha=0.01]", "method.alpha"] == 0.01).all()
    # the floors: the empty graph has E-SHD = number of true edges, and no edge recall
    empty = df[df["method_id"] == "empty"]
    assert (empty["e_shd"] == empty["n_edges_true"]).all()
    assert (empty["recall"] == 0).all()
    # cost columns come from Snakemake's benchmark files
    assert (df["wall_s"] > 0).all()
    for col in ["e_shd", "shd_cpdag", "auroc", "ll_heldout", "ell_heldout", "frac_cyclic"]:
        assert col in df.columns


def test_methods_beat_the_floors_on_linear_data(tiny_run):
    df = pd.read_csv(tiny_run / "results" / "tables" / "scores.csv")
    lin = df[df["setting"] == "er1-lin-d5"].groupby("method_id")["e_shd"].mean()
    for m in ["pc[alpha=0.01]", "boot-ges", "notears"]:
        assert lin[m] < lin["random_dag"], lin


def test_summary_lists_every_method_per_setting(tiny_run):
    text = (tiny_run / "results" / "tables" / "summary.md").read_text()
    assert "## er1-lin-d5" in text and "## er1-mlp-d5" in text
    for m in ["empty", "random_dag", "pc[alpha=0.01]", "boot-ges"]:
        assert text.count(f"| {m} | 2/2 |") == 2, m
    assert text.count("| notears | 2/2 |") == 1  # run_on: the linear setting only


def test_figures_exist_and_are_images(tiny_run):
    import matplotlib.image as mpimg
    from evaluation.plots import figure_names
    figs = tiny_run / "results" / "figures"
    for name in figure_names():
        path = figs / name
        if name.endswith(".png"):
            img = mpimg.imread(path)
            assert img.shape[0] > 200 and img.shape[1] > 200
            assert img.std() > 0.01, f"{name} is blank"
        else:
            assert path.read_bytes()[:5] == b"%PDF-", name


def test_resolved_config_records_every_parameter(tiny_run):
    import yaml
    plan = yaml.safe_load((tiny_run / "results" / "config.yaml").read_text())
    assert plan["seeds"] == [0, 1]
    notears = next(m for m in plan["methods"] if m["id"] == "notears")
    assert notears["params"]["lambda1"] == 0.1 and notears["timeout_s"] == 300
    assert [s["id"] for s in plan["settings"]] == ["er1-lin-d5", "er1-mlp-d5"]


def test_snakemake_report_holds_tables_figures_and_config(tiny_run):
    run_snakemake(tiny_run, TINY, "--report", "report.html")
    html = (tiny_run / "report.html").read_text(errors="replace")
    for name in ["summary.html", "scores.csv", "config.yaml", "auroc.png", "roc.png", "adjacency.png"]:
        assert name in html, name
    # every figure's caption names its own figure (they once all began with e_shd.png)
    for name in figure_names():
        if name.endswith(".png"):
            assert f"{name}: " in html, name
    assert "ll_heldout.png: held-out log-likelihood" in html and "nats per row" in html
    assert "Start here:" in html  # the landing page points to the tables and figures
    assert "Statistical tests" in html and "pairwise.html: paired tests" in html and "cd_e_shd.png" in html


def test_every_figure_has_its_own_report_caption():
    from workflow_helpers import ROOT
    for name in figure_names():
        caption = ROOT / "report" / "figures" / f"{name.rsplit('.', 1)[0]}.rst"
        assert caption.read_text().startswith(f"**{name.rsplit('.', 1)[0]}.png: "), caption


@pytest.mark.skipif(not browser.available(), reason="needs chromium and websocket-client")
def test_report_shows_every_figure_in_a_real_browser(tiny_run):
    """Open the report in headless Chromium, go to each category of figures and click each
    figure's eye icon, as a reader would: each time, the figure must be on the page as a
    decoded image."""
    report = tiny_run / "report.html"
    if not report.exists():
        run_snakemake(tiny_run, TINY, "--report", "report.html")
    categories = {"Figures": [f for f in figure_names() if f.endswith(".png")],
                  "Statistical tests": [f for f in statistics_figure_names(TINY_COMPARED) if f.endswith(".png")]}
    shown = {}
    b = browser.Browser()
    try:
        for category, names in categories.items():
            b.open(report)
            menu = b.js("[...document.querySelectorAll('a,li,div,span')].filter(e => e.innerText"
                        f" && e.innerText.trim() === '{category}').map(e => (e.click(), 1)).length")
            assert menu, f"no '{category}' entry in the report's menu"
            time.sleep(1)
            for name in names:
                clicked = b.js(f"""(() => {{ const row = [...document.querySelectorAll('tr')]
                    .find(r => r.innerText.includes('{name}'));
                    if (!row) return false; row.querySelector('a').click(); return true; }})()""")
                assert clicked, f"{name} is not listed under {category}"
                time.sleep(0.5)
                shown[name] = b.js(f"""[...document.querySelectorAll('img')].filter(i => i.src.includes('{name}')
                    && i.complete && i.naturalWidth > 100).length""")
    finally:
        b.close()
    assert all(shown.values()), shown


def test_statistics_tables_and_diagrams_for_every_compared_metric(tiny_run):
    tables, figures = tiny_run / "results" / "tables", tiny_run / "results" / "figures"
    for name in statistics_table_names(TINY_COMPARED):
        assert (tables / name).stat().st_size > 0, name
    for name in statistics_figure_names(TINY_COMPARED):
        assert (figures / name).stat().st_size > 0, name
    assert not (tables / "summary_tv.tex").exists()  # no setting has the exact posterior
    pairs = pd.read_csv(tables / "pairwise.csv")
    assert set(pairs["setting"]) == {"er1-lin-d5", "er1-mlp-d5"}
    # 2 seeds: no test can reach alpha, and the table says so instead of a p of NaN
    assert pairs["verdict"].str.match(r"not enough (untied )?seeds|all tied").all()
    assert pairs["verdict"].str.startswith("not enough seeds").any()
    ranks = pd.read_csv(tables / "ranks.csv")
    assert set(ranks.loc[ranks["metric"] == "e_shd", "method"]) >= {"empty", "random_dag", "boot-ges"}


def test_the_statistics_block_of_the_config_reaches_the_jobs(tmp_path):
    config = {**TINY, "statistics": {"spread": "bootstrap_ci", "bootstrap_resamples": 200, "alpha": 0.1}}
    proc = run_snakemake(tmp_path, config, "all", "-n", "--printshellcmds")
    # each job's command, up to the next job (the aggregate command holds the YAML of the plan)
    commands = proc.stdout.split("python -m dagbench ")
    aggregate = next(c for c in commands if c.split("--log ", 1)[-1].split()[1] == "aggregate")
    assert "--spread bootstrap_ci --resamples 200 --confidence 0.95" in aggregate
    stats = next(c for c in commands if c.split("--log ", 1)[-1].split()[1] == "statistics")
    assert "--alpha 0.1" in stats and "--spread bootstrap_ci --resamples 200" in stats


def test_logs_and_benchmarks_for_every_compute_job(tiny_run):
    logs = list((tiny_run / "results" / "logs" / "fit").rglob("*.log"))
    bench = list((tiny_run / "results" / "benchmarks" / "fit").rglob("*.tsv"))
    assert len(logs) == len(bench) == 2 * 2 * 5 + 2  # notears runs on one setting


def test_rerun_does_nothing(tiny_run):
    proc = run_snakemake(tiny_run, TINY, "all", "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_subset_from_the_command_line(tmp_path):
    proc = run_snakemake(tmp_path, TINY, "all", "-n", "--config", "only_settings=*-mlp-*",
                         "only_methods=[empty, pc*]")
    fits = [line.split() for line in proc.stdout.splitlines() if line.startswith("fit ")]
    assert fits and int(fits[0][1]) == 2 * 3  # 2 seeds x (empty, pc[alpha=0.01], pc[alpha=0.1])
    assert "er1-lin-d5" not in proc.stdout and "notears" not in proc.stdout


def test_bad_config_fails_before_any_job_with_a_clear_message(tmp_path):
    bad = {**TINY, "methods": [{"method": "pcc"}, {"method": "pc", "params": {"alpah": 1}}]}
    proc = run_snakemake(tmp_path, bad, "all", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "unknown method 'pcc'" in out and "unknown parameter 'alpah'" in out
    assert "Traceback" not in out and 'File "' not in out
    assert not (tmp_path / "results").exists()


def test_lint_is_clean(tmp_path):
    proc = run_snakemake(tmp_path, TINY, "--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
