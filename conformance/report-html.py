#!/usr/bin/env python3
"""One self-contained HTML page from the conformance reports in a directory.

    python3 conformance/report-html.py REPORT_DIR [-o OUT]      (default REPORT_DIR/index.html)

Reads every ttrpc-conform report there (NAME.json from `ttrpc-conform run` and `client`,
schema_version 1) and matrix.json when present (`ttrpc-conform matrix`: client x server x
scenario cells, each with a tap trace inline or as a path relative to matrix.json). Writes one
page with inline CSS and JavaScript and no network access: the server-role and client-role
matrices (rows: case ids grouped by section; columns: peers) and the client x server matrix
per scenario, each cell coloured by verdict. Clicking a cell shows the case's expectation,
what happened, and its wire trace (direction, header fields, decoded message, hex).

Python 3 standard library only. Exit status 0 when the page was written (an empty directory
gives a page that says so), 2 on errors (unreadable directory, bad JSON in a report).
"""
import argparse
import html
import json
import os
import sys

VERDICT_CLASS = {
    "PASS": "v-pass", "FAIL": "v-fail", "NON-STRICT": "v-nonstrict", "INFO": "v-info",
    "UNSUPPORTED": "v-unsupported", "ERROR": "v-error", "XFAIL": "v-xfail", "XPASS": "v-xpass",
    "SKIP": "v-unsupported",
}
VERDICT_ORDER = ["PASS", "FAIL", "NON-STRICT", "INFO", "XFAIL", "XPASS", "UNSUPPORTED",
                 "ERROR"]


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_reports(report_dir):
    """(case reports sorted server role first, then client role; the matrix or None)."""
    reports, matrix = [], None
    for name in sorted(os.listdir(report_dir)):
        path = os.path.join(report_dir, name)
        if not name.endswith(".json") or not os.path.isfile(path):
            continue
        try:
            doc = load_json(path)
        except (OSError, ValueError) as e:
            raise SystemExit(f"report-html: {path}: {e}")
        if not isinstance(doc, dict):
            continue
        if name == "matrix.json" and isinstance(doc.get("cells"), list):
            matrix = resolve_matrix_traces(doc, report_dir)
        elif doc.get("tool") == "ttrpc-conform" and isinstance(doc.get("cases"), list):
            reports.append(doc)
    reports.sort(key=lambda r: (report_role(r) == "client", peer_label(r)))
    return reports, matrix


def resolve_matrix_traces(doc, report_dir):
    """Matrix cells may point at their trace file; the page embeds it so it works offline."""
    for cell in doc["cells"]:
        trace = cell.get("trace")
        if isinstance(trace, str):
            path = os.path.normpath(os.path.join(report_dir, trace))
            try:
                cell["trace"] = load_json(path)
            except (OSError, ValueError) as e:
                cell["trace"] = None
                cell["trace_error"] = f"{trace}: {e}"
    return doc


def report_role(report):
    cases = report.get("cases") or [{}]
    return cases[0].get("testee", "server")


def peer_label(report):
    name = report.get("name") or "?"
    if report_role(report) == "client" and name.endswith("-client"):
        return name[: -len("-client")]
    return name


def section_of(case_id):
    parts = case_id.split("/")
    return parts[1] if parts[0] == "client" and len(parts) > 2 else parts[0]


def cell_html(verdict, key, title):
    cls = VERDICT_CLASS.get(verdict, "v-unknown")
    return (f'<td class="cell {cls}" data-key="{html.escape(key)}" '
            f'title="{html.escape(title)}">{html.escape(verdict)}</td>')


def role_matrix(reports, role, out):
    """Rows: case ids grouped by section, in first-seen order; columns: one per report."""
    chosen = [(i, r) for i, r in enumerate(reports) if report_role(r) == role]
    if not chosen:
        out.append(f"<p class=\"none\">No {role}-role reports in this directory.</p>")
        return
    ids, by_report = [], []
    for _, r in chosen:
        index = {}
        for k, c in enumerate(r["cases"]):
            cid = c.get("id", "?")
            if cid not in index:
                index[cid] = k
            if cid not in ids:
                ids.append(cid)
        by_report.append(index)
    sections = []
    for cid in ids:
        sec = section_of(cid)
        if sec not in sections:
            sections.append(sec)
    out.append('<table class="matrix"><thead><tr><th>case</th>')
    for _, r in chosen:
        out.append(f"<th>{html.escape(peer_label(r))}</th>")
    out.append("</tr></thead><tbody>")
    for sec in sections:
        out.append(f'<tr class="section"><th colspan="{len(chosen) + 1}">'
                   f"{html.escape(sec)}</th></tr>")
        for cid in ids:
            if section_of(cid) != sec:
                continue
            out.append(f'<tr><th class="case">{html.escape(cid)}</th>')
            for (ri, r), index in zip(chosen, by_report):
                k = index.get(cid)
                if k is None:
                    out.append('<td class="cell v-absent">-</td>')
                    continue
                c = r["cases"][k]
                out.append(cell_html(c.get("verdict", "?"), f"r:{ri}:{k}",
                                     f"{cid} on {peer_label(r)}: {c.get('verdict')}"))
            out.append("</tr>")
    out.append("</tbody></table>")


def scenario_matrix(matrix, out):
    cells = matrix.get("cells", [])
    if not cells:
        out.append('<p class="none">matrix.json has no cells.</p>')
        return
    scenarios, clients, servers = [], [], []
    for c in cells:
        for value, seen in ((c.get("scenario"), scenarios), (c.get("client"), clients),
                            (c.get("server"), servers)):
            if value not in seen:
                seen.append(value)
    lookup = {(c.get("scenario"), c.get("client"), c.get("server")): i
              for i, c in enumerate(cells)}
    for sc in scenarios:
        out.append(f"<h3>scenario <code>{html.escape(str(sc))}</code></h3>")
        out.append('<table class="matrix"><thead><tr><th>client \\ server</th>')
        for s in servers:
            out.append(f"<th>{html.escape(str(s))}</th>")
        out.append("</tr></thead><tbody>")
        for cl in clients:
            out.append(f'<tr><th class="case">{html.escape(str(cl))}</th>')
            for s in servers:
                i = lookup.get((sc, cl, s))
                if i is None:
                    out.append('<td class="cell v-absent">-</td>')
                    continue
                v = cells[i].get("verdict", "?")
                out.append(cell_html(v, f"m:{i}", f"{cl} client, {s} server, {sc}: {v}"))
            out.append("</tr>")
        out.append("</tbody></table>")


def summary(reports, matrix, out):
    out.append('<table class="summary"><thead><tr><th>report</th><th>role</th><th>cases</th>')
    for v in VERDICT_ORDER:
        out.append(f'<th class="{VERDICT_CLASS[v]}">{v}</th>')
    out.append("<th>seconds</th></tr></thead><tbody>")
    for r in reports:
        counts = r.get("counts", {})
        out.append(f"<tr><td>{html.escape(str(r.get('name')))}</td>"
                   f"<td>{html.escape(report_role(r))}</td><td>{len(r['cases'])}</td>")
        for v in VERDICT_ORDER:
            n = counts.get(v, 0)
            out.append(f"<td>{n if n else ''}</td>")
        out.append(f"<td>{(r.get('elapsed_ms') or 0) / 1000:.1f}</td></tr>")
    if matrix is not None:
        counts = {}
        for c in matrix.get("cells", []):
            counts[c.get("verdict")] = counts.get(c.get("verdict"), 0) + 1
        out.append(f"<tr><td>matrix</td><td>client x server</td>"
                   f"<td>{len(matrix.get('cells', []))}</td>")
        for v in VERDICT_ORDER:
            out.append(f"<td>{counts.get(v, '') or ''}</td>")
        out.append("<td></td></tr>")
    out.append("</tbody></table>")


CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222}
h1{font-size:1.5em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
table.matrix th.case{font-weight:normal;font-family:monospace;white-space:nowrap}
tr.section th{background:#eee;font-weight:bold}
td.cell{cursor:pointer;text-align:center;font-size:12px;min-width:5em}
td.cell:hover{outline:2px solid #333}
.v-pass{background:#b8e6b8}.v-fail{background:#f08080}.v-nonstrict{background:#ffd27f}
.v-info{background:#cfe0f5}.v-unsupported{background:#e0e0e0}.v-error{background:#c080f0}
.v-xfail{background:#f5c6a0}.v-xpass{background:#ff4040;color:#fff}.v-absent{color:#aaa}
.v-unknown{background:#fff}
#detail{position:fixed;top:0;right:0;width:62%;height:100%;overflow:auto;background:#fff;
border-left:3px solid #555;padding:1em;box-shadow:-4px 0 12px #0003;display:none}
#detail .close{float:right;cursor:pointer;font-size:20px}
#detail dl{display:grid;grid-template-columns:9em 1fr;gap:2px 8px}
#detail dt{font-weight:bold}#detail dd{margin:0;white-space:pre-wrap;word-break:break-word}
table.frames td{font-size:12px}table.frames td.hex{font-family:monospace;word-break:break-all;
max-width:28em}tr.sent{background:#f4f8ff}tr.received{background:#f6fff4}
tr.event td{background:#f5f5f5;font-style:italic}
.none{color:#777}
"""

JS = """
(function(){
const data = JSON.parse(document.getElementById('report-data').textContent);
const panel = document.getElementById('detail');
const body = document.getElementById('detail-body');
const esc = s => String(s === undefined || s === null ? '' : s)
  .replace(/&/g,'&amp;').replace(/</g,'&lt;').replace(/>/g,'&gt;');
const TYPES = {1:'Request',2:'Response',3:'Data'};
function flags(t, f){
  if (!f) return '0';
  const n = [];
  if (f & 1) n.push('RC'); if ((f & 2) && t === 1) n.push('RO'); if (f & 4) n.push('ND');
  const rest = f & ~(1 | (t === 1 ? 2 : 0) | 4);
  if (rest) n.push('0x' + rest.toString(16));
  return '0x' + f.toString(16).padStart(2,'0') + ' ' + n.join('|');
}
function dl(rows){
  let h = '<dl>';
  for (const [k, v] of rows) if (v !== undefined && v !== null && v !== '')
    h += '<dt>' + esc(k) + '</dt><dd>' + esc(v) + '</dd>';
  return h + '</dl>';
}
function decoded(d){ return typeof d === 'object' && d !== null ? JSON.stringify(d) : d; }
function hexCell(fr){
  let h = esc(fr.header_hex || '');
  if (fr.payload_hex) h += ' | ' + esc(fr.payload_hex);
  if (fr.payload_truncated) h += ' ... (' + esc(fr.payload_length !== undefined ?
      fr.payload_length : fr.length) + ' bytes in all)';
  return h;
}
function frameRow(fr, dirName){
  if (fr.event !== undefined)
    return '<tr class="event"><td>' + esc(fr.t_ms) + '</td><td colspan="7">' +
      esc(fr.event) + (fr.detail ? ': ' + esc(fr.detail) : '') + '</td></tr>';
  const dir = dirName(fr.dir);
  const arrow = dir === 'sent' ? '&rarr;' : dir === 'received' ? '&larr;' : '';
  const isFrame = fr.type !== undefined;
  return '<tr class="' + esc(dir) + '"><td>' + esc(fr.t_ms) + '</td><td>' + arrow + ' ' +
    esc(fr.dir) + '</td><td>' + (isFrame ? esc(fr.stream_id) : '') + '</td><td>' +
    (isFrame ? esc(TYPES[fr.type] || ('0x' + fr.type.toString(16))) : 'bytes') + '</td><td>' +
    (isFrame ? esc(flags(fr.type, fr.flags)) : '') + '</td><td>' +
    esc(isFrame ? fr.length : fr.payload_length) + '</td><td>' + esc(decoded(fr.decoded)) +
    '</td><td class="hex">' + hexCell(fr) + '</td></tr>';
}
const HEAD = '<table class="frames"><thead><tr><th>t ms</th><th>dir</th><th>id</th>' +
  '<th>type</th><th>flags</th><th>length</th><th>decoded</th><th>hex (header | payload)' +
  '</th></tr></thead><tbody>';
function caseTrace(tr){
  if (!tr || !tr.entries) return '<p class="none">No wire trace in this report.</p>';
  let h = '<h3>Wire trace</h3><p>Directions are the harness\\'s: sent by the harness, ' +
    'received from the testee.</p>' + HEAD;
  for (const e of tr.entries) h += frameRow(e, d => d);
  h += '</tbody></table>';
  if (tr.entries_dropped) h += '<p>' + esc(tr.entries_dropped) + ' more entries dropped.</p>';
  return h;
}
function tapTrace(tr){
  if (!tr || !tr.connections) return '<p class="none">No trace recorded.</p>';
  let h = '<h3>Wire trace (tap)</h3><p>c2s: client to server; s2c: server to client.</p>';
  for (const c of tr.connections) {
    h += '<h4>connection ' + esc(c.id) + '</h4>' + HEAD;
    for (const f of c.frames || [])
      h += frameRow(f, d => d === 'c2s' ? 'sent' : d === 's2c' ? 'received' : d);
    h += '</tbody></table>';
    if (c.end) h += '<p>end: ' + esc(JSON.stringify(c.end)) + '</p>';
  }
  return h;
}
function show(key){
  const p = key.split(':');
  let h = '';
  if (p[0] === 'r') {
    const r = data.reports[+p[1]], c = r.cases[+p[2]];
    h = '<h2>' + esc(c.id) + ' on ' + esc(r.name) + '</h2>' + dl([
      ['verdict', c.verdict], ['level', c.level], ['testee', c.testee], ['clause', c.clause],
      ['description', c.description], ['expected', c.expected],
      ['lenient', c.expected_lenient], ['actual', c.actual], ['timed out', c.timed_out],
      ['elapsed ms', c.elapsed_ms], ['peer', c.peer_fate], ['peer end', c.peer_end],
      ['peer stderr', c.peer_stderr_tail], ['known failing', c.known_failing_reason],
      ['error', c.error]]) + caseTrace(c.wire_trace);
    if (c.wire_log) h += '<h3>Text log</h3><pre>' + esc(c.wire_log) + '</pre>';
  } else {
    const c = data.matrix.cells[+p[1]];
    h = '<h2>' + esc(c.client) + ' client &rarr; ' + esc(c.server) + ' server: ' +
      esc(c.scenario) + '</h2>' + dl([['verdict', c.verdict], ['detail', c.detail],
      ['elapsed ms', c.elapsed_ms], ['trace', c.trace_error]]) + tapTrace(c.trace);
  }
  body.innerHTML = h;
  panel.style.display = 'block';
  panel.scrollTop = 0;
}
document.addEventListener('click', ev => {
  const td = ev.target.closest('td.cell[data-key]');
  if (td) show(td.dataset.key);
});
document.getElementById('detail-close').onclick = () => { panel.style.display = 'none'; };
document.addEventListener('keydown', ev => {
  if (ev.key === 'Escape') panel.style.display = 'none';
});
})();
"""


def page(reports, matrix, report_dir):
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           "<title>ttrpc conformance</title>", f"<style>{CSS}</style></head><body>",
           "<h1>ttrpc conformance</h1>",
           f"<p>Reports from <code>{html.escape(report_dir)}</code>. Click a cell for its "
           "expectation, outcome and wire trace.</p>"]
    if not reports and matrix is None:
        out.append('<p class="none">No reports found.</p>')
    summary(reports, matrix, out)
    out.append("<h2>Server role: the harness as client, each peer's server</h2>")
    role_matrix(reports, "server", out)
    out.append("<h2>Client role: the harness as scripted server, each peer's client</h2>")
    role_matrix(reports, "client", out)
    out.append("<h2>Client x server scenarios</h2>")
    if matrix is None:
        out.append('<p class="none">No matrix.json in this directory.</p>')
    else:
        scenario_matrix(matrix, out)
    data = json.dumps({"reports": reports, "matrix": matrix}, separators=(",", ":"))
    # Inside <script>, only "</" can end the element early.
    data = data.replace("</", "<\\/")
    out.append('<div id="detail"><span class="close" id="detail-close" title="close (Esc)">'
               '&times;</span><div id="detail-body"></div></div>')
    out.append(f'<script type="application/json" id="report-data">{data}</script>')
    out.append(f"<script>{JS}</script></body></html>\n")
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("report_dir")
    ap.add_argument("-o", "--output", help="default: REPORT_DIR/index.html")
    args = ap.parse_args()
    try:
        reports, matrix = load_reports(args.report_dir)
    except OSError as e:
        print(f"report-html: {args.report_dir}: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 2
    output = args.output or os.path.join(args.report_dir, "index.html")
    text = page(reports, matrix, args.report_dir)
    tmp = output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, output)
    n_cells = sum(len(r["cases"]) for r in reports)
    n_matrix = len(matrix.get("cells", [])) if matrix else 0
    print(f"report-html: {output}: {len(reports)} reports, {n_cells} case cells, "
          f"{n_matrix} matrix cells, {len(text)} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
