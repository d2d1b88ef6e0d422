"""What a user sees on screen when a run goes wrong, and what results/ holds afterwards,
through the real workflow (issue 19, items 2 and 3)."""
import subprocess
import sys

import pandas as pd
import yaml

from workflow_helpers import FAULT_PLUGINS, ROOT, run_snakemake

LINEAR = {"id": "lin", "simulator": "linear",
          "params": {"d": 4, "n": 40, "n_heldout": 20, "edges_per_node": 1.0}}


def test_a_bad_data_file_is_named_on_screen_and_the_rest_of_the_run_goes_on(tmp_path):
    bad = tmp_path / "survey.csv"
    bad.write_text("a,b,c\n1,2,x\n3,4,5\n5,6,7\n7,8,9\n1,3,5\n")
    config = {"seeds": 2, "settings": [{"id": "survey", "simulator": "csv", "params": {"path": str(bad)}},
                                       LINEAR],
              "methods": [{"method": "empty"}]}
    proc = run_snakemake(tmp_path, config, "all")
    tail = proc.stderr[-3000:]
    # one message for the dataset (both seeds), naming the file, the column, the value and the row
    assert "dagbench: 2 dataset(s) could not be made" in tail
    assert f"dataset survey seeds 0, 1 could not be made by simulator 'csv': csv dataset {bad}" in tail
    assert "column 'c' has 'x' at data row 1" in tail
    assert "(log: results/logs/simulate/survey/seed0.log)" in tail
    assert "dagbench: tables in results/tables" in tail
    scores = pd.read_csv(tmp_path / "results" / "tables" / "scores.csv")
    assert set(scores.loc[scores["setting"] == "lin", "status"]) == {"ok"}


def test_an_empty_or_unreadable_data_file_stops_the_run_before_any_job(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    binary = tmp_path / "utf16.csv"
    binary.write_bytes("a,b\n1,2\n".encode("utf-16"))
    config = {"seeds": 1, "methods": [{"method": "empty"}],
              "settings": [{"id": "e", "simulator": "csv", "params": {"path": str(empty)}},
                           {"id": "u", "simulator": "csv", "params": {"path": str(binary)}}]}
    proc = run_snakemake(tmp_path, config, "all", check=False)
    assert proc.returncode == 1
    assert f"settings[0] (csv).params: parameter 'path' = '{empty}': the file is empty" in proc.stderr
    assert f"settings[1] (csv).params: parameter 'path' = '{binary}': cannot be read (UnicodeDecodeError" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists()


def test_a_failing_job_prints_its_one_line_reason_on_screen(tmp_path):
    config = {"seeds": 1, "settings": [LINEAR], "methods": [{"method": "empty"}]}
    run_snakemake(tmp_path, config, "all")
    (tmp_path / "results" / "scores" / "lin" / "seed0" / "empty.json").write_text("{not json")
    proc = run_snakemake(tmp_path, config, "all", check=False)
    assert proc.returncode == 1
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("dagbench: aggregate failed:"))
    assert "JSONDecodeError" in line and "(log: results/logs/aggregate.log)" in line
    assert "dagbench: the run stopped" in proc.stderr


def test_the_cli_ends_a_failure_with_one_line_that_says_what_failed(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "dagbench", "aggregate", "--scores", str(tmp_path / "none.json"),
                           "--csv", str(tmp_path / "s.csv"), "--summary", str(tmp_path / "s.md")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr  # kept for the log
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("FileNotFoundError: ") and "none.json" in last
    # as the workflow calls it: everything in the log, the one line on the terminal too
    log = tmp_path / "logs" / "aggregate.log"
    proc = subprocess.run([sys.executable, "-m", "dagbench", "--log", str(log), "aggregate", "--scores",
                           str(tmp_path / "none.json"), "--csv", str(tmp_path / "s.csv"),
                           "--summary", str(tmp_path / "s.md")], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("dagbench: aggregate failed: FileNotFoundError: ")
    assert proc.stderr.rstrip().endswith(f"(log: {log})") and proc.stderr.count("\n") == 1
    assert "Traceback" in log.read_text() and log.read_text().rstrip().splitlines()[-1] == last


def test_a_failed_run_leaves_the_config_of_the_tables_beside_them(tmp_path):
    """Run 1 finishes; run 2 (another setting) fails in a job. results/config.yaml must
    still describe the run whose tables are there."""
    first = {"seeds": 1, "settings": [LINEAR], "methods": [{"method": "empty"}]}
    run_snakemake(tmp_path, first, "all")
    before = (tmp_path / "results" / "config.yaml").read_text()
    second = {**first, "settings": [LINEAR, {"id": "dies", "simulator": "fault_flaky_seed",
                                             "params": {"d": 4, "n": 40, "n_heldout": 20,
                                                        "edges_per_node": 1.0, "fail_seeds": [0],
                                                        "fault": "exit"}}]}
    proc = run_snakemake(tmp_path, second, "all", check=False,
                         env={"DAGBENCH_PLUGIN_DIRS": str(FAULT_PLUGINS)})
    assert proc.returncode == 1
    config = yaml.safe_load((tmp_path / "results" / "config.yaml").read_text())
    scores = pd.read_csv(tmp_path / "results" / "tables" / "scores.csv")
    assert (tmp_path / "results" / "config.yaml").read_text() == before
    assert [s["id"] for s in config["settings"]] == sorted(scores["setting"].unique()) == ["lin"]
    assert "dagbench: the run stopped" in proc.stderr  # (a killed process says nothing itself)


def test_a_highlighted_method_the_config_does_not_run_is_warned_about(tmp_path):
    config = {"seeds": 1, "settings": [LINEAR], "methods": [{"method": "empty"}],
              "highlight": ["empty", "dibs_bge"]}
    proc = run_snakemake(tmp_path, config, "all", "-n")
    assert ("dagbench: warning: highlight names dibs_bge, which this config does not run"
            in proc.stderr)
    assert "highlight names empty" not in proc.stderr


def test_no_highlight_warning_for_the_default_configs_list(tmp_path):
    """--configfile extends config/config.yaml; its highlight list must not warn about a
    user's config that never set highlight."""
    config = {"seeds": 1, "settings": [LINEAR], "methods": [{"method": "empty"}]}
    proc = run_snakemake(tmp_path, config, "all", "-n")
    assert "highlight names" not in proc.stderr
