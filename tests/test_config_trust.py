"""What the workflow says about a config, through the real Snakefile (issue 13, items 4
and 5): a YTE config is code that Snakemake runs while loading it, so the workflow does
not pretend to refuse it; a bad id or id template and a malformed graph file end in one
message naming the problem, never a traceback."""
import subprocess
import sys

import pandas as pd

from workflow_helpers import ROOT, run_snakemake

LINEAR = {"id": "lin", "simulator": "linear", "params": {"d": 4, "n": 40, "n_heldout": 20, "edges_per_node": 1.0}}


def test_a_yte_config_is_run_by_snakemake_as_it_loads_so_it_is_trusted_not_refused(tmp_path):
    marker = tmp_path / "marker"
    config = tmp_path / "yte.yaml"
    config.write_text(
        "__use_yte__: true\n"
        f"seeds: ?__import__('pathlib').Path({str(marker)!r}).write_text('ran') and 1\n"
        "settings: [{id: lin, simulator: linear, params: {d: 4, n: 40, edges_per_node: 1.0}}]\n"
        "methods: [{method: empty}]\n")
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory",
                           str(tmp_path), "--configfile", str(config), "--cores", "1", "all", "-n"],
                          capture_output=True, text=True, timeout=600)
    # the config's code ran while Snakemake loaded it, even for a dry run, before any
    # dagbench code: no check in the workflow could have stopped it
    assert marker.read_text() == "ran"
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "not allowed" not in proc.stderr  # no refusal that would suggest it protected anything
    assert "fit " in proc.stdout and "This was a dry-run" in proc.stdout  # its values are the plan


def test_an_id_with_a_newline_or_a_broken_template_is_one_config_message(tmp_path):
    config = {"seeds": 1, "settings": [{**LINEAR, "id": "lin\n"}],
              "methods": [{"method": "empty", "id": "{bootstrap.nope}"},
                          {"method": "random_dag", "id": "{n_samples[0]}"}]}
    proc = run_snakemake(tmp_path, config, "all", "-n", check=False)
    assert proc.returncode == 1
    assert "dagbench: invalid config:" in proc.stderr
    assert "settings[0]: id 'lin\\n' is not safe as a file name" in proc.stderr
    assert "methods[0].id: template '{bootstrap.nope}' does not fit the parameters (AttributeError" in proc.stderr
    assert "methods[1].id: template '{n_samples[0]}' does not fit the parameters (TypeError" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_a_malformed_graph_file_is_named_and_costs_only_its_setting(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a,b,c\n" + "\n".join(f"{i % 7},{(i * 3) % 11},{(i * i) % 13}" for i in range(40)) + "\n")
    graph = tmp_path / "truth.csv"
    graph.write_text("a,b,c\n0,1\n0,0,1,1\n0,0,0\n")  # rows of 2, 4 and 3 fields
    config = {"seeds": 1, "methods": [{"method": "empty"}],
              "settings": [{"id": "user", "simulator": "csv",
                            "params": {"path": str(data), "graph_path": str(graph)}}, LINEAR]}
    proc = run_snakemake(tmp_path, config, "results/tables/scores.csv")
    assert f"graph file {graph}" in proc.stderr  # the run's summary names the file
    assert "Some errors were detected" not in proc.stderr and "Traceback" not in proc.stderr
    scores = pd.read_csv(tmp_path / "results" / "tables" / "scores.csv").set_index("setting")
    assert scores.loc["user", "status"] == "data_error" and f"graph file {graph}" in scores.loc["user", "reason"]
    assert scores.loc["lin", "status"] == "ok"
