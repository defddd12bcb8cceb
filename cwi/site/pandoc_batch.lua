-- Convert many markdown documents to HTML fragments in one pandoc process (`pandoc lua`).
-- stdin: a JSON list of {"from": reader format, "text": markdown}; stdout: a JSON list of the
-- HTML fragments, in order. Each document is read and written as `pandoc -f FROM -t html5
-- --wrap=none` does (cwi.site.render._pandoc); Python adds the final newline the command
-- line writes and sends here only text without tabs or carriage returns (which the command
-- line would rewrite before reading).
-- The command line's defaults that differ from the Lua ones: 72 columns (pipe tables wider
-- than that get relative column widths).
local read_opts = { columns = 72 }
local write_opts = { wrap_text = "none", columns = 72 }
local jobs = pandoc.json.decode(io.read("a"), false)
local out = {}
for i, job in ipairs(jobs) do
  out[i] = pandoc.write(pandoc.read(job.text, job.from, read_opts), "html5", write_opts)
end
io.write(pandoc.json.encode(out))
