/* web_assets.c: the style sheet and the one script (live progress of a running plan). */
#include "web_int.h"

const char web_style_css[] =
    "body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}\n"
    "nav{background:#234;padding:.5em 1em}nav a{color:#cde;margin-right:1em;text-decoration:none}\n"
    "nav a.brand{font-weight:bold;color:#fff}nav a.here{color:#fff;text-decoration:underline}\n"
    "main{padding:1em 1.5em;max-width:80em}footer{color:#888;padding:1em 1.5em;font-size:80%}\n"
    "table{border-collapse:collapse;margin:.5em 0 1em}td,th{padding:.2em .8em;text-align:left;"
    "border-bottom:1px solid #ddd;vertical-align:top}th{background:#eee}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}code,.digest{font-family:monospace;"
    "font-size:90%}\n"
    ".state-done{color:#080}.state-failed,.state-reverted,.state-interrupted{color:#b00;"
    "font-weight:bold}.state-running,.state-pending,.state-reverting{color:#a60;font-weight:bold}\n"
    ".error{color:#b00}.add{background:#e6ffe6}.del{background:#ffe6e6}pre.text{background:#fff;"
    "border:1px solid #ddd;padding:.5em;overflow:auto;max-height:40em}\n"
    "pre.diff{background:#fff;border:1px solid #ddd;padding:.5em;overflow:auto}\n"
    "progress{width:20em;height:1.2em}.pager a{margin-right:1em}\n"
    ".what{background:#fff4e0;border:1px solid #e0b060;padding:.5em 1em}\n";

/* A running plan's page has data-plan on <body>'s progress block; the script follows the
 * server-sent events of /api/events and rewrites the numbers.  Without it the page shows
 * what was true when it was loaded (and a link to reload). */
const char web_app_js[] =
    "'use strict';\n"
    "document.addEventListener('DOMContentLoaded', function () {\n"
    "  var box = document.getElementById('progress');\n"
    "  if (!box || !box.dataset.plan || !window.EventSource) return;\n"
    "  var es = new EventSource('/api/events?plan=' + encodeURIComponent(box.dataset.plan));\n"
    "  function set(id, text) { var e = document.getElementById(id); if (e) e.textContent = "
    "text; }\n"
    "  es.addEventListener('progress', function (ev) {\n"
    "    var p = JSON.parse(ev.data);\n"
    "    set('p-state', p.state); set('p-steps-done', p.steps_done); set('p-steps', p.steps);\n"
    "    set('p-bytes-done', p.bytes_done); set('p-bytes-total', p.bytes_total);\n"
    "    set('p-last-error', p.last_error || '');\n"
    "    var st = document.getElementById('p-state'); if (st) st.className = 'state-' + "
    "p.state;\n"
    "    var bar = document.getElementById('p-bar');\n"
    "    if (bar) { bar.max = p.bytes_total || p.steps || 1; bar.value = p.bytes_total ? "
    "p.bytes_done : p.steps_done; }\n"
    "    box.dataset.updates = String(Number(box.dataset.updates || 0) + 1);\n"
    "    if (p.state !== 'running' && p.state !== 'pending' && p.state !== 'reverting') {\n"
    "      es.close(); box.dataset.finished = p.state;\n"
    "    }\n"
    "  });\n"
    "  es.onerror = function () { box.dataset.disconnected = '1'; };\n"
    "});\n";
