"""The network figure: who learns from whom, and how knowledge gaps and talent flows evolve (docs/network.md).

Built from outputs only (a graph with lab attributes, e.g. ``network_end.graphml`` or
:func:`economy.network.lab_graph`, and the market table), as a :class:`matplotlib.figure.Figure` on its own Agg
canvas (no ``pyplot``), in the Okabe-Ito palette and the colour-blind-safe ``viridis`` map.
"""

from __future__ import annotations

import math
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from runs.views.marks import year_axis
from runs.views.style import DPI, GUIDE, OKABE_ITO

__all__ = ["network_figure"]

_BLOC_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_NAMED_LABS = 5
"""Labs named in the graph panel (the largest by share)."""


def network_figure(
    graph: nx.Graph,
    market_df: pd.DataFrame,
    *,
    max_nodes: int = 300,
    layout_seed: int = 0,
    title: str | None = None,
) -> Figure:
    """Four panels: the graph of the labs alive (on a circle grouped by bloc; size: market share; colour: ln S gap
    to the best of them; marker: bloc; grey: active edges, dashed vermillion: cut edges; the five largest labs
    named), their degree distribution, the knowledge gap over time, and talent and knowledge flows.

    Parameters
    ----------
    graph
        A lab graph with node attributes ``log_software``, ``share``, ``bloc``, ``alive`` and edge attribute
        ``active`` (as written by :func:`economy.network.lab_graph`); missing attributes take neutral values.
    market_df
        The market table (``year``, ``knowledge_gap_dispersion``, ``mean_log_software_gap``, ``talent_flow``,
        ``spillover_log_software``).
    max_nodes
        More labs alive are drawn as the subgraph of the ``max_nodes`` largest by share (said in the title).
    layout_seed
        Seed of the spring layout used above 60 labs (presentation only; it draws from its own generator).
    """
    fig = Figure(figsize=(12.0, 8.0), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(3, 2, width_ratios=(1.5, 1.0))
    ax_graph = fig.add_subplot(grid[:, 0])
    ax_degree = fig.add_subplot(grid[0, 1])
    ax_gap = fig.add_subplot(grid[1, 1])
    ax_flow = fig.add_subplot(grid[2, 1], sharex=ax_gap)
    _graph_panel(fig, ax_graph, graph, max_nodes, layout_seed)
    _degree_panel(ax_degree, graph)
    _gap_panel(ax_gap, market_df)
    _flow_panel(ax_flow, market_df)
    fig.suptitle(title or "Multipolar: the knowledge-spillover network", fontsize=12)
    fig.text(0.01, 0.002, "Source: Multipolar simulation. Catch-up: d ln S_i += dt sum_j k_ij max(0, ln S_j - ln S_i) "
             "(docs/network.md).", fontsize=7.5, color=GUIDE, ha="left", va="bottom")
    return fig


def _circle_layout(nodes: list[int], bloc: np.ndarray, share: np.ndarray) -> dict[int, np.ndarray]:
    """Labs on a circle, blocs in contiguous arcs (a gap between blocs), within a bloc the largest share first."""
    order = sorted(range(len(nodes)), key=lambda k: (int(bloc[k]), -float(share[k]), nodes[k]))
    n_blocs = len(np.unique(bloc))
    slots = len(nodes) + (n_blocs if n_blocs > 1 else 0)  # one empty slot between blocs
    pos: dict[int, np.ndarray] = {}
    slot = 0
    previous = None
    for k in order:
        if previous is not None and bloc[k] != previous:
            slot += 1
        angle = np.pi / 2 - 2 * np.pi * slot / max(slots, 1)
        pos[nodes[k]] = np.array([np.cos(angle), np.sin(angle)])
        previous = bloc[k]
        slot += 1
    return pos


def _graph_panel(fig: Figure, ax: Any, graph: nx.Graph, max_nodes: int, layout_seed: int) -> None:
    """The labs alive at the horizon on a circle grouped by bloc: size = market share, colour = software gap,
    marker = bloc, grey lines = active spillover edges, dashed vermillion = cut edges, the largest labs named."""
    alive_nodes = [v for v in graph.nodes if bool(graph.nodes[v].get("alive", True))]
    gone = graph.number_of_nodes() - len(alive_nodes)
    ranked = sorted(alive_nodes, key=lambda v: (-float(graph.nodes[v].get("share", 0.0)), v))
    nodes = sorted(ranked[:max_nodes])
    shown = graph.subgraph(nodes)
    notes = []
    if len(alive_nodes) > max_nodes:
        notes.append(f"the {max_nodes} largest of {len(alive_nodes)} labs alive")
    if gone:
        notes.append(f"{gone} exited lab{'s' if gone != 1 else ''} not drawn")
    if not nodes:
        ax.set_axis_off()
        ax.set_title("Spillover network: no lab alive", loc="left", fontsize=11)
        return
    log_s = np.array([float(shown.nodes[v].get("log_software", 0.0)) for v in nodes])
    gap = np.clip(log_s.max() - log_s, 0.0, None)
    share = np.array([float(shown.nodes[v].get("share", 0.0)) for v in nodes])
    inside = share / share.sum() if share.sum() > 0 else share
    size = 30.0 + 1600.0 * np.clip(inside, 0.0, 1.0)
    bloc = np.array([int(shown.nodes[v].get("bloc", 0)) for v in nodes])
    pos = _circle_layout(nodes, bloc, inside) if len(nodes) <= 60 else nx.spring_layout(shown, seed=layout_seed)
    active, cut = [], []
    for u, v, act in shown.edges(data="active", default=True):
        (active if act else cut).append((pos[u], pos[v]))
    if active:
        ax.add_collection(LineCollection(active, colors="#8C8C8C", linewidths=0.9, alpha=0.55, zorder=1))
    if cut:
        ax.add_collection(LineCollection(cut, colors=OKABE_ITO["vermillion"], linewidths=1.0, linestyles="--",
                                         alpha=0.8, zorder=1))
    xy = np.array([pos[v] for v in nodes])
    vmax = max(float(gap.max()), 1e-9)
    handles = []
    scatter = None
    for k, code in enumerate(np.unique(bloc)):
        sel = bloc == code
        marker = _BLOC_MARKERS[k % len(_BLOC_MARKERS)]
        scatter = ax.scatter(xy[sel, 0], xy[sel, 1], s=size[sel], c=gap[sel], cmap="viridis_r", vmin=0.0, vmax=vmax,
                             marker=marker, edgecolors="black", linewidths=0.6, zorder=2)
        handles.append(Line2D([], [], marker=marker, linestyle="", color="#777777", markersize=8,
                              label=f"bloc {code}: {int(sel.sum())} lab{'s' if sel.sum() != 1 else ''}"))
    handles.append(Line2D([], [], color="#8C8C8C", linewidth=1.2, label=f"active edge ({len(active)})"))
    if cut:
        handles.append(Line2D([], [], color=OKABE_ITO["vermillion"], linestyle="--", label=f"cut edge ({len(cut)})"))
    for frac in (0.05, 0.25):
        handles.append(Line2D([], [], marker="o", linestyle="", color="white", markeredgecolor="black",
                              markersize=float(np.sqrt(30.0 + 1600.0 * frac)), label=f"{frac:.0%} market share"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.01), ncol=3, fontsize=8, frameon=False,
              title="marker: bloc (jurisdiction: its own market segment; export controls and cross-bloc cuts act "
                    "between blocs)", title_fontsize=8, alignment="left", labelspacing=1.1)
    for k in np.argsort(-inside, kind="stable")[:_NAMED_LABS]:
        x, y = xy[k]
        name = str(shown.nodes[nodes[k]].get("name", nodes[k]))
        ax.annotate(f"{name}\n{inside[k]:.0%}", (x, y), xytext=(x * 1.22, y * 1.22), textcoords="data",
                    ha="center", va="center", fontsize=8, zorder=3)
    fig.colorbar(scatter, ax=ax, shrink=0.55, pad=0.02, label="ln S gap to the best lab shown (ln units)")
    note = f" ({'; '.join(notes)})" if notes else ""
    ax.set_title(f"Spillover network of the labs alive{note}\nsize: share of the labs' market; colour: software gap",
                 loc="left", fontsize=10.5)
    ax.set_xlim(-1.45, 1.45)
    ax.set_ylim(-1.35, 1.35)
    ax.set_aspect("equal")
    ax.set_axis_off()


def _degree_panel(ax: Any, graph: nx.Graph) -> None:
    alive = [v for v in graph.nodes if bool(graph.nodes[v].get("alive", True))]
    active = nx.Graph()
    active.add_nodes_from(alive)
    active.add_edges_from((u, v) for u, v, act in graph.subgraph(alive).edges(data="active", default=True) if act)
    degrees = np.array([d for _, d in active.degree], dtype=np.int64)
    if degrees.size == 0:
        return
    counts = np.bincount(degrees)
    k = np.flatnonzero(counts)
    ax.bar(k, counts[k] / degrees.size, width=0.8 if k.max() < 60 else max(1.0, k.max() / 60),
           color=OKABE_ITO["blue"])
    mean = degrees.mean()
    ax.axvline(mean, color=GUIDE, linestyle="--", linewidth=0.9)
    ax.annotate(f"mean {mean:.1f}", xy=(mean, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -3),
                textcoords="offset points", ha="left", va="top", fontsize=8, color=GUIDE)
    if k.max() > 50 and k.min() > 0:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("degree (active edges to labs alive)")
    ax.set_ylabel("fraction of labs alive")
    ax.set_title("Degree distribution", loc="left", fontsize=11)


def _year_axis(ax: Any, years: np.ndarray) -> None:
    if years.size:
        year_axis(ax, float(years[0]), float(years[-1]))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))


def _gap_panel(ax: Any, market_df: pd.DataFrame) -> None:
    years = market_df["year"].to_numpy(dtype=float)
    _year_axis(ax, years)
    ax.plot(years, market_df["mean_log_software_gap"].to_numpy(dtype=float), color=OKABE_ITO["blue"], linewidth=2,
            label="mean gap to the frontier")
    ax.plot(years, market_df["knowledge_gap_dispersion"].to_numpy(dtype=float), color=OKABE_ITO["orange"],
            linewidth=2, linestyle="--", label="dispersion (s.d. of ln S)")
    ax.set_ylabel("ln S (ln units)")
    ax.set_title("Knowledge gap", loc="left", fontsize=11)
    ax.legend(fontsize=8, frameon=False)
    ax.margins(x=0.0)


def _flow_panel(ax: Any, market_df: pd.DataFrame) -> None:
    years = market_df["year"].to_numpy(dtype=float)
    _year_axis(ax, years)
    dt = float(np.median(np.diff(years))) if years.size > 1 else 1.0
    dt = dt if math.isfinite(dt) and dt > 0 else 1.0
    talent = market_df["talent_flow"].to_numpy(dtype=float) / dt
    gain = market_df["spillover_log_software"].to_numpy(dtype=float) / dt
    ax.plot(years, talent, color=OKABE_ITO["bluish_green"], linewidth=1.8, label="talent moving (people/year)")
    ax.set_ylabel("people / year")
    ax.set_xlabel("year")
    twin = ax.twinx()
    twin.plot(years, gain, color=OKABE_ITO["reddish_purple"], linewidth=1.5, linestyle=":",
              label="knowledge spillover (ln S/year, summed)")
    twin.set_ylabel("ln S / year")
    lines = ax.get_lines() + twin.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], fontsize=8, frameon=False, loc="upper left")
    ax.set_title("Flows along edges", loc="left", fontsize=11)
    ax.margins(x=0.0)
