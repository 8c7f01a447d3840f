"""Turns the benchmark programs' lines into Markdown tables and plots.

    python3 bench/report.py CONCLAVE.txt COROSYNC.txt RUNS PLOT_DIR [IMAGE_PREFIX]

(bench/run runs it; to redraw a recorded run: `python3 bench/report.py
bench/results/conclave.txt bench/results/corosync.txt 5 bench/results results`)

Each input line is "group figure metric median unit runs v1 v2 ...", one per
metric of a figure; a figure printed once per run (memory) has one value per
line. Every figure's value is the median of all its runs. Prints one section
per group on stdout: a sentence, the plot, and a table with Conclave's and
corosync's figures side by side and how many times better Conclave is;
writes PLOT_DIR/GROUP.png with gnuplot, one panel per metric, Conclave's bar
beside corosync's for every figure. IMAGE_PREFIX is where the Markdown finds
the plots.
"""

import math
import os
import statistics
import subprocess
import sys

GROUPS = [
    ("round_trips", "Round trips",
     "Each call made back to back on one connection (cpg and evs: a message to the sender's own "
     "group, dispatched back), with the CPU time the daemon and the client spent per call beside "
     "the time it took."),
    ("cmap_scale", "cmap at scale",
     "cmap_set with 10 000 tracks that do not match the key (exact keys and prefixes over 10 "
     "connections), a whole iteration over 10 000 keys, and random gets and sets with a thousand "
     "and with a million keys in the map."),
    ("streams", "Message streams",
     "One sender streams messages as fast as it can to a group of 1 and of 8 members: time per "
     "message until every member has every message, and CPU per message (the client's is the sum "
     "over all member processes). corosync 3 has no evs: its column holds cpg's figure of the "
     "same shape."),
    ("paced", "Paced loads",
     "One call every millisecond (1 000/s) and every 100 us (10 000/s) for 3 s on an absolute "
     "schedule, as a program that asks now and then does: each call's latency from its start to "
     "its return (median, p99) and the CPU per call; no_call is the pacing loop alone (the "
     "client's wake-ups, the floor under the others), idle_3_connections the CPU per second "
     "while a quorum tracker, a cmap tracker and a cpg member wait in poll() for events that do "
     "not come."),
    ("contention", "Paced loads under contention",
     "The same paced loads with a busy loop at nice 0 on every core for the whole interval: calls "
     "made in the 3 s (of 3 000 or 30 000 due), their latency and CPU per call. Both daemons run "
     "as their defaults set them (the scheduling line above), the busy loops and the client at "
     "nice 0."),
    ("memory", "Memory",
     "The daemon's resident memory growth per idle connection over 1 000 connections (on a fresh "
     "daemon each run), and per key while cmap grows from 1 000 to 1 000 000 keys."),
]

METRICS = {  # name: (label, whether more is better)
    "time": ("time", False),
    "median": ("latency median", False),
    "p99": ("latency p99", False),
    "calls": ("calls made", True),
    "daemon_cpu": ("daemon CPU", False),
    "client_cpu": ("client CPU", False),
    "memory": ("memory", False),
}


def load(path):
    """{(group, figure): {metric: (unit, median of all runs)}}, in file order."""
    runs = {}
    for line in open(path):
        group, figure, metric, _median, unit, _runs, *values = line.split()
        metrics = runs.setdefault((group, figure), {})
        metrics.setdefault(metric, (unit, []))[1].extend(map(float, values))
    return {key: {metric: (unit, statistics.median(values))
                  for metric, (unit, values) in metrics.items()}
            for key, metrics in runs.items()}


def counterpart(figure, theirs_figures):
    """corosync's figure to set beside ours: the same, or cpg's for an evs one."""
    if figure in theirs_figures:
        return figure
    other = figure.replace("evs_", "cpg_", 1)
    return other if other in theirs_figures else None


def times_better(metric, ours, theirs):
    if theirs is None or ours <= 0 or theirs <= 0:
        return None
    return ours / theirs if METRICS[metric][1] else theirs / ours


def rows_of(group, ours, theirs):
    """[(label, figure, {metric: (unit, ours, theirs or None)})] of one group."""
    theirs_figures = {figure for (g, figure) in theirs if g == group}
    rows = []
    for (g, figure), metrics in ours.items():
        if g != group:
            continue
        other = counterpart(figure, theirs_figures)
        label = figure if other in (figure, None) else f"{figure} (corosync: {other})"
        values = {}
        for metric, (unit, value) in metrics.items():
            ref = theirs.get((group, other), {}).get(metric)
            values[metric] = (unit, value, ref[1] if ref else None)
        rows.append((label, figure, values))
    return rows


def metric_columns(rows):
    present = {metric for _, _, values in rows for metric in values}
    return [metric for metric in METRICS if metric in present]


def number(value):
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.2f}"


def table(rows):
    columns = metric_columns(rows)
    head = ["figure"]
    for metric in columns:
        head += [f"{METRICS[metric][0]}: Conclave", "corosync 3.1.7 (x)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, _, values in rows:
        cells = [label]
        for metric in columns:
            if metric not in values:
                cells += ["", ""]
                continue
            unit, ours, theirs = values[metric]
            ratio = times_better(metric, ours, theirs)
            ref = "n/a" if theirs is None else f"{number(theirs)} {unit}"
            if ratio is not None:
                ref += f" ({ratio:.1f}x)"
            cells += [f"{number(ours)} {unit}", ref]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---- plots -------------------------------------------------------------------


def panels(rows):
    """One panel per (metric, unit): [(title, [(figure, ours, theirs)])]."""
    found = {}
    for metric in metric_columns(rows):
        for _, figure, values in rows:
            if metric in values:
                unit, ours, theirs = values[metric]
                found.setdefault((metric, unit), []).append((figure, ours, theirs))
    return [(f"{METRICS[metric][0]} ({unit}{per_operation(metric, unit)})", points)
            for (metric, unit), points in found.items()]


def per_operation(metric, unit):
    return "" if metric in ("calls", "memory") or unit.endswith("/s") else " per operation"


def panel_script(title, points):
    positive = [v for _, ours, theirs in points for v in (ours, theirs) if v is not None and v > 0]
    logscale = len(positive) > 1 and max(positive) / min(positive) > 30
    data = "\n".join(f'"{figure}" {ours} {theirs if theirs is not None else "NaN"}'
                     for figure, ours, theirs in points)
    return "\n".join([
        f"$data << EOD\n{data}\nEOD",
        f'set title "{title}"',
        "set logscale y" if logscale else "unset logscale y",
        "set yrange [*:*]" if logscale else f"set yrange [0:{max(positive, default=1) * 1.1}]",
        "plot $data using 2:xtic(1) title 'Conclave' linecolor rgb '#1f77b4', "
        "'' using 3 title 'corosync 3.1.7' linecolor rgb '#ff7f0e'",
    ])


def plot(group, title, rows, path):
    parts = panels(rows)
    if not parts:
        return False
    columns = 2 if len(parts) > 2 else 1
    layout_rows = math.ceil(len(parts) / columns)
    figures = max(len(points) for _, points in parts)
    width = columns * max(560, 60 * figures + 160)
    # figure names stand upright below each panel: a character is about half a line
    label_lines = max(len(figure) for _, points in parts for figure, _, _ in points) // 2 + 2
    height = layout_rows * (320 + 16 * label_lines)
    script = "\n".join([
        f"set terminal pngcairo size {width},{height} font 'DejaVu Sans,10'",
        f"set output '{path}'",
        "set style data histogram",
        "set style histogram clustered gap 1",
        "set style fill solid 0.9 border -1",
        "set boxwidth 0.9",
        "set xtics rotate by 90 right noenhanced",
        "set key outside top center horizontal noenhanced",
        "set grid ytics",
        f"set bmargin {label_lines}",
        f"set multiplot layout {layout_rows},{columns} title '{title} (median of the runs)'",
        *(panel_script(t, points) for t, points in parts),
        "unset multiplot",
    ])
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    return True


def main():
    ours, theirs = load(sys.argv[1]), load(sys.argv[2])
    runs, plot_dir = sys.argv[3], sys.argv[4]
    image_prefix = sys.argv[5] if len(sys.argv) > 5 else plot_dir
    os.makedirs(plot_dir, exist_ok=True)
    for group, title, sentence in GROUPS:
        rows = rows_of(group, ours, theirs)
        if not rows:
            continue
        print(f"## {title}\n\n{sentence}\n")
        if plot(group, title, rows, os.path.join(plot_dir, f"{group}.png")):
            print(f"![{title}]({image_prefix}/{group}.png)\n")
        print(f"Medians of {runs} runs; (x): how many times better Conclave is.\n")
        print(table(rows) + "\n")


if __name__ == "__main__":
    main()
