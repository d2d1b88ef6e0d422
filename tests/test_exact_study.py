"""config/exact.yaml through the real workflow at a reduced size: every fit scored
against the exact posterior of its dataset."""
import copy

import numpy as np
import pandas as pd
import pytest

from dagbench.config import load_yaml
from workflow_helpers import ROOT, run_snakemake

POSTERIOR_COLUMNS = ["edge_mae", "tv", "kl", "e_shd_gap", "mec_mass", "exact_e_shd", "exact_mec_mass"]


def reduced_study() -> dict:
    """The committed study with 1 seed, d = 4, n = 20 and short runs; plus a copy of the
    setting without the exact_posterior option (its posterior scores must be NaN)."""
    cfg = copy.deepcopy(load_yaml(ROOT / "config" / "exact.yaml"))
    cfg["seeds"] = 1
    cfg.pop("results", None)
    setting = cfg["settings"][0]
    setting["params"].update(d=4, n=20, n_heldout=20)
    plain = copy.deepcopy(setting)
    plain["id"] = "plain-d{d}"
    plain.pop("exact_posterior")
    cfg["settings"].append(plain)
    methods = []
    for entry in cfg["methods"]:
        entry = copy.deepcopy(entry)
        entry.pop("run_on", None)
        params = entry.setdefault("params", {})
        if entry["method"] == "dibs_bge":
            if any(m["method"] == "dibs_bge" for m in methods):   # one DiBS entry is enough here
                continue
            params.update(steps=60, n_particles=8, n_grad_samples=16)
        if entry["method"] == "mc3":
            params.update(steps=3000)
        if entry.get("bootstrap"):
            entry["bootstrap"] = 3
        methods.append(entry)
    cfg["methods"] = methods
    return cfg


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("exact-study")
    cfg = reduced_study()
    run_snakemake(workdir, cfg, "all")
    return workdir, cfg


def test_committed_study_has_the_methods_the_issue_names():
    cfg = load_yaml(ROOT / "config" / "exact.yaml")
    names = {m["method"] for m in cfg["methods"]}
    assert {"exact", "mc3", "dibs_bge", "ges", "pc", "empty", "random_dag"} <= names
    assert {m["method"] for m in cfg["methods"] if m.get("bootstrap")} == {"ges", "pc"}
    assert cfg["seeds"] >= 10 and cfg["settings"][0]["params"]["d"] == [4, 5]
    assert cfg["settings"][0]["params"]["n"] == [20, 50, 100]


def test_every_fit_is_scored_against_the_exact_posterior(study):
    workdir, cfg = study
    df = pd.read_csv(workdir / "results" / "tables" / "scores.csv")
    on = df[df["setting"] == "er1-lingauss-d4-n20"]
    assert (on["status"] == "ok").all(), on[["method_id", "status", "reason"]]
    assert len(on) == len(cfg["methods"]) + 1      # dibs_bge: DiBS and DiBS+ (steps fixed here)
    for col in POSTERIOR_COLUMNS:
        assert np.isfinite(on[col]).all(), col
    exact = on[on["method_id"] == "exact"].iloc[0]
    assert exact["tv"] < 1e-9 and exact["edge_mae"] < 1e-9 and exact["e_shd_gap"] < 1e-9
    others = on[on["method_id"] != "exact"]
    assert (others["tv"] > 1e-3).all()              # no approximation is exact here
    assert np.allclose(on["exact_e_shd"], exact["e_shd"])   # one reference per dataset
    plain = df[df["setting"] == "plain-d4"]
    assert plain[POSTERIOR_COLUMNS].isna().all().all()


def test_summary_shows_the_posterior_columns(study):
    workdir, _ = study
    text = (workdir / "results" / "tables" / "summary.md").read_text()
    section = text.split("## er1-lingauss-d4-n20")[1].split("## ")[0]
    assert "TV to exact" in section and "edge MAE to exact" in section
    plain = text.split("## plain-d4")[1]
    assert "TV to exact" not in plain
