"""The summary table: mean ± s.e., failure counts, and the training rows each method used."""
import pandas as pd

from evaluation.aggregate import mean_se, summary_markdown, summary_tables


def records(rows_used_pc="all"):
    rows = []
    for seed, (e_pc, e_dibs) in enumerate([(2.0, 1.0), (4.0, 3.0)]):
        rows.append({"setting": "s", "seed": seed, "method_id": "pc", "status": "ok", "e_shd": e_pc,
                     "rows_used": rows_used_pc})
        rows.append({"setting": "s", "seed": seed, "method_id": "dibs", "status": "ok", "e_shd": e_dibs,
                     "rows_used": "all"})
    rows.append({"setting": "s", "seed": 2, "method_id": "pc", "status": "timeout", "e_shd": None,
                 "rows_used": rows_used_pc})
    return pd.DataFrame(rows)


def test_mean_and_standard_error():
    m, se = mean_se(pd.Series([2.0, 4.0]))
    assert m == 3.0 and abs(se - 1.0) < 1e-12  # sd 1.414 / sqrt(2)


def test_cells_and_counts():
    table = summary_tables(records())["s"].set_index("method")
    assert table.loc["pc", "E-SHD ↓"] == "3.0 ± 1.0" and table.loc["pc", "ok"] == "2/3"
    assert table.loc["pc", "not ok"] == 1 and table.loc["dibs", "not ok"] == 0
    assert "training rows" not in table.columns  # observational data: nothing to say


def test_interventional_settings_say_which_rows_each_method_used():
    tables = summary_tables(records(rows_used_pc="observational only"))
    table = tables["s"].set_index("method")
    assert table.loc["pc", "training rows"] == "observational only"
    assert table.loc["dibs", "training rows"] == "all"
    assert "| training rows |" in summary_markdown(tables)


def test_interventional_heldout_ll_column_only_where_it_has_values():
    df = records()
    df["ll_heldout_interv"] = float("nan")
    assert "interv. held-out LL ↑" not in summary_tables(df)["s"].columns
    df.loc[df["method_id"] == "dibs", "ll_heldout_interv"] = [-3.0, -5.0]
    table = summary_tables(df)["s"].set_index("method")
    assert table.loc["dibs", "interv. held-out LL ↑"] == "-4.00 ± 1.00"
    assert table.loc["pc", "interv. held-out LL ↑"] == "–"


def test_records_without_rows_used_count_as_all_rows():
    # score records written before rows_used existed, mixed with newer ones (a resumed run)
    df = records()
    df.loc[df["method_id"] == "pc", "rows_used"] = float("nan")
    table = summary_tables(df)["s"]
    assert "training rows" not in table.columns
