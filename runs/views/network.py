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

from runs.views.style import DPI, GUIDE, OKABE_ITO

__all__ = ["network_figure"]

_BLOC_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def network_figure(
    graph: nx.Graph,
    market_df: pd.DataFrame,
    *,
    max_nodes: int = 300,
    layout_seed: int = 0,
    title: str | None = None,
) -> Figure:
    """Four panels: the graph (colour: ln S gap to the frontier; size: market share; marker: bloc; dashed
    vermillion: cut edges), the degree distribution, the knowledge gap over time, and talent and knowledge flows.

    Parameters
    ----------
    graph
        A lab graph with node attributes ``log_software``, ``share``, ``bloc``, ``alive`` and edge attribute
        ``active`` (as written by :func:`economy.network.lab_graph`); missing attributes take neutral values.
    market_df
        The market table (``year``, ``knowledge_gap_dispersion``, ``mean_log_software_gap``, ``talent_flow``,
        ``spillover_log_software``).
    max_nodes
        Larger graphs are drawn as the subgraph of their ``max_nodes`` best-connected labs (said in the title).
    layout_seed
        Seed of the spring layout (presentation only; it draws from its own generator).
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


def _graph_panel(fig: Figure, ax: Any, graph: nx.Graph, max_nodes: int, layout_seed: int) -> None:
    shown = graph
    note = ""
    if graph.number_of_nodes() > max_nodes:
        ranked = sorted(graph.degree, key=lambda nd: (-nd[1], nd[0]))[:max_nodes]
        shown = graph.subgraph([node for node, _ in ranked])
        note = f" ({max_nodes} best-connected of {graph.number_of_nodes()} labs)"
    nodes = sorted(shown.nodes)
    if not nodes:
        ax.set_axis_off()
        ax.set_title("no labs", loc="left")
        return
    pos = nx.spring_layout(shown, seed=layout_seed) if shown.number_of_edges() else nx.circular_layout(shown)
    log_s = np.array([float(shown.nodes[v].get("log_software", 0.0)) for v in nodes])
    alive = np.array([bool(shown.nodes[v].get("alive", True)) for v in nodes])
    frontier = log_s[alive].max() if alive.any() else 0.0
    gap = np.clip(frontier - log_s, 0.0, None)
    share = np.array([float(shown.nodes[v].get("share", 0.0)) for v in nodes])
    size = 20.0 + 900.0 * np.sqrt(np.clip(share, 0.0, 1.0))
    bloc = np.array([int(shown.nodes[v].get("bloc", 0)) for v in nodes])
    active, cut = [], []
    for u, v, act in shown.edges(data="active", default=True):
        (active if act else cut).append((pos[u], pos[v]))
    if active:
        ax.add_collection(LineCollection(active, colors="#9E9E9E", linewidths=0.6, alpha=0.6, zorder=1))
    if cut:
        ax.add_collection(LineCollection(cut, colors=OKABE_ITO["vermillion"], linewidths=0.8, linestyles="--",
                                         alpha=0.8, zorder=1))
    xy = np.array([pos[v] for v in nodes])
    vmax = max(float(gap.max()), 1e-9)
    handles = []
    scatter = None
    for k, code in enumerate(np.unique(bloc)):
        sel = bloc == code
        marker = _BLOC_MARKERS[k % len(_BLOC_MARKERS)]
        scatter = ax.scatter(xy[sel, 0], xy[sel, 1], s=size[sel], c=gap[sel], cmap="viridis_r", vmin=0.0, vmax=vmax,
                             marker=marker, edgecolors=np.where(alive[sel], "black", "#BDBDBD"), linewidths=0.5,
                             zorder=2)
        handles.append(Line2D([], [], marker=marker, linestyle="", color="#777777", label=f"bloc {code}"))
    if cut:
        handles.append(Line2D([], [], color=OKABE_ITO["vermillion"], linestyle="--", label="cut edge"))
    ax.legend(handles=handles, loc="lower left", fontsize=8, frameon=False)
    fig.colorbar(scatter, ax=ax, shrink=0.6, label="ln S gap to the frontier (ln units)")
    ax.set_title(f"Spillover network{note}: colour = software gap, size = market share", loc="left", fontsize=11)
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.set_axis_off()


def _degree_panel(ax: Any, graph: nx.Graph) -> None:
    degrees = np.array([d for _, d in graph.degree], dtype=np.int64)
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
    ax.set_xlabel("degree (neighbours)")
    ax.set_ylabel("fraction of labs")
    ax.set_title("Degree distribution", loc="left", fontsize=11)


def _year_axis(ax: Any) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.xaxis.get_major_formatter().set_useOffset(False)


def _gap_panel(ax: Any, market_df: pd.DataFrame) -> None:
    _year_axis(ax)
    years = market_df["year"].to_numpy(dtype=float)
    ax.plot(years, market_df["mean_log_software_gap"].to_numpy(dtype=float), color=OKABE_ITO["blue"], linewidth=2,
            label="mean gap to the frontier")
    ax.plot(years, market_df["knowledge_gap_dispersion"].to_numpy(dtype=float), color=OKABE_ITO["orange"],
            linewidth=2, linestyle="--", label="dispersion (s.d. of ln S)")
    ax.set_ylabel("ln S (ln units)")
    ax.set_title("Knowledge gap", loc="left", fontsize=11)
    ax.legend(fontsize=8, frameon=False)
    ax.margins(x=0.0)


def _flow_panel(ax: Any, market_df: pd.DataFrame) -> None:
    _year_axis(ax)
    years = market_df["year"].to_numpy(dtype=float)
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
