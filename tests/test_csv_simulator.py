"""The csv simulator reads user CSVs the way users write them: graph headers matched by
name and recognised by shape, index columns dropped, constant-on-the-split columns named
with the seed and the file rows, and every refusal naming the file and the column.

Shared inputs are under tests/cases/ (see its README); the rest are made in tmp_path.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulators.base import DataError
from simulators.csv_file import CsvDataset

CASES = Path(__file__).parent / "cases"


def _data(tmp_path, names=("0", "1", "2"), n=40, seed=0, name="data.csv") -> str:
    """A chain 0 -> 1 -> 2 (columns ``names``) written with pandas, no index."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(names)))
    for j in range(1, len(names)):
        x[:, j] += x[:, j - 1]
    path = tmp_path / name
    pd.DataFrame(x, columns=list(names)).to_csv(path, index=False)
    return str(path)


def _write(tmp_path, name, text) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _refusal(**params) -> str:
    seed = params.pop("seed", 0)
    with pytest.raises(DataError) as info:
        CsvDataset(**params).simulate(seed=seed)
    return str(info.value)


CHAIN = [[0, 1, 0], [0, 0, 1], [0, 0, 0]]


# ------------------------------------------------------------------ shared cases
def test_graph_header_in_another_order_is_matched_by_name(capsys):
    case = CASES / "graph-header-order"
    ds = CsvDataset(path=str(case / "data.csv"),
                    graph_path=str(case / "graph_perm_for_unpermuted_data.csv")).simulate(seed=0)
    right = pd.read_csv(case / "graph.csv")
    assert list(right.columns) == ds.node_names == ["A", "B", "C", "D", "E"]
    assert ds.g_true.tolist() == right.to_numpy().tolist()
    assert any("reordered" in s and "A, B, D, C, E" in s for s in ds.meta["notes"])
    assert "[dagbench] csv dataset" in capsys.readouterr().err


def test_index_column_case_is_dropped_and_the_graph_loads(capsys):
    case = CASES / "index-column"
    ds = CsvDataset(path=str(case / "data.csv"), graph_path=str(case / "graph.csv"),
                    standardise=False).simulate(seed=0)
    assert ds.node_names == ["A", "B", "C"] and ds.d == 3
    assert ds.g_true.tolist() == pd.read_csv(case / "graph.csv").to_numpy().tolist()
    raw = pd.read_csv(case / "data.csv")
    assert sorted(np.concatenate([ds.x, ds.x_heldout])[:, 0]) == pytest.approx(sorted(raw["A"]))
    assert any("index column" in s and "first column" in s for s in ds.meta["notes"])
    assert "index column" in capsys.readouterr().err
    no_graph = CsvDataset(path=str(case / "data.csv")).simulate(seed=0)
    assert "Unnamed: 0" not in no_graph.node_names and no_graph.d == 3


def test_constant_on_seed_3_training_rows_names_the_seed_and_the_row():
    case = CASES / "constant-in-split"
    data, graph = str(case / "data_rare.csv"), str(case / "graph_rare.csv")
    r = pd.read_csv(data)["R"].to_numpy()
    assert np.ptp(r) > 0  # R is not constant in the file
    (row,) = np.nonzero(r != 0)[0] + 1  # 1-based data row; the file line is one more
    msg = _refusal(path=data, graph_path=graph, seed=3)
    assert "R" in msg and "seed 3" in msg and "training rows" in msg
    assert f"data row {row} (line {row + 1} of the file)" in msg
    assert "constant columns: R" not in msg and "data_rare.csv" in msg
    ds = CsvDataset(path=data, graph_path=graph).simulate(seed=0)  # seed 0 keeps that row for training
    assert ds.node_names == ["A", "B", "R", "C"] and np.ptp(ds.x[:, 2]) > 0


# ------------------------------------------------------------------ graph file
@pytest.mark.parametrize("layout", ["header", "bare", "row-labels"])
def test_numeric_node_names_graph_header_is_decided_by_shape(tmp_path, layout):
    data = _data(tmp_path)  # node names "0", "1", "2"
    g = pd.DataFrame(CHAIN, index=["0", "1", "2"], columns=["0", "1", "2"])
    path = tmp_path / "g.csv"
    if layout == "header":  # 4 x 3, columns and rows in another order
        g.loc[["1", "2", "0"], ["1", "2", "0"]].to_csv(path, index=False)
    elif layout == "bare":  # 3 x 3 in the data's order
        g.to_csv(path, index=False, header=False)
    else:  # 4 x 4 as to_csv() writes it, rows and columns in different orders
        g.loc[["2", "0", "1"], ["1", "2", "0"]].to_csv(path)
    ds = CsvDataset(path=data, graph_path=str(path)).simulate(seed=0)
    assert ds.g_true.tolist() == CHAIN


def test_bare_graph_whose_first_row_looks_like_the_names_is_not_a_header(tmp_path):
    data = _data(tmp_path, names=("0", "1"))
    graph = _write(tmp_path, "g.csv", "0,1\n0,0\n")  # 2 x 2: no header, although row 1 reads "0,1"
    ds = CsvDataset(path=data, graph_path=graph).simulate(seed=0)
    assert ds.g_true.tolist() == [[0, 1], [0, 0]]


def test_graph_header_name_not_in_the_data_is_named(tmp_path):
    data = _data(tmp_path, names=("A", "B", "C"))
    msg = _refusal(path=data, graph_path=_write(tmp_path, "g.csv", "A,B,X\n0,1,0\n0,0,1\n0,0,0\n"))
    assert "'X'" in msg and "not in the data" in msg and "missing: 'C'" in msg
    assert "g.csv" in msg and "entries must be 0 or 1" not in msg


def test_graph_repeated_header_name_is_named(tmp_path):
    data = _data(tmp_path, names=("A", "B", "C"))
    msg = _refusal(path=data, graph_path=_write(tmp_path, "g.csv", "A,B,B\n0,1,0\n0,0,1\n0,0,0\n"))
    assert "repeated: 'B'" in msg and "missing: 'C'" in msg and "entries must be 0 or 1" not in msg


def test_graph_row_labels_that_do_not_match_are_named(tmp_path):
    data = _data(tmp_path, names=("A", "B", "C"))
    msg = _refusal(path=data, graph_path=_write(tmp_path, "g.csv", ",A,B,C\nA,0,1,0\nB,0,0,1\nZ,0,0,0\n"))
    assert "row names" in msg and "'Z'" in msg and "missing: 'C'" in msg


@pytest.mark.parametrize("text,shape", [("0,1\n0,0\n", "2 x 2"),
                                         ("0,1,0,0\n0,0,1,0\n0,0,0,1\n0,0,0,0\n0,0,0,0\n", "5 x 4")])
def test_graph_of_the_wrong_size_gives_both_shapes(tmp_path, text, shape):
    data = _data(tmp_path, name="mydata.csv")
    msg = _refusal(path=data, graph_path=_write(tmp_path, "g.csv", text))
    assert f"is {shape} but the data has d = 3 columns" in msg and "mydata.csv" in msg
    assert "expected 3 x 3" in msg and "4 x 3" in msg and "4 x 4" in msg
    assert "entries must be 0 or 1" not in msg


def test_graph_one_larger_bare_matrix_is_read_with_labels_and_says_it_may_be_the_wrong_size(tmp_path):
    data = _data(tmp_path, names=("a", "b"))
    msg = _refusal(path=data, graph_path=_write(tmp_path, "g.csv", "0,1,0\n0,0,1\n0,0,0\n"))
    assert "is 3 x 3 but the data has d = 2" in msg and "wrong size" in msg
    assert "entries must be 0 or 1" not in msg


def test_graph_entry_not_0_or_1_names_row_column_and_value(tmp_path):
    data = _data(tmp_path, names=("A", "B", "C"))
    msg = _refusal(path=data, graph_path=_write(tmp_path, "g.csv", "C,A,B\n0,0,0\n0,0,2\n1,0,0\n"))
    assert "entries must be 0 or 1" in msg and "row 'A', column 'B' is '2'" in msg and "g.csv" in msg


def test_graph_cycle_names_its_nodes(tmp_path):
    data = _data(tmp_path, names=("A", "B", "C"))
    msg = _refusal(path=data, graph_path=_write(tmp_path, "g.csv", "A,B,C\n0,1,0\n0,0,1\n1,0,0\n"))
    assert "has a cycle" in msg and "A -> B -> C -> A" in msg


# ------------------------------------------------------------------ data file
def test_short_header_row_labels_are_dropped(tmp_path):
    """R's write.table form: header one field shorter than the rows (pandas: row labels)."""
    x = np.random.default_rng(1).normal(size=(30, 3))
    for start in (0, 1):  # labels 0..n-1 look like pandas' default index, 1..n do not
        text = "A,B,C\n" + "".join(f"{i + start},{a},{b},{c}\n" for i, (a, b, c) in enumerate(x))
        path = _write(tmp_path, f"short{start}.csv", text)
        ds = CsvDataset(path=path, standardise=False).simulate(seed=0)
        assert ds.node_names == ["A", "B", "C"]
        assert sorted(np.concatenate([ds.x, ds.x_heldout])[:, 0]) == pytest.approx(sorted(x[:, 0]))
        assert any("row label" in s for s in ds.meta["notes"])


def test_header_two_fields_short_is_refused(tmp_path):
    text = "A,B\n" + "".join(f"{i},{i},{i * 0.3 % 1},{i * 0.7 % 1}\n" for i in range(20))
    msg = _refusal(path=_write(tmp_path, "x.csv", text))
    assert "2 names" in msg and "4 fields" in msg and "x.csv" in msg


def test_named_first_column_is_a_variable_with_a_note(tmp_path):
    """Only an empty header cell marks an index: a column named "id" is kept, with a note."""
    df = pd.read_csv(_data(tmp_path))
    df.insert(0, "id", range(len(df)))
    df.to_csv(tmp_path / "id.csv", index=False)
    ds = CsvDataset(path=str(tmp_path / "id.csv")).simulate(seed=0)
    assert ds.node_names == ["id", "0", "1", "2"]
    assert any("'id'" in s and "kept as a variable" in s for s in ds.meta["notes"])


def test_empty_header_cell_not_first_is_refused_with_its_position(tmp_path):
    df = pd.read_csv(_data(tmp_path))
    text = df.to_csv(index=False).replace("0,1,2\n", "0,,2\n", 1)
    msg = _refusal(path=_write(tmp_path, "x.csv", text))
    assert "column 2 of 3" in msg and "after column '0'" in msg and "x.csv" in msg


def test_duplicate_header_names_are_refused_from_the_raw_header(tmp_path):
    df = pd.read_csv(_data(tmp_path))
    text = df.to_csv(index=False).replace("0,1,2\n", "A,B,A\n", 1)
    msg = _refusal(path=_write(tmp_path, "x.csv", text))
    assert "'A' is the name of columns 1, 3" in msg and "x.csv" in msg
    assert "A.1" not in msg


def test_nan_cell_names_column_and_file_row(tmp_path):
    lines = pd.read_csv(_data(tmp_path)).to_csv(index=False).splitlines()
    cells = lines[5].split(",")  # data row 5, line 6
    cells[1] = ""
    lines[5] = ",".join(cells)
    msg = _refusal(path=_write(tmp_path, "x.csv", "\n".join(lines) + "\n"))
    assert "non-finite" in msg and "column '1' at data row 5 (line 6 of the file)" in msg
    # a blank line before it shifts the file line (pandas skips blank lines), not the data row
    lines.insert(1, "")
    msg = _refusal(path=_write(tmp_path, "y.csv", "\n".join(lines) + "\n"))
    assert "column '1' at data row 5 (line 7 of the file)" in msg


def test_non_numeric_cell_names_column_value_and_row(tmp_path):
    lines = pd.read_csv(_data(tmp_path)).to_csv(index=False).splitlines()
    cells = lines[3].split(",")
    cells[2] = "high"
    lines[3] = ",".join(cells)
    msg = _refusal(path=_write(tmp_path, "x.csv", "\n".join(lines) + "\n"))
    assert "column '2' has 'high' at data row 3 (line 4 of the file)" in msg


def test_column_constant_in_the_whole_file_says_so(tmp_path):
    df = pd.read_csv(_data(tmp_path))
    df["1"] = 0.0
    df.to_csv(tmp_path / "x.csv", index=False)
    msg = _refusal(path=str(tmp_path / "x.csv"))
    assert "column 1 is constant (= 0) in file" in msg and "x.csv" in msg and "seed" not in msg


def test_column_constant_on_one_seeds_training_rows(tmp_path):
    n, frac = 50, 0.2
    n_held = int(round(frac * n))
    held = np.random.default_rng(7).permutation(n)[:n_held]  # the rows seed 7 holds out
    rows = sorted(held[:2])  # two of them carry R's other values
    df = pd.read_csv(_data(tmp_path, n=n))
    df["R"] = 0.0
    df.loc[rows, "R"] = [1.0, 2.0]
    df.to_csv(tmp_path / "x.csv", index=False)
    msg = _refusal(path=str(tmp_path / "x.csv"), heldout_fraction=frac, seed=7)
    assert "column R is constant (= 0)" in msg and "seed 7" in msg
    for i in rows:
        assert f"data row {i + 1} (line {i + 2} of the file)" in msg
    other = next(s for s in range(100)
                 if not set(rows) <= set(np.random.default_rng(s).permutation(n)[:n_held]))
    ds = CsvDataset(path=str(tmp_path / "x.csv"), heldout_fraction=frac).simulate(seed=other)
    assert ds.node_names[-1] == "R"


def test_missing_files_are_config_problems_named_before_any_job(tmp_path):
    from simulators.base import get as get_simulator

    csv = get_simulator("csv")
    data = CASES / "index-column" / "data.csv"
    assert csv.param_problems({"path": str(data)}) == []
    problems = csv.param_problems({"path": str(tmp_path / "nope.csv"),
                                   "graph_path": str(tmp_path / "truth.csv")})
    assert any("'path'" in p and "nope.csv" in p and "no such file" in p for p in problems)
    assert any("'graph_path'" in p and "truth.csv" in p for p in problems)
