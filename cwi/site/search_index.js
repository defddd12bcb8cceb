// Build the lunr index of the site at build time: node search_index.js <lunr dir> <docs.json> <out.json>
// docs.json is the site's search.json ([{href, title, text}, ...]); the serialised index is
// loaded in the browser by site_libs/search.js, so searching needs no server.
"use strict";
const fs = require("fs");
const [lunrDir, docsPath, outPath] = process.argv.slice(2);
const lunr = require(lunrDir);
const docs = JSON.parse(fs.readFileSync(docsPath, "utf8"));
const index = lunr(function () {
  this.ref("href");
  this.field("title", { boost: 10 });
  this.field("text");
  docs.forEach((doc) => this.add(doc));
});
fs.writeFileSync(outPath, JSON.stringify(index));
