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
        if (item && String(r[itemCol]).split("\t").indexOf(item) < 0) return false;
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
      lastShown = out;
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
    var lastShown = rows;
    if (root.getAttribute("data-kind") === "examples") {
      tbody.addEventListener("click", function (e) {
        if (!e.target.closest("a")) return;
        var h = location.hash, parts = [];
        if (q.value.trim()) parts.push("“" + q.value.trim() + "”");
        selects.forEach(function (f) { if (f.s.value) parts.push(f.c.label.toLowerCase() + " " + f.s.value); });
        if (state.item) parts.push("item " + state.item);
        if (sortCol !== defaultSort || sortDir !== 1) parts.push("sorted by " + cols[sortCol].label);
        var stem = root.getAttribute("data-dataset") || "";
        if (!parts.length) { try { sessionStorage.removeItem("exnav:" + stem); } catch (err) { /* off */ } return; }
        rememberList(stem, h, parts.join(", "), lastShown.map(function (r) { return r[1]; }), lastShown.map(function (r) { return r[0]; }));
      });
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
      // Mouse only: a number is not a tab stop (the segment's "source page" link opens the range).
      block.querySelectorAll(".ln").forEach(function (ln) {
        if (!ln.textContent) return;
        ln.setAttribute("title", "Open line " + ln.textContent + " on the source page");
        ln.classList.add("ln-link");
      });
      block.addEventListener("click", function (e) {
        var ln = e.target.closest(".ln-link");
        if (ln) location.href = base + ln.textContent;
      });
    });
  }

  /* ---- example pages: previous/next within the list you came from ------------------------ */
  // The examples table records the list a reader opened an example from (filter, order and
  // the example lines in that order) in sessionStorage; the pager follows that list.
  function rememberList(stem, hash, label, lines, numbers) {
    try {
      sessionStorage.setItem("exnav:" + stem, JSON.stringify({ hash: hash, label: label, lines: lines.slice(0, 5000), numbers: numbers.slice(0, 5000) }));
    } catch (e) { /* storage full or off: the pager keeps file order */ }
  }
  function setupPagerContext() {
    var nav = document.querySelector(".ex-pager[data-stem]");
    if (!nav) return;
    var ctx = null;
    try { ctx = JSON.parse(sessionStorage.getItem("exnav:" + nav.getAttribute("data-stem")) || "null"); } catch (e) { ctx = null; }
    if (!ctx || typeof ctx.hash !== "string" || !Array.isArray(ctx.lines) || !ctx.label) return;
    var line = parseInt(nav.getAttribute("data-line"), 10);
    var i = ctx.lines.indexOf(line);
    if (i < 0) return;
    var up = nav.querySelector(".ex-up");
    var index = up.getAttribute("href").split("#")[0];
    up.setAttribute("href", index + ctx.hash);
    up.textContent = "All examples (" + ctx.label + ")";
    var here = "../line-";
    function swap(cls, k, text, rel) {
      var old = nav.querySelector("." + cls);
      var neu;
      if (k >= 0 && k < ctx.lines.length) {
        neu = el("a", { "class": cls, href: here + parseInt(ctx.lines[k], 10) + "/", rel: rel }, text.replace("N", String(parseInt(ctx.numbers[k], 10))));
      } else {
        neu = el("span", { "class": cls + " disabled" }, rel === "prev" ? "← first of the list" : "last of the list →");
      }
      old.parentNode.replaceChild(neu, old);
    }
    swap("ex-prev", i - 1, "← Example N", "prev");
    swap("ex-next", i + 1, "Example N →", "next");
    nav.appendChild(el("span", { "class": "ex-place" }, (i + 1) + " of " + ctx.lines.length + " in " + ctx.label));
  }

  /* ---- source pages: which examples quote a line (hover, or focus and arrow keys) ---------- */
  function setupLineInfo(box) {
    var code = box.querySelector("pre > code");
    var lines = code.querySelectorAll(".cl");
    if (!lines.length) return;
    var data = null, loading = null, current = null, pinned = false;
    var pop = el("div", { "class": "line-info", id: "line-info", role: "region", "aria-label": "Examples quoting the current line", hidden: "" });
    var live = el("div", { "class": "sr-only", "aria-live": "polite" });
    box.appendChild(pop);
    box.appendChild(live);
    function load() {
      if (!loading) loading = fetch(box.getAttribute("data-lookup")).then(function (r) { return r.json(); }).then(function (d) { data = d; return d; });
      return loading;
    }
    function numberOf(lineEl) { return parseInt(lineEl.id.slice(1), 10); }
    function describe(n) {
      var item = null;
      data.items.forEach(function (it) { if (it[1] <= n && n <= it[2] && (!item || it[2] - it[1] < item[2] - item[1])) item = it; });
      var total = 0, shown = [];
      data.blocks.forEach(function (b) {
        var hit = b[0].some(function (r) { return r[0] <= n && n <= r[1]; });
        if (!hit) return;
        total += b[2];
        var whole = item ? b[0].some(function (r) { return r[0] <= item[1] && item[2] <= r[1]; }) : true;
        b[1].forEach(function (k) { shown.push({ ex: data.examples[k], whole: whole }); });
      });
      shown.sort(function (a, b) { return a.ex[0] - b.ex[0]; });
      return { item: item, total: total, shown: shown };
    }
    function show(lineEl) {
      current = lineEl;
      load().then(function () {
        if (current !== lineEl) return;
        var n = numberOf(lineEl), d = describe(n);
        pop.textContent = "";
        var head = el("p", { "class": "li-head" });
        head.appendChild(el("strong", null, "Line " + n));
        if (d.item) head.appendChild(document.createTextNode(" · in " + d.item[0] + " (lines " + d.item[1] + "–" + d.item[2] + ")"));
        pop.appendChild(head);
        var summary = d.total === 0 ? "No example quotes this line." : (d.total === 1 ? "Quoted by 1 example:" : "Quoted by " + d.total + " examples:");
        pop.appendChild(el("p", { "class": "li-count" }, summary));
        if (d.shown.length) {
          var ul = el("ul");
          d.shown.forEach(function (s) {
            var li = el("li");
            var label = "Example " + s.ex[0] + ": " + s.ex[2];
            li.appendChild(el("a", { href: data.examples_url + "line-" + parseInt(s.ex[1], 10) + "/", "aria-label": label + (s.whole ? "" : " (part of the item)") }, "#" + s.ex[0]));
            li.appendChild(el("span", { "class": "li-what" }, (s.whole ? " " : " part · ") + s.ex[2]));
            ul.appendChild(li);
          });
          pop.appendChild(ul);
          if (d.total > d.shown.length) pop.appendChild(el("p", { "class": "li-more" }, "and " + (d.total - d.shown.length) + " more"));
        }
        pop.style.top = (lineEl.offsetTop + lineEl.offsetHeight + 2) + "px";
        pop.hidden = false;
        live.textContent = "Line " + n + ": " + summary.replace(/:$/, "") + (d.shown.length ? " " + d.shown.map(function (s) { return "#" + s.ex[0] + (s.whole ? "" : " (part)"); }).join(", ") : "");
      }, function () { pop.hidden = true; });
    }
    function hide() { if (!pinned) { pop.hidden = true; current = null; } }
    // Roving focus: one line is the code's tab stop; ↑ ↓ PageUp PageDown Home End move it.
    var active = lines[0];
    function activate(lineEl, focus) {
      if (active) active.removeAttribute("tabindex");
      active = lineEl;
      active.setAttribute("tabindex", "0");
      active.setAttribute("aria-describedby", "src-hint");
      if (focus) active.focus();
    }
    activate(document.getElementById(location.hash.replace(/^#(L\d+).*$/, "$1")) || lines[0], false);
    code.addEventListener("keydown", function (e) {
      var i = Array.prototype.indexOf.call(lines, active), j = i;
      if (e.key === "ArrowDown") j = i + 1; else if (e.key === "ArrowUp") j = i - 1;
      else if (e.key === "PageDown") j = i + 20; else if (e.key === "PageUp") j = i - 20;
      else if (e.key === "Home") j = 0; else if (e.key === "End") j = lines.length - 1;
      else if (e.key === "Escape") { pinned = false; hide(); return; }
      else if (e.key === "Enter") { location.hash = active.id; return; }
      else return;
      e.preventDefault();
      activate(lines[Math.max(0, Math.min(lines.length - 1, j))], true);
    });
    var timer = null;
    code.addEventListener("focusin", function (e) { var l = e.target.closest(".cl"); if (l) { clearTimeout(timer); pinned = true; show(l); } });
    box.addEventListener("focusout", function (e) { if (!box.contains(e.relatedTarget)) { pinned = false; hide(); } });
    code.addEventListener("mouseover", function (e) {
      var l = e.target.closest(".cl");
      if (!l || pinned || l === current) return;
      clearTimeout(timer);
      timer = setTimeout(function () { if (!pinned) show(l); }, 120);
    });
    box.addEventListener("mouseleave", function () { clearTimeout(timer); hide(); });
    pop.addEventListener("mouseenter", function () { clearTimeout(timer); });
  }

  /* ---- a fragment inside a closed <details> (an item's row) opens it and marks the row --- */
  function openTarget() {
    var id = location.hash.slice(1);
    if (!id || id.indexOf("=") >= 0) return;
    var t = document.getElementById(id);
    if (!t) return;
    var d = t.closest("details");
    if (d && !d.open) { d.open = true; t.scrollIntoView({ block: "center" }); }
  }

  /* ---- histograms: the SVG file put inline (tooltips, links, the scheme's colours) ------- */
  function inlineHistogram(fig) {
    fetch(fig.getAttribute("data-svg")).then(function (r) { return r.text(); }).then(function (text) {
      var doc = new DOMParser().parseFromString(text, "image/svg+xml");
      var svg = doc.documentElement;
      if (!svg || svg.nodeName !== "svg" || doc.querySelector("parsererror, script, foreignObject")) return;
      var img = fig.querySelector("img");
      fig.replaceChild(document.importNode(svg, true), img);
    }).catch(function () { /* the image stays */ });
  }

  function init() {
    document.querySelectorAll("figure.hist[data-svg]").forEach(inlineHistogram);
    setupCopy();
    setupLineLinks();
    setupPagerContext();
    openTarget();
    window.addEventListener("hashchange", openTarget);
    document.querySelectorAll(".source-lines[data-lookup]").forEach(setupLineInfo);
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
