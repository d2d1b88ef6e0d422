"""Critical-difference diagrams in the layout of Demsar (2006, JMLR 7:1-30, Fig. 1 and 2).

An axis of mean ranks from 1 (best, on the left) to k; each method hangs from its mean
rank by an elbow line to its name, the better half on the left and the worse half on the
right; thick horizontal bars join the methods whose mean ranks differ by at most the
Nemenyi critical difference (the groups of ``evaluation.statistics.nemenyi_groups``), and
the length of the CD is drawn above the axis. When the Friedman test does not reject, one
bar joins all methods. Method colours (the elbow and the dot on the axis) are the other
figures' Okabe-Ito colours. A metric that cannot be ranked gets a small figure saying why.
Drawn with matplotlib in inch coordinates (the figure grows with the number of methods and
the length of their names); written as PNG and PDF (no creation date: reruns give the same
file).
"""
from __future__ import annotations

import math
import textwrap
from pathlib import Path

FORMATS = ["png", "pdf"]
#: approximate width of a character at 9 pt (DejaVu Sans), inches
_CHAR_W = 0.075
_NAME_STEP = 0.22  # vertical distance of the names, inches
_BAR_STEP = 0.11   # vertical distance of the group bars, inches


def _save(fig, stem: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    from dagbench.io import atomic_path

    out = []
    for fmt in FORMATS:
        path = Path(stem).with_suffix(f".{fmt}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=150, format=fmt, bbox_inches="tight", pad_inches=0.08,
                        metadata={"CreationDate": None} if fmt == "pdf" else None)
        out.append(path)
    plt.close(fig)
    return out


def placeholder_figure(title: str, reason: str):
    """A small figure with the title and why there is no diagram (the text's gid is 'reason')."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(6.0, 1.3))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_axis_off()
    ax.text(0.5, 0.78, title, ha="center", va="center", fontsize=10)
    ax.text(0.5, 0.4, textwrap.fill(reason, 80), ha="center", va="center", fontsize=9, color="#333333",
            gid="reason")
    return fig


def subtitle(result) -> str:
    """What the diagram shows: blocks, the Friedman p, how to read the bars, what is left out."""
    from evaluation.statistics import p_text

    parts = [f"N = {result.n_blocks} blocks (setting × seed)"
             + (f", {result.n_blocks_dropped} dropped (a method not ok)" if result.n_blocks_dropped else "")]
    if math.isfinite(result.p):
        if result.posthoc:
            parts.append(f"Friedman {p_text(result.p)}; bars join methods whose mean ranks differ by "
                         f"at most the Nemenyi CD (α = {result.alpha:g})")
        else:
            parts.append(f"Friedman {p_text(result.p)} ≥ α = {result.alpha:g}: no difference detected, "
                         "one bar joins all")
    if result.note:
        parts.append(result.note + ("; one bar joins all" if not result.posthoc else ""))
    if result.dropped_methods:
        parts.append("not ranked: " + "; ".join(f"{m}: {why}" for m, why in result.dropped_methods.items()))
    return "; ".join(parts) + "."


def draw_cd_diagram(result, stem: Path, *, title: str | None = None, colors: dict[str, str] | None = None,
                    bold=()) -> list[Path]:
    """Draw ``result`` (an ``evaluation.statistics.RankResult``) to ``stem``.png and .pdf
    (``cd_figure``), or a placeholder saying why when nothing was ranked."""
    return _save(cd_figure(result, title=title, colors=colors, bold=bold), stem)


def cd_figure(result, *, title: str | None = None, colors: dict[str, str] | None = None, bold=()):
    """The critical-difference diagram of ``result`` as a matplotlib figure (a placeholder
    saying why when nothing was ranked). ``colors``: {method: colour}; ``bold``: method ids
    whose names are set in bold (the highlighted methods). The group bars' gid is 'group',
    the CD label's 'cd', the method names' 'name'."""
    import matplotlib.pyplot as plt

    title = title or result.metric
    if not result.ranked:
        why = result.note or "nothing to rank"
        if result.dropped_methods:
            why += "; not ranked: " + "; ".join(f"{m}: {w}" for m, w in result.dropped_methods.items())
        return placeholder_figure(f"{title}: no critical-difference diagram", why)
    colors = colors or {}
    ranks = result.mean_ranks.sort_values(kind="stable")
    names, values = list(ranks.index), list(ranks.to_numpy(float))
    k = len(names)
    lo, hi = 1, max(k, int(math.ceil(max(values))))
    n_left = int(math.ceil(k / 2))
    labels = [f"{n} ({v:.2f})" if i < n_left else f"({v:.2f}) {n}" for i, (n, v) in enumerate(zip(names, values))]
    left_w = max(len(t) for t in labels[:n_left]) * _CHAR_W + 0.3
    right_w = max([len(t) for t in labels[n_left:]] or [0]) * _CHAR_W + 0.3
    axis_w = max(3.6, 0.55 * (hi - lo))
    width = left_w + axis_w + right_w
    x0, x1 = left_w, left_w + axis_w

    def pos(rank: float) -> float:
        return x0 + (rank - lo) / (hi - lo) * axis_w

    sub = textwrap.wrap(subtitle(result), max(40, int(width / 0.062)))
    y_title = 0.18
    y_sub = y_title + 0.24
    y_cd = y_sub + len(sub) * 0.16 + 0.22
    y_axis = y_cd + 0.42
    groups = result.groups
    y_names = y_axis + 0.22 + len(groups) * _BAR_STEP + 0.12
    height = y_names + (n_left - 1) * _NAME_STEP + 0.25

    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_axis_off()
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)  # y grows downwards, in inches

    ax.text(0.1, y_title, f"{title}: mean rank (1 = best)", fontsize=10, va="center")
    for i, line in enumerate(sub):
        ax.text(0.1, y_sub + i * 0.16, line, fontsize=7.5, va="center", color="#333333")

    # the rank axis, ticks every half rank, numbers on the whole ranks
    ax.plot([x0, x1], [y_axis, y_axis], color="k", lw=0.9)
    for j in range(2 * (hi - lo) + 1):
        r = lo + j / 2
        tick = 0.1 if j % 2 == 0 else 0.05
        ax.plot([pos(r), pos(r)], [y_axis - tick, y_axis], color="k", lw=0.9)
        if j % 2 == 0:
            ax.text(pos(r), y_axis - 0.13, f"{int(r)}", ha="center", va="bottom", fontsize=8)

    # the critical difference, above the axis from rank 1
    if math.isfinite(result.cd):
        end = min(lo + result.cd, hi)
        ax.plot([pos(lo), pos(end)], [y_cd, y_cd], color="k", lw=1.2)
        for x in (pos(lo), pos(end)):
            ax.plot([x, x], [y_cd - 0.05, y_cd + 0.05], color="k", lw=1.2)
        longer = " (longer than the axis)" if lo + result.cd > hi else ""
        ax.text((pos(lo) + pos(end)) / 2, y_cd - 0.07, f"CD = {result.cd:.2f}{longer}", ha="center",
                va="bottom", fontsize=8, gid="cd")

    # the groups: thick bars between the axis and the names
    for g, members in enumerate(groups):
        rs = [ranks[m] for m in members]
        y = y_axis + 0.22 + g * _BAR_STEP
        ax.plot([pos(min(rs)) - 0.05, pos(max(rs)) + 0.05], [y, y], color="k", lw=3.2,
                solid_capstyle="butt", gid="group")

    # the methods: dot on the axis, elbow line, name
    for i, (name, rank, label) in enumerate(zip(names, values, labels)):
        c = colors.get(name, "k")
        left = i < n_left
        y = y_names + (i if left else k - 1 - i) * _NAME_STEP
        xe = x0 - 0.12 if left else x1 + 0.12
        ax.plot([pos(rank), pos(rank), xe], [y_axis, y, y], color=c, lw=1.1, zorder=2)
        ax.plot([pos(rank)], [y_axis], marker="o", ms=4.5, color=c, zorder=3, mec="k", mew=0.5)
        ax.text(xe - 0.05 if left else xe + 0.05, y, label, ha="right" if left else "left", va="center",
                fontsize=9, fontweight="bold" if name in set(bold) else "normal", gid="name")
    return fig
