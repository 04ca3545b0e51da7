/* Site behaviour: copy button, sortable/filterable tables, source line ranges.
 * No dependencies, no network beyond same-site JSON. Record text is only ever set with
 * textContent, never parsed as HTML. */
(function () {
  "use strict";

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  /* ---- hash state: "#a=1&b=2" ------------------------------------------------------------ */
  function readHash() {
    var out = {};
    var h = location.hash.replace(/^#/, "");
    if (!h || /^L\d/.test(h) || h.indexOf("=") < 0) return out;
    h.split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i <= 0) return;
      try { out[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1)); } catch (e) { /* ignore a malformed part */ }
    });
    return out;
  }
  function writeHash(state) {
    var parts = Object.keys(state).filter(function (k) { return state[k] !== "" && state[k] !== undefined && state[k] !== null; })
      .sort().map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(state[k]); });
    var h = parts.length ? "#" + parts.join("&") : " ";
    history.replaceState(null, "", h === " " ? location.pathname + location.search : h);
  }

  /* ---- copy the exact JSONL line -------------------------------------------------------- */
  function setupCopy() {
    document.querySelectorAll("button[data-copy]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var src = document.getElementById(btn.getAttribute("data-copy"));
        if (!src) return;
        // defaultValue: the textarea's own text. Its .value would turn a CR (written as &#13;)
        // into LF, and the copied record would split in two.
        var text = src.defaultValue;
        var done = function () { btn.textContent = "Copied"; btn.setAttribute("data-copied", "1"); setTimeout(function () { btn.textContent = "Copy JSONL line"; }, 1500); };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
        } else { fallbackCopy(text); done(); }
      });
    });
  }
  function fallbackCopy(text) {
    var ta = el("textarea");
    ta.value = text;
    ta.style.position = "fixed"; ta.style.opacity = "0";
    document.body.appendChild(ta);
    ta.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing else to try */ }
    document.body.removeChild(ta);
  }

  /* ---- shared sorting ------------------------------------------------------------------- */
  function compare(a, b, numeric) {
    if (numeric) return (parseFloat(a) || 0) - (parseFloat(b) || 0);
    return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: "base" });
  }

  /* ---- JSON-driven tables (examples, findings) ------------------------------------------- */
  var PAGE = 100;
  function setupDataTable(root) {
    var src = root.getAttribute("data-src");
    fetch(src).then(function (r) { return r.json(); }).then(function (data) {
      buildDataTable(root, data);
    }).catch(function (err) {
      root.textContent = "Could not load " + src + " (" + err + "). Serve the site over HTTP to use this table.";
    });
  }

  function buildDataTable(root, data) {
    var cols = data.columns, rows = data.rows;
    var hrefIndex = cols.length; // the last element of each row is its link
    var state = readHash();
    var defaultSort = parseInt(root.getAttribute("data-default-sort") || "0", 10);
    root.textContent = "";
    var tools = el("div", { "class": "table-tools" });
    var q = el("input", { type: "search", placeholder: "Filter rows…", "aria-label": "Filter rows", "class": "table-filter" });
    q.value = state.q || "";
    tools.appendChild(q);
    var selects = [];
    cols.forEach(function (c, i) {
      if (c.filter !== "select") return;
      var values = {};
      rows.forEach(function (r) { splitValues(r[i], c.split).forEach(function (v) { if (v !== "") values[v] = 1; }); });
      var s = el("select", { "aria-label": "Filter by " + c.label, "data-col": c.key, "class": "table-select" });
      s.appendChild(el("option", { value: "" }, c.label + ": all"));
      Object.keys(values).sort().forEach(function (v) { s.appendChild(el("option", { value: v }, v)); });
      s.value = state["f." + c.key] || "";
      selects.push({ i: i, c: c, s: s });
      tools.appendChild(s);
    });
    var itemCol = -1;
    cols.forEach(function (c, i) { if (c.filter === "item") itemCol = i; });
    var itemNote = el("span", { "class": "item-filter" });
    tools.appendChild(itemNote);
    var count = el("span", { "class": "table-rowcount", "aria-live": "polite" });
    tools.appendChild(count);
    root.appendChild(tools);

    var wrap = el("div", { "class": "table-scroll" });
    var table = el("table", { "class": "datatable-json" });
    var thead = el("thead"), tr = el("tr");
    var sortCol = state.sort !== undefined ? parseInt(state.sort, 10) : (defaultSort >= 0 ? defaultSort : -1);
    var sortDir = state.dir === "desc" ? -1 : 1;
    var ths = [];
    cols.forEach(function (c, i) {
      if (c.type === "hidden") { ths.push(null); return; }
      var th = el("th", { scope: "col", tabindex: "0", role: "columnheader", "aria-sort": "none" }, c.label);
      th.addEventListener("click", function () { sortBy(i); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(i); } });
      ths.push(th);
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    table.appendChild(thead);
    var tbody = el("tbody");
    table.appendChild(tbody);
    wrap.appendChild(table);
    root.appendChild(wrap);
    var pager = el("div", { "class": "table-pager" });
    root.appendChild(pager);
    var page = parseInt(state.page || "1", 10) || 1;

    function splitValues(v, sep) { return sep ? String(v).split(sep) : [String(v)]; }
    function sortBy(i) {
      if (sortCol === i) sortDir = -sortDir; else { sortCol = i; sortDir = 1; }
      page = 1; render();
    }
    function render() {
      var needle = q.value.trim().toLowerCase();
      var item = itemCol >= 0 ? state.item || "" : "";
      var out = rows.filter(function (r) {
        for (var k = 0; k < selects.length; k++) {
          var f = selects[k];
          if (f.s.value && splitValues(r[f.i], f.c.split).indexOf(f.s.value) < 0) return false;
        }
        if (item && String(r[itemCol]).split(" ").indexOf(item) < 0) return false;
        if (!needle) return true;
        for (var j = 0; j < cols.length; j++) if (cols[j].type !== "hidden" && String(r[j]).toLowerCase().indexOf(needle) >= 0) return true;
        return false;
      });
      if (sortCol >= 0) {
        var numeric = cols[sortCol].type === "number";
        out = out.slice().sort(function (a, b) { return sortDir * compare(a[sortCol], b[sortCol], numeric); });
      }
      ths.forEach(function (th, i) {
        if (!th) return;
        th.setAttribute("aria-sort", i === sortCol ? (sortDir > 0 ? "ascending" : "descending") : "none");
      });
      var pages = Math.max(1, Math.ceil(out.length / PAGE));
      if (page > pages) page = pages;
      tbody.textContent = "";
      out.slice((page - 1) * PAGE, page * PAGE).forEach(function (r) {
        var row = el("tr");
        cols.forEach(function (c, i) {
          if (c.type === "hidden") return;
          var td = el("td");
          if (c.link && r[hrefIndex]) { var a = el("a", { href: r[hrefIndex] }, r[i]); td.appendChild(a); }
          else td.textContent = String(r[i]);
          if (c.key === "status" || c.key === "severity") td.className = "status-cell status-" + r[i];
          row.appendChild(td);
        });
        tbody.appendChild(row);
      });
      count.textContent = out.length + " of " + rows.length + " rows";
      itemNote.textContent = item ? "item: " + item + " " : "";
      if (item) {
        var clear = el("a", { href: "#", "class": "clear-item" }, "(show all)");
        clear.addEventListener("click", function (e) { e.preventDefault(); state.item = ""; page = 1; render(); });
        itemNote.appendChild(clear);
      }
      pager.textContent = "";
      if (pages > 1) {
        var prev = el("button", { type: "button" }, "‹ Previous");
        prev.disabled = page <= 1;
        prev.addEventListener("click", function () { page--; render(); });
        var next = el("button", { type: "button" }, "Next ›");
        next.disabled = page >= pages;
        next.addEventListener("click", function () { page++; render(); });
        pager.appendChild(prev);
        pager.appendChild(el("span", null, " page " + page + " of " + pages + " "));
        pager.appendChild(next);
      }
      var st = { q: q.value, item: item, page: page > 1 ? page : "" };
      if (sortCol !== defaultSort || sortDir !== 1) { st.sort = sortCol; st.dir = sortDir > 0 ? "" : "desc"; }
      selects.forEach(function (f) { st["f." + f.c.key] = f.s.value; });
      writeHash(st);
    }
    q.addEventListener("input", function () { page = 1; render(); });
    selects.forEach(function (f) { f.s.addEventListener("change", function () { page = 1; render(); }); });
    window.addEventListener("hashchange", function () {
      var h = readHash();
      if (h.item !== undefined && h.item !== state.item) { state.item = h.item; page = 1; render(); }
    });
    render();
    root.setAttribute("data-ready", "1");
  }

  /* ---- tables rendered in the page (coverage, items) ------------------------------------- */
  function setupStaticTable(tools) {
    var table = document.getElementById(tools.getAttribute("data-table"));
    if (!table) return;
    var tbody = table.tBodies[0];
    var ths = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var q = el("input", { type: "search", placeholder: "Filter rows…", "aria-label": "Filter rows", "class": "table-filter" });
    tools.appendChild(q);
    var selects = [];
    ths.forEach(function (th, i) {
      if (th.getAttribute("data-filter") !== "select") return;
      var values = {};
      Array.prototype.forEach.call(tbody.rows, function (r) { values[r.cells[i].textContent.trim()] = 1; });
      var s = el("select", { "aria-label": "Filter by " + th.textContent, "class": "table-select" });
      s.appendChild(el("option", { value: "" }, th.textContent + ": all"));
      Object.keys(values).sort().forEach(function (v) { s.appendChild(el("option", { value: v }, v)); });
      s.addEventListener("change", apply);
      selects.push({ i: i, s: s });
      tools.appendChild(s);
    });
    var count = el("span", { "class": "table-rowcount", "aria-live": "polite" });
    tools.appendChild(count);
    function apply() {
      var needle = q.value.trim().toLowerCase();
      var shown = 0;
      Array.prototype.forEach.call(tbody.rows, function (r) {
        var ok = selects.every(function (f) { return !f.s.value || r.cells[f.i].textContent.trim() === f.s.value; });
        if (ok && needle) ok = r.textContent.toLowerCase().indexOf(needle) >= 0;
        r.hidden = !ok;
        if (ok) shown++;
      });
      count.textContent = shown + " of " + tbody.rows.length + " rows";
    }
    q.addEventListener("input", apply);
    var sortCol = -1, dir = 1;
    ths.forEach(function (th, i) {
      var kind = th.getAttribute("data-sort");
      if (!kind) return;
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      var go = function () {
        dir = sortCol === i ? -dir : 1; sortCol = i;
        var rows = Array.prototype.slice.call(tbody.rows);
        rows.sort(function (a, b) {
          var va = a.cells[i].getAttribute("data-value") || a.cells[i].textContent.trim();
          var vb = b.cells[i].getAttribute("data-value") || b.cells[i].textContent.trim();
          return dir * compare(va, vb, kind === "number");
        });
        rows.forEach(function (r) { tbody.appendChild(r); });
        ths.forEach(function (h, k) { if (h.hasAttribute("data-sort")) h.setAttribute("aria-sort", k === i ? (dir > 0 ? "ascending" : "descending") : "none"); });
      };
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
    });
    apply();
  }

  /* ---- source pages: highlight #L10-L20 ---------------------------------------------------- */
  function highlightRange() {
    var m = /^#L(\d+)(?:-L(\d+))?$/.exec(location.hash);
    document.querySelectorAll(".cl.hl").forEach(function (e) { e.classList.remove("hl"); });
    if (!m) return;
    var a = parseInt(m[1], 10), b = m[2] ? parseInt(m[2], 10) : a;
    // Clamp to the file's lines: #L1-L30000000 must not loop thirty million times.
    var count = document.querySelectorAll(".source-lines .cl").length;
    a = Math.max(a, 1); b = Math.min(b, count);
    var first = null;
    for (var n = a; n <= b; n++) {
      var line = document.getElementById("L" + n);
      if (line) { line.classList.add("hl"); if (!first) first = line; }
    }
    if (first) first.scrollIntoView({ block: "center" });
  }

  /* ---- example pages: an upstream line number opens that line on the source page ---------- */
  function setupLineLinks() {
    document.querySelectorAll(".code-lines[data-line-base]").forEach(function (block) {
      var base = block.getAttribute("data-line-base");
      block.querySelectorAll(".ln").forEach(function (ln) {
        if (!ln.textContent) return;
        ln.setAttribute("role", "link");
        ln.setAttribute("tabindex", "0");
        ln.setAttribute("title", "Open line " + ln.textContent + " on the source page");
        ln.classList.add("ln-link");
      });
      block.addEventListener("click", function (e) {
        var ln = e.target.closest(".ln-link");
        if (ln) location.href = base + ln.textContent;
      });
      block.addEventListener("keydown", function (e) {
        var ln = e.target.closest(".ln-link");
        if (ln && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); location.href = base + ln.textContent; }
      });
    });
  }

  function init() {
    setupCopy();
    setupLineLinks();
    document.querySelectorAll(".datatable[data-src]").forEach(setupDataTable);
    document.querySelectorAll(".table-tools[data-table]").forEach(setupStaticTable);
    var src = document.querySelector(".source-lines");
    if (src) {
      // a click in the gutter (the counter) links that line
      src.addEventListener("click", function (e) {
        var line = e.target.closest(".cl");
        if (!line || e.target.closest("a")) return;
        var box = line.getBoundingClientRect();
        if (e.clientX - box.left < 70) location.hash = line.id;
      });
      highlightRange();
      window.addEventListener("hashchange", highlightRange);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
