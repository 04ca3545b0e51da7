/* Site behaviour: the header search, tables paged from the search database, copy button,
 * source line ranges. No network beyond the site itself. Record text is only ever set with
 * textContent (or as text nodes), never parsed as HTML. */
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

  /* ---- the search database (search/site.sqlite3, read over HTTP Range requests) ------------ */
  /* sql.js-httpvfs (vendored under assets/vendor/) runs SQLite in a worker and fetches only the
   * 4 KB pages a query touches. Nothing is loaded before the first search or table action. */
  function siteBase() {
    var cfg = document.getElementById("__config");
    var base = ".";
    if (cfg) { try { base = JSON.parse(cfg.textContent).base || "."; } catch (e) { /* keep "." */ } }
    return new URL(base.replace(/\/?$/, "/"), location.href).href;
  }
  function siteUrl(rel) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(rel)) return /^https?:/i.test(rel) ? rel : "#";
    return new URL(rel, siteBase()).href;
  }
  var dbPromise = null;
  function needsServer() { return location.protocol === "file:"; }
  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = el("script", { src: src });
      s.onload = resolve;
      s.onerror = function () { reject(new Error("could not load " + src)); };
      document.head.appendChild(s);
    });
  }
  /* The worker and the WebAssembly ship gzipped (half the bytes); inflated here into blob URLs. */
  function inflated(url, type) {
    return fetch(url).then(function (r) {
      if (!r.ok) throw new Error("could not load " + url);
      return new Response(r.body.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer();
    }).then(function (buf) { return URL.createObjectURL(new Blob([buf], { type: type })); });
  }
  function openDb() {
    if (dbPromise) return dbPromise;
    if (needsServer()) return Promise.reject(new Error("needs the site served over HTTP (python -m generator preview site)"));
    var vendor = siteUrl("assets/vendor/sql.js-httpvfs/");
    dbPromise = fetch(siteUrl("search/version.txt"), { cache: "no-store" }).then(function (r) { return r.ok ? r.text() : ""; }, function () { return ""; })
      .then(function (version) {
        return Promise.all([
          window.createDbWorker ? Promise.resolve() : loadScript(vendor + "index.js"),
          inflated(vendor + "sqlite.worker.js.gz", "text/javascript"),
          inflated(vendor + "sql-wasm.wasm.gz", "application/wasm")
        ]).then(function (got) {
          return window.createDbWorker(
            [{ from: "inline", config: { serverMode: "full", url: siteUrl("search/site.sqlite3"), requestChunkSize: 4096, maxReadSpeed: 16384, cacheBust: version.trim() } }],
            got[1], got[2]);
        });
      });
    dbPromise.catch(function () { dbPromise = null; });
    return dbPromise;
  }
  function rows(worker, sql, params) {
    return worker.db.query(sql, params || []);
  }
  window.siteDb = { open: openDb, bytesRead: function () { return openDb().then(function (w) { return w.worker.bytesRead; }); } };

  /* ---- queries: identifiers as written, words, "phrases" ----------------------------------- */
  function ftsString(t) { return '"' + t.replace(/"/g, '""') + '"'; }
  function parseQuery(q) {
    var terms = [], re = /"([^"]*)"|(\S+)/g, m;
    while ((m = re.exec(q))) {
      if (m[1] !== undefined) { if (m[1].trim()) terms.push({ text: m[1].trim(), phrase: true }); continue; }
      var t = m[2].replace(/^[`'(\[{<,;]+/, "").replace(/[`'()\]}>,;:!?]+$/, "").replace(/\(\)$/, "").replace(/\.+$/, "");
      if (!t) continue;
      terms.push({ text: t, phrase: false, ident: /::|\/|\./.test(t) });
    }
    return terms;
  }
  /* A term's matches are read in id order and at most CAP of each kind: a word in every record
   * of 100,000 reads the first pages of its list, not all of it (results then say "CAP+"). */
  var CAP = 2000;
  /* Per term: the ids of docs whose identifiers hold it exactly, and of docs whose text holds it
   * (a word or a phrase). Identifier-only terms (`a::b`, `a/b.rs`, `a.b`) match identifiers only. */
  function termSets(worker, term, prefix) {
    var exact = Promise.resolve([]), text = Promise.resolve([]);
    var star = prefix ? "*" : "";
    // bm25 weights: defining or covering the item counts most, then the files, then a mention
    // Exact identifier hits, ranked by where: the item's own definition, an item an example
    // covers, a mention or a quoted file, then the code of an example (each distinct block is
    // indexed once, its examples looked up). No bm25 here: it would read every match's size.
    if (!term.phrase) {
      var t = ftsString(term.text) + star;
      exact = rows(worker,
        "SELECT * FROM (SELECT rowid AS id, -3 AS r FROM ident_fts WHERE ident_fts MATCH ?1 LIMIT " + CAP + ")" +
        " UNION ALL SELECT * FROM (SELECT rowid AS id, -2 AS r FROM ident_fts WHERE ident_fts MATCH ?2 LIMIT " + CAP + ")" +
        " UNION ALL SELECT * FROM (SELECT rowid AS id, -1 AS r FROM ident_fts WHERE ident_fts MATCH ?3 LIMIT " + CAP + ")" +
        " UNION ALL SELECT * FROM (SELECT doc AS id, 0 AS r FROM doc_block WHERE block IN (SELECT rowid FROM block_fts WHERE block_fts MATCH ?4) LIMIT " + CAP + ")",
        ["{defines}: " + t, "{items}: " + t, "{idents files}: " + t, "{idents}: " + t]);
    }
    if (!term.ident) text = rows(worker, "SELECT rowid AS id, bm25(text_fts) AS r FROM text_fts WHERE text_fts MATCH ? LIMIT " + CAP, [ftsString(term.text) + star]);
    return Promise.all([exact, text]).then(function (r) { return { exact: r[0], text: r[1] }; });
  }
  var FILTER_SQL = {
    dataset: "SELECT id FROM doc WHERE dataset = ?",
    file: "SELECT doc AS id FROM doc_file WHERE file = ?",
    item: "SELECT doc AS id FROM doc_item WHERE item = ?",
    rule: "SELECT doc AS id FROM finding WHERE rule = ?",
    severity: "SELECT doc AS id FROM finding WHERE severity = ?"
  };
  /* Ranked results: exact identifier hits first, then a hit of the whole query as a phrase,
   * then bm25 of the text match. Returns {total, results: [doc rows]}. */
  function search(q, filters, limit) {
    var terms = parseQuery(q);
    if (!terms.length) return Promise.resolve({ total: 0, results: [] });
    return openDb().then(function (worker) {
      var jobs = terms.map(function (t) { return termSets(worker, t, false); });
      var plain = terms.filter(function (t) { return !t.phrase && !t.ident; });
      if (plain.length > 1) jobs.push(rows(worker, "SELECT rowid AS id FROM text_fts WHERE text_fts MATCH ?", [ftsString(plain.map(function (t) { return t.text; }).join(" "))]));
      var keys = Object.keys(filters || {}).filter(function (k) { return filters[k] && FILTER_SQL[k]; });
      keys.forEach(function (k) { jobs.push(rows(worker, FILTER_SQL[k], [filters[k]])); });
      return Promise.all(jobs).then(function (res) {
        var sets = res.slice(0, terms.length);
        var last = terms[terms.length - 1];
        var lastEmpty = !sets[sets.length - 1].exact.length && !sets[sets.length - 1].text.length;
        if (lastEmpty && !last.phrase && last.text.length >= 2) {
          // typing: the last word may be unfinished
          return termSets(worker, last, true).then(function (s) { sets[sets.length - 1] = s; return finish(worker, terms, sets, res, keys, limit); });
        }
        return finish(worker, terms, sets, res, keys, limit);
      });
    });
  }
  function finish(worker, terms, sets, res, keys, limit) {
    var score = {};  // id -> [exact identifier hits, whole-query phrase hit, identifier rank, text rank]
    var count = {};
    sets.forEach(function (s) {
      var seen = {};
      s.exact.forEach(function (r) {
        var sc = (score[r.id] = score[r.id] || [0, 0, 0, 0]);
        if (!seen[r.id]) { seen[r.id] = 1; sc[0]++; }
        sc[2] = Math.min(sc[2], r.r);
      });
      s.text.forEach(function (r) { var sc = (score[r.id] = score[r.id] || [0, 0, 0, 0]); sc[3] += r.r; seen[r.id] = 1; });
      Object.keys(seen).forEach(function (id) { count[id] = (count[id] || 0) + 1; });
    });
    var plainPhrase = terms.filter(function (t) { return !t.phrase && !t.ident; }).length > 1;
    var extra = res.slice(terms.length);
    if (plainPhrase) { extra[0].forEach(function (r) { if (score[r.id]) score[r.id][1] = 1; }); extra = extra.slice(1); }
    var ids = Object.keys(count).filter(function (id) { return count[id] === terms.length; });
    extra.forEach(function (f) {
      var allow = {};
      f.forEach(function (r) { allow[r.id] = 1; });
      ids = ids.filter(function (id) { return allow[id]; });
    });
    ids.sort(function (a, b) {
      var x = score[a], y = score[b];
      return (y[0] - x[0]) || (y[1] - x[1]) || (x[2] - y[2]) || (x[3] - y[3]) || (a - b);
    });
    var total = ids.length;
    var capped = sets.some(function (s) { return s.exact.length >= CAP || s.text.length >= CAP; });
    var top = ids.slice(0, limit || 10);
    if (!top.length) return { total: 0, results: [] };
    return rows(worker, "SELECT id, kind, dataset, number, url, title, covered, first, request, think FROM doc WHERE id IN (" + top.map(function () { return "?"; }).join(",") + ")", top.map(Number))
      .then(function (docs) {
        var byId = {};
        docs.forEach(function (d) { byId[d.id] = d; d.exact = score[d.id][0] > 0; });
        var out = top.map(function (id) { return byId[id]; }).filter(Boolean);
        return { total: total, capped: capped, results: out, ids: ids.map(Number) };
      });
  }

  /* Up to two lines of context around the query's words, highlighted with text nodes (record
   * text never becomes HTML). */
  function termPattern(terms) {
    var parts = [];
    terms.forEach(function (t) {
      (t.phrase ? [t.text] : [t.text]).forEach(function (w) {
        var esc = w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\s+/g, "\\s+");
        parts.push(esc);
      });
    });
    return parts.length ? new RegExp("(?:^|(?<![A-Za-z0-9_]))(" + parts.join("|") + ")(?![A-Za-z0-9_])", "gi") : null;
  }
  function highlighted(text, pattern) {
    var frag = document.createDocumentFragment();
    if (!pattern) { frag.appendChild(document.createTextNode(text)); return frag; }
    var last = 0, m;
    pattern.lastIndex = 0;
    while ((m = pattern.exec(text))) {
      if (m[0] === "") { pattern.lastIndex++; continue; }
      var start = m.index + m[0].length - m[1].length;
      if (start > last) frag.appendChild(document.createTextNode(text.slice(last, start)));
      frag.appendChild(el("mark", null, m[1]));
      last = start + m[1].length;
    }
    if (last < text.length) frag.appendChild(document.createTextNode(text.slice(last)));
    return frag;
  }
  function contextLines(doc, pattern) {
    var lines = (String(doc.request || "") + "\n" + String(doc.think || "")).split("\n");
    var out = [];
    for (var i = 0; i < lines.length && out.length < 2; i++) {
      var line = lines[i].trim();
      if (!line || !pattern) continue;
      pattern.lastIndex = 0;
      var m = pattern.exec(line);
      if (!m) continue;
      var first = String(doc.first || "").replace(/…$/, "");
      if (first && line.slice(0, first.length) === first && m.index + m[0].length <= first.length) continue;  // shown already
      var at = m.index;
      var from = Math.max(0, at - 60);
      var cut = (from > 0 ? "…" : "") + line.slice(from, from + 200) + (line.length > from + 200 ? "…" : "");
      out.push(cut);
    }
    return out;
  }

  /* ---- the header search box --------------------------------------------------------------- */
  var FILTER_LABELS = [["dataset", "Dataset"], ["file", "Source file"], ["item", "Covered item"], ["rule", "Finding rule"], ["severity", "Severity"]];
  function setupSearch() {
    var header = document.querySelector(".md-header__inner");
    if (!header || document.querySelector(".site-search")) return;
    var box = el("div", { "class": "site-search", role: "search" });
    var input = el("input", { type: "search", "class": "site-search__input", placeholder: "Search identifiers, words, \"phrases\"", "aria-label": "Search the site", autocomplete: "off", spellcheck: "false" });
    var panel = el("div", { "class": "site-search__panel", hidden: "" });
    var filterBar = el("div", { "class": "site-search__filters" });
    var status = el("p", { "class": "site-search__status", "aria-live": "polite" });
    var list = el("ol", { "class": "site-search__results" });
    var more = el("button", { type: "button", "class": "site-search__more", hidden: "" }, "More results");
    panel.appendChild(filterBar); panel.appendChild(status); panel.appendChild(list); panel.appendChild(more);
    box.appendChild(input); box.appendChild(panel);
    var anchor = header.querySelector("form.md-header__option") || header.querySelector(".md-header__source");
    header.insertBefore(box, anchor || null);
    var selects = {}, facetsLoaded = false, timer = null, serial = 0, limit = 10;

    function loadFacets() {
      if (facetsLoaded) return;
      facetsLoaded = true;
      openDb().then(function (worker) { return rows(worker, "SELECT kind, value, label, count FROM facet ORDER BY kind, value"); }).then(function (facets) {
        FILTER_LABELS.forEach(function (fl) {
          var vals = facets.filter(function (f) { return f.kind === fl[0]; });
          if (!vals.length) return;
          var s = el("select", { "class": "site-search__filter", "data-filter": fl[0], "aria-label": "Filter by " + fl[1].toLowerCase() });
          s.appendChild(el("option", { value: "" }, fl[1] + ": all"));
          vals.forEach(function (v) { s.appendChild(el("option", { value: v.value }, v.label + " (" + v.count + ")")); });
          s.addEventListener("change", function () { limit = 10; run(); });
          selects[fl[0]] = s;
          filterBar.appendChild(s);
        });
      }, function () { facetsLoaded = false; });
    }
    function filters() {
      var f = {};
      Object.keys(selects).forEach(function (k) { if (selects[k].value) f[k] = selects[k].value; });
      return f;
    }
    function show(res, terms) {
      list.textContent = "";
      var pattern = termPattern(terms);
      res.results.forEach(function (d) {
        var li = el("li", { "class": "site-search__result" + (d.exact ? " exact" : "") });
        var a = el("a", { href: siteUrl(d.url), "data-kind": d.kind });
        var head = el("span", { "class": "sr-head" });
        head.appendChild(el("span", { "class": "sr-title" }, d.kind === "example" ? "#" + d.number : d.title));
        if (d.kind === "example" && d.covered) head.appendChild(el("span", { "class": "sr-covered" }, String(d.covered).split("; ").slice(0, 3).join(", ")));
        if (d.kind !== "example") head.appendChild(el("span", { "class": "sr-kind" }, d.kind === "item" ? "source item" : "page"));
        a.appendChild(head);
        var first = el("span", { "class": "sr-first" });
        first.appendChild(highlighted(String(d.first || ""), pattern));
        a.appendChild(first);
        contextLines(d, pattern).forEach(function (line) {
          var c = el("span", { "class": "sr-context" });
          c.appendChild(highlighted(line, pattern));
          a.appendChild(c);
        });
        li.appendChild(a);
        list.appendChild(li);
      });
      status.textContent = !res.total ? "No results" : res.capped ? "The first " + res.total + " results (a word this common is read only in part: add a word or a filter)" : res.total + (res.total === 1 ? " result" : " results");
      more.hidden = res.total <= res.results.length;
      box.setAttribute("data-results", String(res.total));
    }
    function run() {
      var q = input.value.trim();
      var mine = ++serial;
      if (!q) { panel.hidden = true; return; }
      panel.hidden = false;
      if (needsServer()) { status.textContent = "Search needs the site served over HTTP, e.g. python -m generator preview site"; return; }
      box.setAttribute("data-busy", "1");
      var terms = parseQuery(q);
      search(q, filters(), limit).then(function (res) {
        if (mine !== serial) return;
        show(res, terms);
        box.setAttribute("data-busy", "0");
        box.setAttribute("data-query", q);
      }, function (err) {
        if (mine !== serial) return;
        list.textContent = "";
        status.textContent = "Search failed: " + err.message;
        box.setAttribute("data-busy", "0");
      });
    }
    input.addEventListener("input", function () { clearTimeout(timer); limit = 10; timer = setTimeout(run, 120); });
    input.addEventListener("focus", function () { loadFacets(); if (input.value.trim()) panel.hidden = false; });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { panel.hidden = true; input.blur(); }
      if (e.key === "Enter") { e.preventDefault(); var a = list.querySelector("a"); if (a) location.href = a.href; }
    });
    more.addEventListener("click", function () { limit += 10; run(); });
    document.addEventListener("click", function (e) { if (!box.contains(e.target)) panel.hidden = true; });
    document.addEventListener("keydown", function (e) {
      if (e.key === "/" && document.activeElement === document.body) { e.preventDefault(); input.focus(); }
    });
  }
  window.siteSearch = { search: search, parse: parseQuery };

  /* ---- tables paged from the database (examples, findings) ------------------------------------ */
  /* The first page is plain HTML in the page; a sort, a filter or another page asks the database,
   * which reads only the index pages it needs (one index per sortable column). */
  var PAGE = 50, ROW_COST = 4096, ENTRY_COST = 40;  // rows per page: the same as the page's own first rows (views.TABLE_PAGE)
  var TABLES = {
    examples: {
      table: "ex", key: "number",
      cols: ["number", "line", "request", "items", "files", "lines", "status", "findings"],
      order: { number: "number", line: "line", request: "request COLLATE NOCASE", items: "items COLLATE NOCASE", files: "files", lines: "lines", status: "status", findings: "findings" },
      index: { number: "ex_number", line: "ex_line", request: "ex_request", items: "ex_items", files: "ex_files", lines: "ex_lines", status: "ex_status", findings: "ex_findings" },
      link: "request",
      url: function (r, prefix) { return prefix + "line-" + r.line + "/"; },
      // per filter: its ids (read up to CAP + 1) and a test of one id ({ID}) by index probes
      select: {
        files: { ids: "SELECT doc AS id FROM doc_file WHERE file = ?", check: "EXISTS (SELECT 1 FROM doc_file WHERE file = ? AND doc = {ID})" },
        status: { ids: "SELECT id FROM ex INDEXED BY ex_status WHERE dataset = ?D AND status = ?", check: "EXISTS (SELECT 1 FROM ex x INDEXED BY ex_status WHERE x.dataset = ?D AND x.status = ? AND x.id = {ID})" }
      },
      item: { ids: "SELECT doc AS id FROM doc_item WHERE dataset = ?D AND slug = ?", check: "EXISTS (SELECT 1 FROM doc_item WHERE dataset = ?D AND slug = ? AND doc = {ID})" },
      word: {
        ids: "SELECT rowid AS id FROM text_fts WHERE text_fts MATCH ? UNION ALL SELECT rowid FROM ident_fts WHERE ident_fts MATCH ? UNION ALL SELECT doc FROM doc_block WHERE block IN (SELECT rowid FROM block_fts WHERE block_fts MATCH ?)",
        check: "(EXISTS (SELECT 1 FROM text_fts WHERE text_fts MATCH ? AND rowid = {ID}) OR EXISTS (SELECT 1 FROM ident_fts WHERE ident_fts MATCH ? AND rowid = {ID})" +
          " OR EXISTS (SELECT 1 FROM doc_block WHERE doc = {ID} AND block IN (SELECT rowid FROM block_fts WHERE block_fts MATCH ?)))",
        params: function (t) { return ["{request think}: " + ftsString(t), "{defines idents items files}: " + ftsString(t), "{idents}: " + ftsString(t)]; }
      }
    },
    findings: {
      table: "finding", key: "id",
      cols: ["severity", "rule", "location", "message"],
      order: { severity: "sev_order", rule: "rule", location: "location", message: "message COLLATE NOCASE" },
      index: { severity: "finding_order", rule: "finding_rule", location: "finding_location", message: "finding_message" },
      link: "location",
      select: {
        severity: { ids: "SELECT id FROM finding INDEXED BY finding_severity WHERE dataset = ?D AND severity = ?", check: "EXISTS (SELECT 1 FROM finding x INDEXED BY finding_severity WHERE x.dataset = ?D AND x.severity = ? AND x.id = {ID})" },
        rule: { ids: "SELECT id FROM finding INDEXED BY finding_rule WHERE dataset = ?D AND rule = ?", check: "EXISTS (SELECT 1 FROM finding x INDEXED BY finding_rule WHERE x.dataset = ?D AND x.rule = ? AND x.id = {ID})" }
      },
      word: {
        ids: "SELECT rowid AS id FROM finding_fts WHERE finding_fts MATCH ?",
        check: "EXISTS (SELECT 1 FROM finding_fts WHERE finding_fts MATCH ? AND rowid = {ID})",
        params: function (t) { return [ftsString(t)]; }
      }
    }
  };
  function setupDataTable(root) {
    var kind = root.getAttribute("data-kind"), spec = TABLES[kind];
    var table = root.querySelector("table.datatable-rows");
    if (!spec || !table) return;
    var dataset = root.getAttribute("data-dataset");
    var examplesUrl = root.getAttribute("data-examples") || "";  // example pages: <this>line-N/
    var total = parseInt(root.getAttribute("data-total") || "0", 10);
    var idRange = (root.getAttribute("data-ids") || "").split(" ");  // this dataset's example ids
    var idLo = idRange.length === 2 ? Number(idRange[0]) : -Infinity, idHi = idRange.length === 2 ? Number(idRange[1]) : Infinity;
    var options = {};
    try { options = JSON.parse(root.getAttribute("data-options") || "{}"); } catch (e) { /* no select filters */ }
    var ths = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var tbody = table.tBodies[0];
    var state = readHash();
    var tools = el("div", { "class": "table-tools" });
    var q = el("input", { type: "search", placeholder: "Filter rows by words or identifiers…", "aria-label": "Filter rows", "class": "table-filter" });
    q.value = state.q || "";
    tools.appendChild(q);
    var selects = [];
    Object.keys(spec.select).forEach(function (key) {
      var vals = options[key] || [];
      var th = ths.filter(function (h) { return h.getAttribute("data-key") === key; })[0];
      var s = el("select", { "aria-label": "Filter by " + (th ? th.textContent : key), "data-col": key, "class": "table-select" });
      s.appendChild(el("option", { value: "" }, (th ? th.textContent : key) + ": all"));
      vals.forEach(function (v) { s.appendChild(el("option", { value: v[0] }, v[1])); });
      s.value = state["f." + key] || "";
      selects.push({ key: key, s: s });
      tools.appendChild(s);
    });
    var itemNote = el("span", { "class": "item-filter" });
    tools.appendChild(itemNote);
    var count = el("span", { "class": "table-rowcount", "aria-live": "polite" }, (tbody.rows.length < total ? "first " + tbody.rows.length + " of " : "") + total + " rows");
    tools.appendChild(count);
    root.insertBefore(tools, root.firstChild);
    var pager = el("div", { "class": "table-pager" });
    root.appendChild(pager);
    var more = root.querySelector(".table-more");
    var sortKey = state.sort || "", sortDir = state.dir === "desc" ? -1 : 1;
    var page = parseInt(state.page || "1", 10) || 1;
    var item = kind === "examples" ? state.item || "" : "";
    var serial = 0;
    ths.forEach(function (th) {
      var key = th.getAttribute("data-key");
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      var go = function () {
        if (sortKey === key) sortDir = -sortDir; else { sortKey = key; sortDir = 1; }
        page = 1; run();
      };
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
    });
    /* The filters, each with its ids, a test while scanning and a test of a candidate id. */
    function conditions() {
      var out = [];
      var fill = function (sql) { return sql.replace(/\?D/g, "?"); };
      var withDs = function (sql, p) { return (sql.indexOf("?D") >= 0 ? [dataset] : []).concat(p); };
      selects.forEach(function (f) {
        if (!f.s.value) return;
        var c = spec.select[f.key];
        out.push({ ids: fill(c.ids), idsParams: withDs(c.ids, [f.s.value]), check: fill(c.check), params: withDs(c.check, [f.s.value]) });
      });
      if (item && spec.item) {
        var c = spec.item;
        out.push({ ids: fill(c.ids), idsParams: withDs(c.ids, [item]), check: fill(c.check), params: withDs(c.check, [item]) });
      }
      parseQuery(q.value).forEach(function (t) {
        var p = spec.word.params(t.text);
        out.push({ ids: spec.word.ids, idsParams: p, check: spec.word.check, params: p });
      });
      return out;
    }
    function render(list, matched, hasMore) {
      tbody.textContent = "";
      list.forEach(function (r) {
        var row = el("tr");
        ths.forEach(function (th) {
          var key = th.getAttribute("data-key");
          var td = el("td");
          var url = spec.url ? spec.url(r, examplesUrl) : r.url;
          if (key === spec.link && url) td.appendChild(el("a", { href: siteUrl(url) }, r[key]));
          else td.textContent = String(r[key]);
          if (key === "status" || key === "severity") td.className = "status-cell status-" + r[key];
          row.appendChild(td);
        });
        tbody.appendChild(row);
      });
      ths.forEach(function (th) {
        th.setAttribute("aria-sort", th.getAttribute("data-key") === sortKey ? (sortDir > 0 ? "ascending" : "descending") : "none");
      });
      var pages = matched === null ? (hasMore ? page + 1 : page) : Math.max(1, Math.ceil(matched / PAGE));
      count.textContent = matched === null ? (hasMore ? "more than " : "") + ((page - 1) * PAGE + list.length) + " of " + total + " rows" : matched + " of " + total + " rows";
      itemNote.textContent = item ? "item: " + item + " " : "";
      if (item) {
        var clear = el("a", { href: "#", "class": "clear-item" }, "(show all)");
        clear.addEventListener("click", function (e) { e.preventDefault(); item = ""; page = 1; run(); });
        itemNote.appendChild(clear);
      }
      pager.textContent = "";
      if (more) more.hidden = true;
      if (pages > 1) {
        var prev = el("button", { type: "button" }, "‹ Previous");
        prev.disabled = page <= 1;
        prev.addEventListener("click", function () { page--; run(); });
        var next = el("button", { type: "button" }, "Next ›");
        next.disabled = page >= pages;
        next.addEventListener("click", function () { page++; run(); });
        pager.appendChild(prev);
        pager.appendChild(el("span", null, " page " + page + (matched === null ? " " : " of " + pages + " ")));
        pager.appendChild(next);
      }
    }
    function run() {
      var mine = ++serial;
      var st = { q: q.value, item: item, page: page > 1 ? page : "", sort: sortKey, dir: sortKey && sortDir < 0 ? "desc" : "" };
      selects.forEach(function (f) { st["f." + f.key] = f.s.value; });
      writeHash(st);
      if (needsServer()) { count.textContent = "Sorting, filtering and paging need the site served over HTTP (python -m generator preview site)."; return; }
      root.setAttribute("data-busy", "1");
      openDb().then(function (worker) {
        var conds = conditions();
        var key = sortKey || spec.key;
        var dir = sortDir > 0 ? "ASC" : "DESC";
        var order = (spec.order[key] || spec.key) + " " + dir + ", id " + dir;  // indexes end in the id
        var cols = (spec.url ? spec.cols : spec.cols.concat(["url"])).join(", ");
        var base = "SELECT " + cols + " FROM " + spec.table;
        var idx = spec.index[key] ? " INDEXED BY " + spec.index[key] : "";  // (by id: the table itself)
        var offset = (page - 1) * PAGE;
        if (!conds.length) {
          return rows(worker, base + idx + " WHERE dataset = ? ORDER BY " + order + " LIMIT " + PAGE + " OFFSET " + offset, [dataset])
            .then(function (list) { return { list: list, matched: total }; });
        }
        // Each filter's ids, at most CAP + 1 of them (an index range or a full-text list).
        return Promise.all(conds.map(function (c) { return rows(worker, "SELECT id FROM (" + c.ids + ") LIMIT " + (CAP + 1), c.idsParams); })).then(function (sets) {
          var small = [], capped = [];
          sets.forEach(function (s, i) {
            var ids = {};
            s.forEach(function (r) { if (r.id >= idLo && r.id <= idHi) ids[r.id] = 1; });
            (s.length > CAP ? capped : small).push({ c: conds[i], ids: ids });
          });
          var scan = function (known) {
            // the sort's index read in order, each row tested, until a page is full
            // (every test is an index probe by id: no row is read before it passes)
            var sql = base + idx + " WHERE dataset = ? AND " + conds.map(function (c) { return c.check.replace(/\{ID\}/g, spec.table + ".id"); }).join(" AND ");
            var params = [dataset];
            conds.forEach(function (c) { params.push.apply(params, c.params); });
            return rows(worker, sql + " ORDER BY " + order + " LIMIT " + (PAGE + 1) + " OFFSET " + offset, params)
              .then(function (list) { return { list: list.slice(0, PAGE), matched: known, more: list.length > PAGE }; });
          };
          if (!small.length) return scan(null);  // every filter matches many rows
          // Candidates: the smallest list, kept where every other short list has them too; the
          // filters with long lists are tested per candidate (index probes, no rows read).
          small.sort(function (a, b) { return Object.keys(a.ids).length - Object.keys(b.ids).length; });
          var cand = Object.keys(small[0].ids).filter(function (id) { return small.every(function (s) { return s.ids[id]; }); }).map(Number);
          var checked = !capped.length || !cand.length ? Promise.resolve(cand) :
            rows(worker, "WITH c(id) AS (VALUES " + cand.map(function () { return "(?)"; }).join(",") + ") SELECT id FROM c WHERE " +
              capped.map(function (s) { return s.c.check.replace(/\{ID\}/g, "c.id"); }).join(" AND "),
              cand.concat.apply(cand, capped.map(function (s) { return s.c.params; }))).then(function (r) { return r.map(function (x) { return x.id; }); });
          if (!isFinite(idLo)) {  // no id range (findings): keep this dataset's own
            checked = checked.then(function (ids) {
              if (!ids.length) return ids;
              return rows(worker, "SELECT id FROM " + spec.table + " WHERE id IN (" + ids.map(function () { return "?"; }).join(",") + ") AND dataset = ?", ids.concat([dataset]))
                .then(function (r) { return r.map(function (x) { return x.id; }); });
            });
          }
          return checked.then(function (ids) {
            var m = ids.length;
            // few matches: their rows read by id and sorted; many: the index scan, which reads
            // about PAGE * total / m index entries
            if (m * ROW_COST > (PAGE * total / Math.max(m, 1)) * ENTRY_COST) return scan(m);
            if (!m) return { list: [], matched: 0 };
            return rows(worker, base + " WHERE id IN (" + ids.map(function () { return "?"; }).join(",") + ") ORDER BY " + order + " LIMIT " + PAGE + " OFFSET " + offset, ids)
              .then(function (list) { return { list: list, matched: m }; });
          });
        });
      }).then(function (res) {
        if (mine !== serial) return;
        render(res.list, res.matched, res.more);
        root.setAttribute("data-busy", "0");
        root.setAttribute("data-done", String(parseInt(root.getAttribute("data-done") || "0", 10) + 1));
      }).catch(function (err) {
        if (mine !== serial) return;
        count.textContent = "Could not query the table: " + err.message;
        root.setAttribute("data-busy", "0");
      });
    }
    var timer = null;
    q.addEventListener("input", function () { clearTimeout(timer); page = 1; timer = setTimeout(run, 150); });
    selects.forEach(function (f) { f.s.addEventListener("change", function () { page = 1; run(); }); });
    window.addEventListener("hashchange", function () {
      var h = readHash();
      if (kind === "examples" && h.item !== undefined && h.item !== item) { item = h.item; page = 1; run(); }
    });
    root.setAttribute("data-ready", "1");
    if (q.value || item || sortKey || page > 1 || selects.some(function (f) { return f.s.value; })) run();
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
    setupSearch();
    document.querySelectorAll(".datatable[data-kind]").forEach(setupDataTable);
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
