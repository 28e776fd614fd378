/**
 * The script and style sheet of the scan report page, written as files next to the HTML. The page
 * has no inline script, no inline style and no event-handler attributes, so it works under a strict
 * Content-Security-Policy (`default-src 'self'`) and from a file:// URL. Without the script the
 * table is complete, only not sortable or filterable (the controls stay hidden).
 * test/scan-report-browser.int.test.ts runs the page in Chromium under such a policy.
 */
export const SCRIPT_FILE = 'mailward-scan-report.js';
export const STYLE_FILE = 'mailward-scan-report.css';

export const SCRIPT = `// mailward scan report: sorts and filters the domain table. No network, no storage.
'use strict';
(function () {
  var table = document.getElementById('domains');
  var controls = document.getElementById('controls');
  if (!table || !controls) return;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var text = document.getElementById('filter-text');
  var status = document.getElementById('filter-status');
  var grade = document.getElementById('filter-grade');
  var count = document.getElementById('shown');
  controls.hidden = false;

  function cellValue(row, index) {
    var cell = row.cells[index];
    return cell ? cell.getAttribute('data-value') || cell.textContent || '' : '';
  }

  function applyFilter() {
    var needle = text.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var ok =
        (needle === '' || row.cells[0].textContent.toLowerCase().indexOf(needle) >= 0) &&
        (status.value === '' || row.getAttribute('data-status') === status.value) &&
        (grade.value === '' || row.getAttribute('data-grade') === grade.value);
      row.hidden = !ok;
      if (ok) shown += 1;
    });
    count.textContent = String(shown);
  }

  var buttons = table.tHead.querySelectorAll('button[data-column]');
  Array.prototype.forEach.call(buttons, function (button) {
    button.addEventListener('click', function () {
      var index = Number(button.getAttribute('data-column'));
      var numeric = button.getAttribute('data-type') === 'number';
      var th = button.parentNode;
      var ascending = th.getAttribute('aria-sort') !== 'ascending';
      Array.prototype.forEach.call(table.tHead.querySelectorAll('th'), function (other) {
        other.removeAttribute('aria-sort');
      });
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      rows.sort(function (a, b) {
        var x = cellValue(a, index);
        var y = cellValue(b, index);
        var order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) {
        body.appendChild(row);
      });
    });
  });
  [text, status, grade].forEach(function (control) {
    control.addEventListener('input', applyFilter);
    control.addEventListener('change', applyFilter);
  });
  applyFilter();
})();
`;

export const STYLE = `@charset "utf-8";
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
@media (max-width: 600px) { body { margin: 1em; } }
/* A path or list name without spaces must not widen the page on a phone. */
code { overflow-wrap: anywhere; }
table { border-collapse: collapse; font-size: 14px; }
/* The domain table is wider than a phone: it scrolls in its own box, the page does not. */
.table-scroll { overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; }
th button { font: inherit; font-weight: bold; background: none; border: 0; padding: 0; cursor: pointer; }
/* The arrow is for the eye; aria-sort tells a screen reader. The empty alternative text (after the
   slash) keeps the arrow out of the column's accessible name; older browsers take the first line. */
th[aria-sort='ascending'] button::after { content: ' ▲'; content: ' ▲' / ''; }
th[aria-sort='descending'] button::after { content: ' ▼'; content: ' ▼' / ''; }
td.num { text-align: right; }
.grade-A { background: #c8e6c9; }
.grade-B { background: #fff9c4; }
.grade-C { background: #ffe0b2; }
.grade-F { background: #ffcdd2; }
.status-nxdomain, .status-dns-failed { background: #e0e0e0; }
dl.definitions dt { font-weight: bold; margin-top: 0.6em; }
dl.definitions dd { margin-left: 1.5em; }
#controls { margin: 1em 0; }
#controls label { margin-right: 1em; display: inline-block; white-space: nowrap; }
#filter-text { max-width: 100%; }
`;
