"""The numbers docs/results/amortized/README.md quotes, from the study's score table.

    python docs/results/amortized/key_numbers.py results/amortized-study/tables/scores.csv > docs/results/amortized/key_numbers.md

Per setting (in and out of the shipped model's training distribution) and method: mean
AUROC, AUPRC, E-SHD, SHD between CPDAGs and held-out log-likelihood over the seeds whose
fit ended ok, and the fit time; then, per setting, the amortized model's AUROC rank.
"""
import sys

import pandas as pd

METRICS = [("auroc", "higher"), ("auprc", "higher"), ("e_shd", "lower"), ("shd_cpdag", "lower"),
           ("ll_heldout", "higher"), ("fit_s", "lower")]


def main(path: str) -> None:
    df = pd.read_csv(path)
    ok = df[df["status"] == "ok"]
    settings = list(dict.fromkeys(df["setting"]))
    print("# Key numbers of the amortized study\n")
    print(f"From `{path}`: {len(df)} records, {len(ok)} ok; not ok: "
          + (", ".join(f"{m} {s} ×{n}" for (m, s), n in
                      df[df["status"] != "ok"].groupby(["method_id", "status"]).size().items()) or "none")
          + ".\n")
    for metric, better in METRICS:
        if metric not in ok:
            continue
        table = ok.pivot_table(index="method_id", columns="setting", values=metric, aggfunc="mean", sort=False)
        table = table[[s for s in settings if s in table]]
        print(f"## Mean {metric} ({better} is better)\n")
        print(table.round(3 if metric in ("auroc", "auprc") else 2).to_markdown() + "\n")
    auroc = ok.pivot_table(index="method_id", columns="setting", values="auroc", aggfunc="mean")
    print("## Where the amortized model ranks on AUROC (1 = best; the floors included)\n")
    for s in settings:
        if s in auroc and "amortized" in auroc.index:
            col = auroc[s].dropna().sort_values(ascending=False)
            rank = list(col.index).index("amortized") + 1
            print(f"- {s}: {rank} of {len(col)} (amortized {col['amortized']:.3f}; best "
                  f"{col.index[0]} {col.iloc[0]:.3f})")


if __name__ == "__main__":
    main(sys.argv[1])
