"""The report's inline CSS and JS (the page fetches nothing: see the CSP in report.py)."""

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
"""

JS = """
(function () {
  var input = document.getElementById('search');
  var counter = document.getElementById('search-count');
  var cards = Array.prototype.slice.call(document.querySelectorAll('.card'));
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
    counter.textContent = terms.length ? shown + ' of ' + cards.length + ' clips match' : '';
  }
  input.addEventListener('input', apply);
  if (location.hash.indexOf('#q=') === 0) {
    input.value = decodeURIComponent(location.hash.slice(3));
  }
  apply();
})();
"""
