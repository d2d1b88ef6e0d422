"""Damaged files are named, never blamed on a method (issue 13, item 3): a truncated or
bit-flipped dataset, a truncated fit record and damaged fit arrays stop the job that
reads them with a message naming the file and the command that remakes it, and that
command, run for real, gives the same table as before the damage."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dagbench import runner
from dagbench.io import CorruptFileError, atomic_write_npz, read_json, read_npz
from simulators.base import Dataset
from workflow_helpers import ROOT, TIMING_COLUMNS, run_snakemake

CONFIG = {"seeds": 1, "settings": [{"id": "lin", "simulator": "linear",
                                    "params": {"d": 4, "n": 40, "n_heldout": 20, "edges_per_node": 1.0}}],
          "methods": [{"method": "empty"}, {"method": "random_dag"}]}
TABLE = "results/tables/scores.csv"  # the target: the score table (no figures, to keep this fast)


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def flip_a_bit(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x04
    path.write_bytes(bytes(data))


def table(workdir):
    df = pd.read_csv(workdir / TABLE)
    return df.drop(columns=[c for c in TIMING_COLUMNS if c in df.columns])


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("corruption") / "run"
    workdir.mkdir()
    run_snakemake(workdir, CONFIG, TABLE)
    return workdir


@pytest.mark.parametrize("damage, file, reader, words", [
    (truncate, "results/data/lin/seed0.npz", "fit", "is damaged: its SHA-256 differs"),
    (flip_a_bit, "results/data/lin/seed0.npz", "fit", "is damaged: its SHA-256 differs"),
    (truncate, "results/fits/lin/seed0/empty.json", "evaluate", "is damaged or truncated (not valid JSON"),
], ids=["truncated-dataset", "bit-flipped-dataset", "truncated-fit-record"])
def test_a_damaged_file_stops_its_reader_naming_it_and_the_named_command_remakes_it(
        finished, tmp_path, damage, file, reader, words):
    workdir = tmp_path / "run"
    shutil.copytree(finished, workdir)  # the finished run, metadata and times included
    before = table(workdir)
    damage(workdir / file)  # newer than what was made from it: the next run redoes its readers

    proc = run_snakemake(workdir, CONFIG, TABLE, check=False)
    assert proc.returncode == 1
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith(f"dagbench: {reader} failed:"))
    assert f"CorruptFileError: {file} {words}" in line, line
    command = f"rerun the same snakemake command with `--forcerun {file}` added"
    assert command in line, line
    for record in (workdir / "results" / "fits").rglob("*.json"):  # no method is blamed
        if record != workdir / file:
            assert json.loads(record.read_text())["status"] == "ok"

    run_snakemake(workdir, CONFIG, TABLE, "--forcerun", file)  # the command the message gives
    pd.testing.assert_frame_equal(table(workdir), before)


def test_damaged_fit_arrays_stop_the_evaluate_cli_naming_the_file(tmp_path):
    data = tmp_path / "data" / "lin" / "seed0.npz"
    runner.simulate(CONFIG["settings"][0], seed=0, out=data)
    spec = {"id": "random_dag", "method": "random_dag", "params": {"n_samples": 50}, "timeout_s": 60}
    record = tmp_path / "fits" / "lin" / "seed0" / "random_dag.json"
    assert runner.fit(spec, data=data, seed=0, out=record)["status"] == "ok"
    arrays = runner.fit_arrays_path(record)
    flip_a_bit(arrays)
    log = tmp_path / "evaluate.log"
    proc = subprocess.run(
        [sys.executable, "-m", "dagbench", "--log", str(log), "evaluate", "--data", str(data),
         "--fit", str(record),
         "--setting", json.dumps({**CONFIG["settings"][0], "exact_posterior": None}),
         "--method", json.dumps(spec), "--out", str(tmp_path / "score.json")],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"dagbench: evaluate failed: CorruptFileError: {arrays} is damaged: its "
                                  "SHA-256 differs"), proc.stderr
    assert f"`--forcerun {arrays}`" in proc.stderr
    assert not (tmp_path / "score.json").exists()


def test_a_damaged_dataset_sidecar_is_named(tmp_path):
    path = tmp_path / "seed0.npz"
    rng = np.random.default_rng(0)
    Dataset(x=rng.normal(size=(20, 3)), x_heldout=rng.normal(size=(5, 3)), g_true=np.zeros((3, 3))).save(path)
    truncate(path.with_suffix(".json"))
    with pytest.raises(CorruptFileError, match=f"{path.with_suffix('.json')} is damaged or truncated.*"
                                               f"--forcerun {path}"):
        Dataset.load(path)


# -- every truncation and many bit flips of an .npz are caught -------------------------------

@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("npz") / "a.npz"
    rng = np.random.default_rng(0)
    sha = atomic_write_npz(path, {"x": rng.normal(size=(40, 4)), "g": np.eye(4, dtype=np.int8)})
    return path.read_bytes(), sha


def test_every_truncation_of_an_npz_is_a_corrupt_file_error(archive, tmp_path):
    content, sha = archive
    path = tmp_path / "t.npz"
    for n in range(len(content)):
        path.write_bytes(content[:n])
        with pytest.raises(CorruptFileError, match="t.npz is damaged"):
            read_npz(path)  # even without the checksum


@settings(max_examples=300, deadline=None, derandomize=True)
@given(where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_every_bit_flip_of_an_npz_is_caught_by_its_checksum(archive, tmp_path_factory, where, bit):
    content, sha = archive
    damaged = bytearray(content)
    damaged[int(where * len(content))] ^= 1 << bit
    path = tmp_path_factory.getbasetemp() / "flipped.npz"
    path.write_bytes(bytes(damaged))
    with pytest.raises(CorruptFileError, match="SHA-256 differs"):
        read_npz(path, sha256=sha)
    try:  # without it, a flip is caught as damage or, where the archive has no check, read
        read_npz(path)
    except CorruptFileError:
        pass


def test_a_truncated_json_record_is_a_corrupt_file_error(tmp_path):
    path = tmp_path / "r.json"
    text = json.dumps({"status": "ok", "seed": 0, "reason": "x" * 20})
    for n in range(len(text)):
        path.write_text(text[:n])
        with pytest.raises(CorruptFileError, match=f"{path} is damaged or truncated"):
            read_json(path)
