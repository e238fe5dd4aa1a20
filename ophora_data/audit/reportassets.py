"""The report's inline CSS and JS (the page fetches nothing: see the CSP in report.py)."""

# Timeline window colours by code: kept, rejected, rejected by segment (no clip was cut).
TIMELINE_COLOURS = ("#2e9d5b", "#d4572e", "#9aa1a9")

CSS = """
:root { --kept: #2e9d5b; --rejected: #d4572e; --muted: #5f6b7a; --line: #dde2e8; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1d2430;
       background: #f7f8fa; }
header { position: sticky; top: 0; z-index: 2; background: #1f2a3a; color: #fff; padding: 10px 20px;
         display: flex; gap: 18px; align-items: center; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; }
header .meta { color: #c9d3e0; font-size: 12px; }
header input { flex: 1; min-width: 240px; max-width: 420px; padding: 6px 10px; border-radius: 6px; border: 0;
               font-size: 14px; }
#search-count { font-size: 12px; color: #c9d3e0; }
nav { padding: 6px 20px; background: #fff; border-bottom: 1px solid var(--line); font-size: 13px; }
nav a { margin-right: 14px; color: #2b5ea8; text-decoration: none; }
main { padding: 8px 20px 40px; max-width: 1400px; }
section { margin-top: 22px; }
h2 { font-size: 16px; margin: 0 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
table { border-collapse: collapse; background: #fff; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.funnel { list-style: none; padding: 0; margin: 0; }
.funnel .step { display: grid; grid-template-columns: 120px 70px 1fr; gap: 10px; align-items: start;
                padding: 5px 0; border-bottom: 1px dashed var(--line); }
.funnel .label { font-weight: 600; }
.funnel .count { text-align: right; font-variant-numeric: tabular-nums; font-weight: 600; }
.funnel .bar { height: 14px; background: #5b7fbd; border-radius: 3px; min-width: 2px; }
.funnel .unit { color: var(--muted); font-size: 12px; }
.funnel .lost { margin: 3px 0 0; padding: 0; list-style: none; color: var(--rejected); font-size: 12px; }
.hists { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
figcaption { font-size: 12px; color: var(--muted); margin-bottom: 4px; }
figcaption b { color: #1d2430; }
svg.hist { width: 100%; height: auto; }
.video { margin-bottom: 8px; }
.video h3 { font-size: 13px; margin: 4px 0; font-weight: 600; }
svg.timeline { width: 100%; height: 26px; display: block; }
.legend span { display: inline-block; margin-right: 12px; font-size: 12px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -2px; }
.sheet { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 10px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; overflow: hidden;
        border-top: 4px solid var(--kept); font-size: 12px; }
.card.rejected { border-top-color: var(--rejected); }
.card[hidden] { display: none; }
.card img, .card .noimg { width: 100%; aspect-ratio: 16 / 9; object-fit: cover; display: block;
                          background: #e4e7ec; }
.card .noimg { display: flex; align-items: center; justify-content: center; color: var(--muted); }
.card .body { padding: 6px 8px; }
.card .id { font-weight: 600; font-family: ui-monospace, monospace; word-break: break-all; }
.card .span { color: var(--muted); }
.card .instr { margin: 4px 0; }
.card ul { margin: 0; padding-left: 16px; }
.card .fail { color: var(--rejected); }
.card .pass { color: var(--kept); }
.card .subsets { color: var(--muted); }
details { margin-bottom: 12px; }
summary { cursor: pointer; font-weight: 600; margin-bottom: 6px; }
.more { color: var(--muted); font-size: 12px; margin: 6px 0; }
footer { color: var(--muted); font-size: 12px; padding: 20px; }
.pager { margin: 6px 0; font-size: 13px; }
.pager button { margin-right: 8px; }
.detail { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px;
          margin-top: 8px; font-size: 13px; }
.detail code { user-select: all; }
"""

JS = """
(function () {
  var COLOURS = %COLOURS%;
  var PAGE = 50;
  var input = document.getElementById('search');
  var counter = document.getElementById('search-count');
  var cards = Array.prototype.slice.call(document.querySelectorAll('.card'));
  var holder = document.getElementById('timeline-data');
  var data = JSON.parse(holder.textContent);
  var run = holder.getAttribute('data-run');
  var list = document.getElementById('timeline-list');
  var pager = document.getElementById('timeline-pager');
  var detail = document.getElementById('timeline-detail');
  var matches = data.videos;
  var page = 0;
  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }
  function clipId(video, win) {
    var n = String(win[4]);
    return n.charAt(0) === '!' ? n.slice(1) : video[0] + '_' + n;
  }
  function drawVideo(video, index) {
    var duration = Math.max(video[1], 1e-6), width = 1000, kept = 0, out = [];
    video[2].forEach(function (w, i) {
      if (w[2] === 0) { kept += 1; }
      var x = w[0] / duration * width, wd = Math.max(1.5, (w[1] - w[0]) / duration * width);
      var reason = w[3] >= 0 ? ' (' + data.reasons[w[3]] + ')' : '';
      out.push('<rect class="win" data-v="' + index + '" data-w="' + i + '" x="' + x.toFixed(2) +
               '" y="2" width="' + wd.toFixed(2) + '" height="22" fill="' + COLOURS[w[2]] +
               '" stroke="#fff" stroke-width="1"><title>' + esc(clipId(video, w) + ' ' + w[0] + '-' + w[1] +
               's: ' + (w[2] === 0 ? 'kept' : 'rejected') + reason) + '</title></rect>');
    });
    return '<div class="video"><h3>' + esc(video[0]) + ' · ' + video[2].length + ' windows · ' + kept +
           ' kept</h3><svg class="timeline" viewBox="0 0 ' + width + ' 26" role="img"><rect x="0" y="4" width="' +
           width + '" height="18" fill="#eef0f3"/>' + out.join('') + '</svg></div>';
  }
  function render() {
    var pages = Math.max(1, Math.ceil(matches.length / PAGE));
    page = Math.min(page, pages - 1);
    var shown = matches.slice(page * PAGE, page * PAGE + PAGE);
    list.innerHTML = shown.map(function (v) { return drawVideo(v, data.videos.indexOf(v)); }).join('');
    pager.innerHTML = '<button type="button" data-step="-1"' + (page === 0 ? ' disabled' : '') +
      '>previous</button><button type="button" data-step="1"' + (page >= pages - 1 ? ' disabled' : '') +
      '>next</button><span class="page-info">videos ' + (matches.length ? page * PAGE + 1 : 0) + '–' +
      (page * PAGE + shown.length) + ' of ' + matches.length + ' (page ' + (page + 1) + ' of ' + pages + ')</span>';
  }
  pager.addEventListener('click', function (event) {
    var step = event.target.getAttribute && event.target.getAttribute('data-step');
    if (step) { page += Number(step); render(); }
  });
  list.addEventListener('click', function (event) {
    var v = event.target.getAttribute && event.target.getAttribute('data-v');
    if (v === null || v === undefined) { return; }
    var video = data.videos[Number(v)], win = video[2][Number(event.target.getAttribute('data-w'))];
    var id = clipId(video, win), card = document.getElementById('card-' + id);
    detail.hidden = false;
    detail.innerHTML = '<b>' + esc(id) + '</b> · ' + win[0] + '–' + win[1] + ' s · ' +
      (win[2] === 0 ? 'kept' : 'rejected' + (win[3] >= 0 ? ': ' + esc(data.reasons[win[3]]) : '')) +
      (card ? ' · <a href="#card-' + esc(id) + '">card</a>' : '') +
      '<br>every check and reason: <code>ophora-data audit explain ' + esc(id) + ' -w ' + esc(run) + '</code>';
  });
  function apply() {
    var terms = input.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var shown = 0;
    cards.forEach(function (card) {
      var text = card.getAttribute('data-search');
      var match = terms.every(function (t) { return text.indexOf(t) !== -1; });
      card.hidden = !match;
      if (match) { shown += 1; }
    });
    document.querySelectorAll('[data-sheet]').forEach(function (sheet) {
      var visible = sheet.querySelectorAll('.card:not([hidden])').length;
      var label = document.querySelector('[data-shown-for="' + sheet.getAttribute('data-sheet') + '"]');
      if (label) { label.textContent = String(visible); }
    });
    matches = !terms.length ? data.videos : data.videos.filter(function (video) {
      var vid = video[0].toLowerCase();
      return terms.every(function (t) {
        return vid.indexOf(t) !== -1 || video[2].some(function (w) {
          return clipId(video, w).toLowerCase().indexOf(t) !== -1;
        });
      });
    });
    page = 0;
    render();
    counter.textContent = terms.length ? shown + ' of ' + cards.length + ' clips match' : '';
  }
  input.addEventListener('input', apply);
  if (location.hash.indexOf('#q=') === 0) {
    input.value = decodeURIComponent(location.hash.slice(3));
  }
  apply();
})();
""".replace("%COLOURS%", "[" + ", ".join(f"'{c}'" for c in TIMELINE_COLOURS) + "]")
