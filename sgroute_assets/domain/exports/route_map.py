"""A static route map that needs no tile server, so it renders offline, in CI and inside a PDF.

Only matplotlib's object-oriented API is used (a Figure with its own Agg canvas, never pyplot): pyplot keeps
global state that is not safe when Dagster renders several plans in threads of one process.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image  # a dependency of matplotlib itself, so always installed alongside it

from ..routing import RoutePlan
from ..stops import Stop
from .colors import DEPOT_COLOR, DROPPED_COLOR, vehicle_color
from .road_path import has_roads, route_legs

THUMBNAIL_WIDTH_PX = 480
MAX_LABELS = 400
# Smallest span shown, in degrees (about 2 km), so a plan with one or two points is not zoomed into a blur.
_MIN_SPAN_DEG = 0.02
_LABEL_OUTLINE = [patheffects.withStroke(linewidth=2.2, foreground="white")]


def _located(stops: list[Stop]) -> list[tuple[Stop, float, float]]:
    """(stop, lon, lat) for the stops that can be drawn; a stop file may leave coordinates out."""
    return [(s, s.lon, s.lat) for s in stops if s.lon is not None and s.lat is not None]


def _extent(plan: RoutePlan) -> tuple[float, float, float, float]:
    lats = [plan.fleet.depot_lat]
    lons = [plan.fleet.depot_lon]
    everyone = [v.stop for r in plan.routes for v in r.visits] + [d.stop for d in plan.dropped]
    for _, lon, lat in _located(everyone):
        lats.append(lat)
        lons.append(lon)
    lat_mid = (min(lats) + max(lats)) / 2
    lon_mid = (min(lons) + max(lons)) / 2
    lat_half = max(max(lats) - min(lats), _MIN_SPAN_DEG) / 2 * 1.1
    lon_half = max(max(lons) - min(lons), _MIN_SPAN_DEG) / 2 * 1.1
    return lon_mid - lon_half, lon_mid + lon_half, lat_mid - lat_half, lat_mid + lat_half


@dataclass(frozen=True)
class _Label:
    text: str
    lon: float
    lat: float
    color: str


# Where a label may sit around its point: offset in points and the matching text alignment, best first.
_LABEL_SPOTS: tuple[tuple[float, float, str, str], ...] = (
    (3.0, 2.0, "left", "bottom"),
    (-3.0, 2.0, "right", "bottom"),
    (3.0, -2.0, "left", "top"),
    (-3.0, -2.0, "right", "top"),
    (0.0, 5.0, "center", "bottom"),
    (0.0, -5.0, "center", "top"),
)
_Box = tuple[float, float, float, float]


def _overlap(a: _Box, b: _Box) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return width * height if width > 0 and height > 0 else 0.0


def _label_box(x: float, y: float, spot: tuple[float, float, str, str], width: float, height: float) -> _Box:
    dx, dy, ha, va = spot
    left = x + dx - {"left": 0.0, "right": width, "center": width / 2}[ha]
    bottom = y + dy - (0.0 if va == "bottom" else height)
    return left, bottom, left + width, bottom + height


class _BoxGrid:
    """Boxes bucketed by a coarse grid (points), so an overlap query looks at neighbours, not at everything drawn."""

    CELL = 24.0

    def __init__(self) -> None:
        self._cells: dict[tuple[int, int], list[_Box]] = {}

    def _keys(self, box: _Box):
        c = self.CELL
        for i in range(int(box[0] // c), int(box[2] // c) + 1):
            for j in range(int(box[1] // c), int(box[3] // c) + 1):
                yield i, j

    def add(self, box: _Box) -> None:
        for key in self._keys(box):
            self._cells.setdefault(key, []).append(box)

    def near(self, box: _Box) -> list[_Box]:
        seen: dict[int, _Box] = {}
        for key in self._keys(box):
            for other in self._cells.get(key, ()):
                seen[id(other)] = other
        return list(seen.values())


def _place_labels(ax: Axes, labels: list[_Label], obstacles: list[_Box], fontsize: float) -> None:
    """Greedy placement: each label takes the spot around its point that covers the least already drawn.

    Clustered stops are common (one condo, one industrial estate), and a fixed offset stacks their numbers
    into an unreadable blob; trying a few spots per label is cheap and clears most collisions.
    """
    to_points = 72 / ax.figure.dpi
    frame = ax.get_window_extent()
    inside = (frame.x0 * to_points, frame.y0 * to_points, frame.x1 * to_points, frame.y1 * to_points)
    grid = _BoxGrid()
    for box in obstacles:
        grid.add(box)
    for label in labels:
        dx, dy, ha, va = _LABEL_SPOTS[0]
        text = ax.annotate(
            label.text,
            (label.lon, label.lat),
            xytext=(dx, dy),
            textcoords="offset points",
            ha=ha,
            va=va,
            fontsize=fontsize,
            color=label.color,
            fontweight="bold",
            path_effects=_LABEL_OUTLINE,
            zorder=4,
        )
        text.set_in_layout(False)  # placed for this layout; letting it move the axes would misplace the rest
        size = text.get_window_extent()
        width, height = size.width * to_points, size.height * to_points
        x, y = (v * to_points for v in ax.transData.transform((label.lon, label.lat)))
        boxes = [_label_box(x, y, spot, width, height) for spot in _LABEL_SPOTS]
        # Area hidden under other things, plus any part that would stick out of the plot frame.
        costs = [
            sum(_overlap(box, other) for other in grid.near(box)) + 2 * (width * height - _overlap(box, inside))
            for box in boxes
        ]
        best = costs.index(min(costs))
        dx, dy, ha, va = _LABEL_SPOTS[best]
        text.xyann = (dx, dy)
        text.set_horizontalalignment(ha)
        text.set_verticalalignment(va)
        grid.add(boxes[best])


def _marker_boxes(ax: Axes, lons: list[float], lats: list[float], size_pt: float) -> list[_Box]:
    to_points = 72 / ax.figure.dpi
    half = size_pt / 2
    boxes = []
    for lon, lat in zip(lons, lats, strict=True):
        x, y = (v * to_points for v in ax.transData.transform((lon, lat)))
        boxes.append((x - half, y - half, x + half, y + half))
    return boxes


def _draw(ax: Axes, plan: RoutePlan, *, small: bool) -> tuple[list[Line2D], list[_Label]]:
    """Draw routes, stops, dropped stops and the depot; returns the legend handles and the labels to place."""
    fleet = plan.fleet
    handles: list[Line2D] = []
    labels: list[_Label] = []
    line_width = 1.0 if small else 1.6
    marker_size = 3.5 if small else 5.5
    roads = has_roads(plan)
    for route in plan.routes:
        color = vehicle_color(route.vehicle)
        points = [
            (lon, lat, v.sequence)
            for v in route.visits
            if (lon := v.stop.lon) is not None and (lat := v.stop.lat) is not None
        ]
        xs = [fleet.depot_lon] + [p[0] for p in points] + [fleet.depot_lon]
        ys = [fleet.depot_lat] + [p[1] for p in points] + [fleet.depot_lat]
        if not roads:  # no leg has a road line (no OneMap): straight legs, drawn as they always were
            ax.plot(xs, ys, color=color, linewidth=line_width, alpha=0.8, zorder=2)
        else:  # OneMap's roads solid, a leg without road geometry dashed (a straight segment)
            for leg in route_legs(plan, route):
                ax.plot([p[1] for p in leg.points], [p[0] for p in leg.points], color=color, linewidth=line_width,
                        alpha=0.8, zorder=2, linestyle="-" if leg.road else (0, (3, 2)))  # fmt: skip
        ax.plot(
            xs[1:-1],
            ys[1:-1],
            linestyle="none",
            marker="o",
            markersize=marker_size,
            color=color,
            markeredgecolor="white",
            markeredgewidth=0.6,
            zorder=3,
        )
        labels.extend(_Label(str(seq), lon, lat, color) for lon, lat, seq in points)
        label = f"{route.vehicle_id} · {len(route.visits)} stops · {route.distance_m / 1000:.1f} km"
        handles.append(Line2D([], [], color=color, linewidth=2, marker="o", markersize=5, label=label))

    dropped = _located([d.stop for d in plan.dropped])
    if dropped:
        ax.plot(
            [p[1] for p in dropped],
            [p[2] for p in dropped],
            linestyle="none",
            marker="x",
            markersize=marker_size + 1.5,
            markeredgewidth=1.5,
            color=DROPPED_COLOR,
            zorder=3,
        )
        labels.extend(_Label(s.stop_ref, lon, lat, DROPPED_COLOR) for s, lon, lat in dropped)
    if plan.dropped:
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="x",
                markersize=6,
                markeredgewidth=1.5,
                color=DROPPED_COLOR,
                label=f"dropped · {len(plan.dropped)} stops",
            )
        )

    ax.plot(
        [fleet.depot_lon],
        [fleet.depot_lat],
        linestyle="none",
        marker="s",
        markersize=marker_size + 4,
        color=DEPOT_COLOR,
        markeredgecolor="white",
        markeredgewidth=1.0,
        zorder=5,
    )
    handles.insert(
        0,
        Line2D(
            [], [], linestyle="none", marker="s", markersize=7, color=DEPOT_COLOR, label=f"depot · {fleet.depot_name}"
        ),
    )
    return handles, labels


def _label_everything(ax: Axes, plan: RoutePlan, labels: list[_Label]) -> None:
    """Depot name first (it matters most), then sequence numbers and dropped refs around what is drawn."""
    fleet = plan.fleet
    depot_text = ax.annotate(
        fleet.depot_name,
        (fleet.depot_lon, fleet.depot_lat),
        xytext=(7, -3),
        textcoords="offset points",
        ha="left",
        va="top",
        fontsize=8,
        fontweight="bold",
        color=DEPOT_COLOR,
        path_effects=_LABEL_OUTLINE,
        zorder=6,
    )
    to_points = 72 / ax.figure.dpi
    depot_text.set_in_layout(False)
    depot_box = depot_text.get_window_extent()
    obstacles = [
        (depot_box.x0 * to_points, depot_box.y0 * to_points, depot_box.x1 * to_points, depot_box.y1 * to_points)
    ]
    located = _located([v.stop for r in plan.routes for v in r.visits] + [d.stop for d in plan.dropped])
    obstacles += _marker_boxes(ax, [p[1] for p in located], [p[2] for p in located], 5.5)
    obstacles += _marker_boxes(ax, [fleet.depot_lon], [fleet.depot_lat], 9.5)
    _place_labels(ax, labels, obstacles, fontsize=6.5)


def _figure(plan: RoutePlan, *, width_in: float, labels: bool, small: bool, title: str | None) -> Figure:
    lon_min, lon_max, lat_min, lat_max = _extent(plan)
    # Degrees of longitude shrink by cos(latitude); stretching y keeps distances true in both directions.
    aspect = 1 / math.cos(math.radians((lat_min + lat_max) / 2))
    data_ratio = (lat_max - lat_min) * aspect / (lon_max - lon_min)
    height_in = width_in * min(max(data_ratio, 0.45), 1.3)
    if not small:
        height_in += 0.9  # room for the title and the legend under the map

    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    # Limits stay on autoscale over the padded extent so the aspect can widen whichever side leaves the
    # axes box unfilled (fixing both limits would leave blank bands instead).
    ax.update_datalim([(lon_min, lat_min), (lon_max, lat_max)])
    ax.margins(0)
    ax.set_aspect(aspect, adjustable="datalim")
    ax.grid(True, color="#DDDDDD", linewidth=0.5, zorder=0)
    ax.set_axisbelow(True)
    handles, stop_labels = _draw(ax, plan, small=small)
    if small:
        ax.tick_params(labelbottom=False, labelleft=False, length=0)
    else:
        ax.tick_params(labelsize=7)
        ax.set_xlabel("longitude", fontsize=7)
        ax.set_ylabel("latitude", fontsize=7)
        totals = plan.totals()
        ax.set_title(
            title
            or f"{totals['vehicles_used']} routes · {totals['stops_served']} stops served · "
            f"{totals['stops_dropped']} dropped · {totals['total_distance_km']} km",
            fontsize=10,
        )
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=7.5, frameon=False)
        # Labels are placed in screen space, so the layout (and with it the data->pixel mapping) comes first.
        fig.draw_without_rendering()
        # Beyond a few hundred points numbers overlap into noise (and placing them costs a text layout each):
        # large plans show the routes and the legend; the HTML map and the CSVs carry the sequence.
        _label_everything(ax, plan, stop_labels if labels and len(stop_labels) <= MAX_LABELS else [])
    return fig


def route_map_png(plan: RoutePlan, *, width_in: float = 10.0, dpi: int = 110, title: str | None = None) -> bytes:
    """Full-size map for the PDF and for download, with sequence numbers next to each stop."""
    fig = _figure(plan, width_in=width_in, labels=True, small=False, title=title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def route_map_preview(plan: RoutePlan, *, title: str | None = None) -> bytes:
    """The map the Dagster UI leads with: full width, legend and stop numbers, kept light for the event log.

    Same drawing as the download, at a screen-sized width, quantised to a 64-colour palette (the merged colours
    are anti-aliasing shades) so a 100-stop plan stays around 100 kB of metadata.
    """
    fig = _figure(plan, width_in=11.0, labels=True, small=False, title=title)
    rendered = io.BytesIO()
    fig.savefig(rendered, format="png", dpi=100, facecolor="white")
    rendered.seek(0)
    with Image.open(rendered) as image:
        buf = io.BytesIO()
        image.convert("RGB").quantize(colors=64).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def route_map_thumbnail(plan: RoutePlan) -> bytes:
    """A small map for Dagster UI metadata, where it is inlined as base64 markdown and must stay light.

    Quantising to a 64-colour palette keeps a 100-stop map well under 60 kB; the colours it merges are
    anti-aliasing shades no one can tell apart at this size.
    """
    dpi = 100
    fig = _figure(plan, width_in=THUMBNAIL_WIDTH_PX / dpi, labels=False, small=True, title=None)
    rendered = io.BytesIO()
    fig.savefig(rendered, format="png", dpi=dpi, facecolor="white")
    rendered.seek(0)
    with Image.open(rendered) as image:
        buf = io.BytesIO()
        image.convert("RGB").quantize(colors=64).save(buf, format="PNG", optimize=True)
    return buf.getvalue()
