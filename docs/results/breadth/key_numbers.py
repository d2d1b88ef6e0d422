"""The numbers docs/results/breadth/README.md quotes, from the study's score table.

    python docs/results/breadth/key_numbers.py results/breadth/tables/scores.csv > docs/results/breadth/key_numbers.md

Per setting: mean E-SHD, SHD between CPDAGs and AUROC of every method (ok fits; n = the
fits that ended ok), the mean var-/R²-sortability of the datasets, and the methods whose
mean E-SHD is no better than sortnregress's or R²-sortnregress's (the order floors).
"""
import sys

import pandas as pd


def main(path: str) -> None:
    df = pd.read_csv(path)
    ok = df[df["status"] == "ok"]
    print("# Key numbers of the breadth study\n")
    print(f"From `{path}`: {len(df)} records, {len(ok)} ok; not ok: "
          + (", ".join(f"{m} {s} ×{n}" for (m, s), n in
                      df[df["status"] != "ok"].groupby(["method_id", "status"]).size().items()) or "none")
          + ".\n")
    sort = df.drop_duplicates(["setting", "seed"]).groupby("setting", sort=False)[
        ["var_sortability", "r2_sortability"]].mean()
    print("## Sortability of the datasets (mean over seeds)\n")
    print(sort.round(2).to_markdown() + "\n")
    for metric, better in (("e_shd", "lower"), ("shd_cpdag", "lower"), ("auroc", "higher")):
        table = ok.pivot_table(index="method_id", columns="setting", values=metric, aggfunc="mean", sort=False)
        table = table[list(dict.fromkeys(df["setting"]))]
        print(f"## Mean {metric} ({better} is better)\n")
        print(table.round(2).to_markdown() + "\n")
    print("## Methods no better than an order floor (mean E-SHD)\n")
    e = ok.pivot_table(index="method_id", columns="setting", values="e_shd", aggfunc="mean")
    floors = [m for m in ("sortnregress", "r2_sortnregress") if m in e.index]
    for setting in dict.fromkeys(df["setting"]):
        if not floors or setting not in e:
            continue
        floor = e.loc[floors, setting].min()
        worse = [m for m in e.index if m not in floors and e.loc[m, setting] >= floor]
        best = e[setting].drop(index=floors).idxmin()
        print(f"- {setting}: best floor {floor:.2f} ({e.loc[floors, setting].idxmin()}); best learner "
              f"{best} {e.loc[best, setting]:.2f}; no better than the floor: {', '.join(worse) or 'none'}")
    print()
    fit = ok[["method_id", "setting", "fit_s"]].assign(d=ok["setting"].str.extract(r"d(\d+)$")[0]).pivot_table(
        index="method_id", columns="d", values="fit_s", aggfunc="median")
    print("## Median fit time [s] by d\n")
    print(fit.round(1).to_markdown())


if __name__ == "__main__":
    main(sys.argv[1])
