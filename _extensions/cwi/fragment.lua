-- {{< fragment NAME >}}: the generated markdown block NAME, read at render time.
--
-- `cwi pre-render` writes each fragment to <folder>/NAME.md (in the results store) and names the
-- folder in the project's _variables.yml as `cwi_fragments_dir` (relative to the project root
-- or absolute); the environment variable CWI_FRAGMENTS_DIR overrides it. `cwi build` resolves
-- the same shortcode in Python (cwi/site/render.py), so both renderers show the same content.
-- Unlike {{< include >}}, this runs after the pre-render hook, so a fresh clone renders.

local function project_dir()
  if quarto.project ~= nil and quarto.project.directory ~= nil then
    return quarto.project.directory
  end
  return "."
end

local function is_absolute(path)
  return path:sub(1, 1) == "/" or path:match("^%a:[/\\]") ~= nil
end

local function fragments_dir()
  local root = project_dir()
  local dir = os.getenv("CWI_FRAGMENTS_DIR")
  if dir == nil or dir == "" then
    local f = io.open(root .. "/_variables.yml", "r")
    if f ~= nil then
      for line in f:lines() do
        local value = line:match("^cwi_fragments_dir:%s*(.-)%s*$")
        if value ~= nil then
          -- yaml.safe_dump quotes a string only when it must; undo single or double quotes
          dir = value:match("^'(.*)'$") or value:match('^"(.*)"$') or value
          dir = dir:gsub("''", "'")
          break
        end
      end
      f:close()
    end
  end
  if dir == nil or dir == "" then
    error("fragment: _variables.yml has no cwi_fragments_dir; run `cwi pre-render` first")
  end
  if is_absolute(dir) then
    return dir
  end
  return root .. "/" .. dir
end

return {
  ["fragment"] = function(args, kwargs, meta)
    local name = pandoc.utils.stringify(args[1])
    if not name:match("^[%w_%-]+[%w_%-/]*$") or name:match("%.%.") then
      error("fragment: bad fragment name '" .. name .. "'")
    end
    local path = fragments_dir() .. "/" .. name .. ".md"
    local f = io.open(path, "r")
    if f == nil then
      error("fragment: " .. path .. " not found; run `cwi pre-render` first")
    end
    local text = f:read("a")
    f:close()
    -- read as Quarto markdown and run Quarto's normalisation, so tabsets, figures and
    -- cross-references in a fragment behave as if they were written in the page itself
    return quarto.utils.string_to_blocks(text)
  end
}
