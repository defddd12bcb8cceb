/* CWI site search: lunr over an index built at build time (site_libs/search-index.json) and the
   page texts (search.json). Runs entirely in the browser: no server. */
(function () {
  "use strict";
  var base = document.currentScript.getAttribute("data-root") || "";
  function el(tag, text) { var e = document.createElement(tag); if (text) { e.textContent = text; } return e; }
  function snippet(text, terms) {
    var lower = text.toLowerCase(), at = -1;
    terms.some(function (t) { at = lower.indexOf(t); return at >= 0; });
    var start = Math.max(0, at - 60);
    return (start > 0 ? "… " : "") + text.slice(start, start + 200) + (text.length > start + 200 ? " …" : "");
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("search-form"), input = document.getElementById("search-input");
    var status = document.getElementById("search-status"), list = document.getElementById("search-results");
    if (!form || typeof lunr === "undefined") { return; }
    var ready = Promise.all([
      fetch(base + "site_libs/search-index.json").then(function (r) { return r.json(); }),
      fetch(base + "search.json").then(function (r) { return r.json(); })
    ]).then(function (data) {
      var docs = {};
      data[1].forEach(function (d) { docs[d.href] = d; });
      return { index: lunr.Index.load(data[0]), docs: docs };
    });
    function run(query) {
      ready.then(function (s) {
        var terms = lunr.tokenizer(query).map(function (t) { return t.toString(); })
          .filter(function (t) { return lunr.stopWordFilter(new lunr.Token(t)) !== undefined; });
        list.textContent = "";
        if (!terms.length) { status.textContent = "Type a word to search for."; return; }
        var hits = s.index.query(function (q) {
          terms.forEach(function (t) {
            var stem = lunr.stemmer(new lunr.Token(t)).toString();
            q.term(stem, { usePipeline: false, wildcard: lunr.Query.wildcard.TRAILING, presence: lunr.Query.presence.REQUIRED });
          });
        });
        status.textContent = hits.length + (hits.length === 1 ? " page matches " : " pages match ") + "\u201c" + query + "\u201d.";
        hits.slice(0, 30).forEach(function (hit) {
          var doc = s.docs[hit.ref], li = el("li"), a = el("a", doc.title);
          a.href = base + doc.href;
          li.appendChild(a);
          li.appendChild(el("p", snippet(doc.text, terms)));
          list.appendChild(li);
        });
      }).catch(function () { status.textContent = "Search could not load its index."; });
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      history.replaceState(null, "", "?q=" + encodeURIComponent(input.value));
      run(input.value);
    });
    var q = new URLSearchParams(window.location.search).get("q");
    if (q) { input.value = q; run(q); }
  });
})();
