"""The charts: inline SVG computed with SQL, and the /-/charts page.

Evidence stages over time, hype by publisher kind and by source, the treatment pipeline. Being
inline SVG, they work offline with no JavaScript library.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup

from hypewatch.site import DATABASE
from hypewatch.site.data import cached_summary, demo_note, fetch_rows
from hypewatch.site.labels import COLORS, EVIDENCE_ORDER, HYPE_ORDER, label


def _nice_step(value: float, ticks: int = 4) -> int:
    """A round tick step (1, 2, 5 × 10^k) so that ``ticks`` steps cover ``value``."""
    raw = max(1.0, value / ticks)
    magnitude = 10 ** (len(str(int(raw))) - 1)
    for step in (1, 2, 5, 10):
        if step * magnitude >= raw:
            return int(step * magnitude)
    return int(10 * magnitude)


def _month_range(first: str, last: str) -> list[str]:
    """Every YYYY-MM from first to last inclusive, so empty months show as gaps."""
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last and len(out) < 600:
        out.append(f"{year:04d}-{month:02d}")
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return out


def _legend(x: int, y: int, dimension: str, order: Iterable[str]) -> list[Markup]:
    parts = []
    for code in order:
        parts.append(Markup('<rect x="{}" y="{}" width="12" height="12" rx="2" fill="{}"/>'
                            '<text x="{}" y="{}" class="hw-svg-small">{}</text>').format(
            x, y, COLORS[dimension][code], x + 16, y + 10, label(dimension, code)))
        x += 28 + int(6.2 * len(label(dimension, code)))
    return parts


def stacked_months_svg(rows: list[dict[str, Any]], *, width: int = 860, height: int = 300) -> Markup:
    """Items per month stacked by evidence stage. rows: month, evidence_stage, n."""
    seen = sorted({r["month"] for r in rows if r["month"] and re.match(r"^\d{4}-\d{2}$", r["month"])})
    months = _month_range(seen[0], seen[-1]) if seen else []
    if not months:
        return Markup('<p class="hw-muted">No dated items yet.</p>')
    per: dict[str, dict[str, int]] = {m: {} for m in months}
    for r in rows:
        if r["month"] in per:
            stage = r["evidence_stage"] if r["evidence_stage"] in EVIDENCE_ORDER else "none"
            per[r["month"]][stage] = per[r["month"]].get(stage, 0) + int(r["n"])
    step = _nice_step(max(sum(v.values()) for v in per.values()))
    top = step * 4
    left, right, top_pad, bottom = 44, 10, 40, 34
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    band = plot_w / len(months)
    bar = max(2.0, band * 0.72)
    out = [Markup('<svg class="hw-chart" role="img" viewBox="0 0 {} {}" width="100%" '
                  'xmlns="http://www.w3.org/2000/svg" aria-labelledby="hw-stages-title">'
                  '<title id="hw-stages-title">Items per month by evidence stage</title>').format(width, height)]
    out += _legend(left, 8, "evidence_stage", EVIDENCE_ORDER)
    for i in range(5):
        value = step * i
        y = top_pad + plot_h - plot_h * i / 4
        out.append(Markup('<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" class="hw-grid"/>'
                          '<text x="{}" y="{:.1f}" text-anchor="end" class="hw-svg-small">{}</text>').format(
            left, width - right, y, y, left - 6, y + 4, int(value)))
    label_every = max(1, round(len(months) / 12))
    for i, month in enumerate(months):
        x = left + i * band + (band - bar) / 2
        y = top_pad + plot_h
        for stage in EVIDENCE_ORDER:
            n = per[month].get(stage, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            out.append(Markup('<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}">'
                              '<title>{}: {} {} item{}</title></rect>').format(
                x, y, bar, h, COLORS["evidence_stage"][stage], month, n, label("evidence_stage", stage),
                "" if n == 1 else "s"))
        if i % label_every == 0:
            out.append(Markup('<text x="{:.1f}" y="{}" text-anchor="middle" class="hw-svg-small">{}</text>').format(
                left + i * band + band / 2, height - bottom + 16, month))
    out.append(Markup("</svg>"))
    return Markup("").join(out)


def stacked_share_svg(rows: list[dict[str, Any]], *, group_title: str, width: int = 860) -> Markup:
    """100 % bars of hype per group. rows: grp, hype, n."""
    groups: dict[str, dict[str, int]] = {}
    for r in rows:
        grp = r["grp"] if r["grp"] not in (None, "") else "(unknown)"
        if r["hype"] in HYPE_ORDER:
            groups.setdefault(str(grp), {})
            groups[str(grp)][r["hype"]] = groups[str(grp)].get(r["hype"], 0) + int(r["n"])
    if not groups:
        return Markup('<p class="hw-muted">No scored items yet.</p>')
    names = sorted(groups, key=lambda g: (-groups[g].get("high", 0) / max(1, sum(groups[g].values())), g))
    row_h, left, top_pad, right = 26, 210, 34, 70
    height = top_pad + row_h * len(names) + 10
    plot_w = width - left - right
    out = [Markup('<svg class="hw-chart" role="img" viewBox="0 0 {} {}" width="100%" '
                  'xmlns="http://www.w3.org/2000/svg"><title>Hype by {}</title>').format(width, height, group_title)]
    out += _legend(left, 8, "hype", HYPE_ORDER)
    for i, name in enumerate(names):
        total = sum(groups[name].values())
        y = top_pad + i * row_h
        shown = name if len(name) <= 30 else name[:29] + "…"
        out.append(Markup('<text x="{}" y="{}" text-anchor="end" class="hw-svg-label">{}<title>{}</title></text>').format(
            left - 8, y + 15, shown, name))
        x = float(left)
        for code in HYPE_ORDER:
            n = groups[name].get(code, 0)
            if not n:
                continue
            w = plot_w * n / total
            out.append(Markup('<rect x="{:.1f}" y="{}" width="{:.1f}" height="18" fill="{}">'
                              '<title>{}: {} of {} ({:.0f}%)</title></rect>').format(
                x, y + 2, w, COLORS["hype"][code], name, n, total, 100 * n / total) )
            x += w
        high = groups[name].get("high", 0)
        out.append(Markup('<text x="{}" y="{}" class="hw-svg-small">{:.0f}% high · {}</text>').format(
            left + plot_w + 6, y + 15, 100 * high / total, total))
    out.append(Markup("</svg>"))
    return Markup("").join(out)


def pipeline_svg(rows: list[dict[str, Any]], *, width: int = 860) -> Markup:
    """Treatments × evidence stages: a dot per stage sized by item count; the strongest stage outlined.

    rows: treatment, evidence_stage, n.
    """
    data: dict[str, dict[str, int]] = {}
    for r in rows:
        stage = r["evidence_stage"] if r["evidence_stage"] in EVIDENCE_ORDER else None
        if stage:
            data.setdefault(str(r["treatment"]), {})[stage] = int(r["n"])
    if not data:
        return Markup('<p class="hw-muted">No treatments found yet.</p>')
    rank = {s: i for i, s in enumerate(EVIDENCE_ORDER)}
    names = sorted(data, key=lambda t: (-max(rank[s] for s in data[t]), -sum(data[t].values()), t))[:25]
    biggest = max(n for t in names for n in data[t].values())
    left, top_pad, row_h = 190, 58, 28
    col_w = (width - left - 10) / len(EVIDENCE_ORDER)
    height = top_pad + row_h * len(names) + 8
    out = [Markup('<svg class="hw-chart" role="img" viewBox="0 0 {} {}" width="100%" '
                  'xmlns="http://www.w3.org/2000/svg"><title>Treatment pipeline: items per evidence stage</title>'
                  ).format(width, height)]
    for j, stage in enumerate(EVIDENCE_ORDER):
        cx = left + col_w * j + col_w / 2
        out.append(Markup('<text x="{:.1f}" y="{}" text-anchor="middle" class="hw-svg-label">{}</text>').format(
            cx, 24 if j % 2 == 0 else 42, label("evidence_stage", stage)))
    for i, name in enumerate(names):
        y = top_pad + i * row_h + row_h / 2
        strongest = max(data[name], key=lambda s: rank[s])
        out.append(Markup('<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" class="hw-grid"/>'
                          '<text x="{}" y="{:.1f}" text-anchor="end" class="hw-svg-label">{}</text>').format(
            left, width - 10, y, y, left - 8, y + 4, name if len(name) <= 26 else name[:25] + "…"))
        for stage, n in data[name].items():
            cx = left + col_w * rank[stage] + col_w / 2
            r = 3 + 9 * (n / biggest) ** 0.5
            ring = Markup(' stroke="#111" stroke-width="2"') if stage == strongest else Markup("")
            out.append(Markup('<circle cx="{:.1f}" cy="{:.1f}" r="{:.1f}" fill="{}"{}><title>{}: {} item{} at {}{}'
                              '</title></circle>').format(
                cx, y, r, COLORS["evidence_stage"][stage], ring, name, n, "" if n == 1 else "s",
                label("evidence_stage", stage), " (strongest stage)" if stage == strongest else ""))
    out.append(Markup("</svg>"))
    return Markup("").join(out)


async def stages_over_time_svg(db, months: int = 24) -> Markup:
    rows = await fetch_rows(db, """
        select substr(published, 1, 7) as month, evidence_stage, count(*) as n
        from items
        where relevant is not 0 and evidence_stage is not null and published >= strftime('%Y-%m', 'now', :back) and published <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+1 day')
        group by month, evidence_stage""", {"back": f"-{int(months)} months"}, limit_ms=3000)
    if rows is None:
        return Markup('<p class="hw-muted">This chart took too long to compute.</p>')
    return stacked_months_svg(rows)


async def charts_data(datasette) -> dict[str, Markup]:
    db = datasette.get_database(DATABASE)
    # `+column` keeps SQLite off the single-column label indexes (random reads into the wide rows) and on
    # the covering index items_site_summary (m006): one narrow scan, ~1 s at a million items.
    charts: dict[str, Markup] = {"stages": await stages_over_time_svg(db, months=24)}
    too_slow = Markup('<p class="hw-muted">This chart took too long to compute.</p>')
    by_publisher = await fetch_rows(db, """
        select publisher as grp, hype, count(*) as n from items
        where +relevant is not 0 and +hype is not null group by +publisher, hype""", limit_ms=3000)
    charts["hype_publisher"] = too_slow if by_publisher is None else stacked_share_svg(by_publisher, group_title="publisher kind")
    by_source = await fetch_rows(db, """
        with c as (select source, hype, count(*) as n from items
                   where +relevant is not 0 and +hype is not null group by +source, hype),
             top as (select source from c group by source order by sum(n) desc limit 20)
        select source as grp, hype, n from c where source in (select source from top)""", limit_ms=3000)
    charts["hype_source"] = too_slow if by_source is None else stacked_share_svg(by_source, group_title="source")
    pipeline = await fetch_rows(db, """
        select treatment, evidence_stage, count(*) as n from item_treatments
        where relevant is not 0 and evidence_stage is not null
        group by treatment, evidence_stage""", limit_ms=3000)
    charts["pipeline"] = too_slow if pipeline is None else pipeline_svg(pipeline)
    return charts


async def charts_page(datasette, request):
    charts = await cached_summary(datasette, "charts", charts_data)
    return Response.html(await datasette.render_template(
        "hypewatch_charts.html", {"charts": charts, "hw_demo": await demo_note(datasette)}, request=request))


@hookimpl
def register_routes(datasette):
    return [(r"^/-/charts$", charts_page)]
