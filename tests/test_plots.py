"""Figures: each panel shows the methods that ran on its setting."""
import pandas as pd

from evaluation import plots


def test_metric_panels_leave_out_methods_not_run_on_the_setting(monkeypatch, tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    rows = [{"setting": s, "seed": k, "method_id": m, "method": m, "status": "ok", "e_shd": float(k)}
            for s, ms in (("lin", ["pc", "bge"]), ("mlp", ["pc", "mlp"])) for m in ms for k in range(2)]
    df = pd.DataFrame(rows)
    captured = {}
    monkeypatch.setattr(plots, "_save", lambda fig, stem, **kw: captured.setdefault("fig", fig) and [])
    plots.metric_figure(df, "e_shd", "expected SHD (lower is better)", plots.Style(df, []), tmp_path / "e")
    axes = [ax for ax in captured["fig"].axes if ax.get_visible()]
    ticks = {ax.get_title(): [t.get_text() for t in ax.get_xticklabels()] for ax in axes}
    assert ticks == {"lin": ["pc", "bge"], "mlp": ["pc", "mlp"]}
    assert axes[0].get_ylabel() == "expected SHD\n(lower is better)"
