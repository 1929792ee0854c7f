-- Handlers the agentls client uses instead of Neovim's defaults.
local M = {}

local levels = {
  [1] = vim.log.levels.ERROR,
  [2] = vim.log.levels.WARN,
  [3] = vim.log.levels.INFO,
  [4] = vim.log.levels.DEBUG,
}

-- The server tells some things twice: a failed command is shown (window/showMessage) and
-- answered with the error; a run's failure or refused edit is shown and is in the run's end
-- message. One notification is enough: warnings and errors wait a moment, and are dropped if
-- the end of a run or an answer says the same.
local recent = {} -- { text, at }: texts notified (or in a run's end) lately
local pending = {} -- showMessage notifications waiting: entry -> true
local WAIT_MS = 250
local KEEP_MS = 10000

--- A server message as a Neovim user reads it: the server names the editors' commands as
--- VS Code titles them.
function M.humanize(text)
  return (
    text
      :gsub("agentls%.showRun", ":AgentReport")
      :gsub("Apply run", ":AgentApply")
      :gsub("review them %(", "review them (:AgentReview, ")
      :gsub("review them$", "review them with :AgentReview")
  )
end

local function show(message, level)
  if not message:match("^agentls") then
    message = "agentls: " .. message
  end
  vim.notify(M.humanize(message), level, { title = "agentls" })
end

local function remember(text)
  local now = vim.uv.now()
  table.insert(recent, { text = text, at = now })
  while recent[1] and now - recent[1].at > KEEP_MS do
    table.remove(recent, 1)
  end
end

local function covered(text)
  for _, entry in ipairs(recent) do
    if vim.uv.now() - entry.at <= KEEP_MS and entry.text:find(text, 1, true) then
      return true
    end
  end
  return false
end

--- What a server message says past its "<run title>: " or "agentls: ".
local function gist(message)
  for _, run in pairs(require("agentls").runs) do
    if run.title and vim.startswith(message, run.title .. ": ") then
      return message:sub(#run.title + 3)
    end
  end
  return (message:gsub("^agentls: ", ""))
end

--- A run ended with `message` (shown by progress.lua): drop what it repeats.
function M.ended(message)
  remember(message)
  for entry in pairs(pending) do
    if message:find(entry.gist, 1, true) then
      pending[entry] = nil
    end
  end
end

--- An error answered to a request: shown unless the server shows it already.
function M.error(message)
  for entry in pairs(pending) do
    if entry.gist == message then
      return
    end
  end
  if covered(message) then
    return
  end
  remember(message)
  show(message, vim.log.levels.ERROR)
end

local function buffer_of(uri)
  local bufnr = vim.fn.bufnr(vim.uri_to_fname(uri))
  if bufnr > 0 and vim.api.nvim_buf_is_loaded(bufnr) then
    return bufnr
  end
end

--- The first document of `edit` that changed in the editor since the server's version of it.
local function stale(edit)
  for _, change in ipairs(edit.documentChanges or {}) do
    local document = change.textDocument
    local version = document and document.version
    -- (Neovim's own check skips version 0, the version of a buffer not changed since opened.)
    if type(version) == "number" then
      local bufnr = buffer_of(document.uri)
      local current = bufnr and vim.lsp.util.buf_versions[bufnr]
      if current and current > version then
        return vim.uri_to_fname(document.uri), version, current
      end
    end
  end
end

local function close_undo_blocks(buffers)
  for bufnr in pairs(buffers) do
    vim.api.nvim_buf_call(bufnr, function()
      vim.go.undolevels = vim.go.undolevels -- :help undo-break
    end)
  end
end

--- An insertion at the end of a file comes as a range past its last line (line = the line
--- count). Neovim's apply_text_edits appends its lines with nvim_buf_set_lines, so the text's
--- final newline would become an extra empty line: it is dropped (the buffer's last line
--- ends with a newline of its own).
local function fix_end_of_file_insertions(edit)
  local function fix(uri, edits)
    local bufnr = vim.uri_to_bufnr(uri)
    vim.fn.bufload(bufnr)
    local count = vim.api.nvim_buf_line_count(bufnr)
    for _, text_edit in ipairs(edits or {}) do
      local range = text_edit.range
      if
        range
        and range.start.line >= count
        and range["end"].line >= count
        and vim.endswith(text_edit.newText or "", "\n")
      then
        text_edit.newText = text_edit.newText:sub(1, -2)
      end
    end
  end
  for _, change in ipairs(edit.documentChanges or {}) do
    if change.textDocument and change.edits then
      fix(change.textDocument.uri, change.edits)
    end
  end
  for uri, edits in pairs(edit.changes or {}) do
    fix(uri, edits)
  end
end

M.handlers = {
  -- Neovim's own handler drops an edit for a buffer that changed since (you typed while the
  -- agents ran and the change had not reached the server yet), yet answers "applied"; and it
  -- checks only the first document. This refuses the whole edit instead, so the server
  -- says so and keeps the proposal (:AgentReport). Your keystrokes are never overwritten.
  ["workspace/applyEdit"] = function(_, params, ctx)
    local client = vim.lsp.get_client_by_id(ctx.client_id)
    if not client then
      return { applied = false, failureReason = "the client has stopped" }
    end
    local path = stale(params.edit)
    if path then
      return {
        applied = false,
        failureReason = vim.fn.fnamemodify(path, ":~:.")
          .. " changed in the editor after the server made the edit",
      }
    end
    -- The edit is an undo block of its own: not joined to what you typed just before (in
    -- Insert mode, say), nor to what you type next.
    local buffers = {}
    for _, change in ipairs(params.edit.documentChanges or {}) do
      local bufnr = change.textDocument and buffer_of(change.textDocument.uri)
      if bufnr then
        buffers[bufnr] = true
      end
    end
    for uri in pairs(params.edit.changes or {}) do
      local bufnr = buffer_of(uri)
      if bufnr then
        buffers[bufnr] = true
      end
    end
    close_undo_blocks(buffers)
    pcall(fix_end_of_file_insertions, params.edit)
    local ok, result = pcall(vim.lsp.util.apply_workspace_edit, params.edit, client.offset_encoding)
    close_undo_blocks(buffers)
    if not ok then
      return { applied = false, failureReason = tostring(result) }
    end
    return { applied = true }
  end,

  ["workspace/codeLens/refresh"] = function(...)
    return require("agentls.lenses").on_refresh(...)
  end,

  -- vim.notify instead of :echo and :echoerr, so notification plugins show them.
  ["window/showMessage"] = function(_, params)
    local level = levels[params.type] or vim.log.levels.INFO
    local message = params.message or ""
    local entry = { gist = gist(message) }
    if covered(entry.gist) then
      return vim.NIL
    end
    if level < vim.log.levels.WARN then
      show(message, level)
      return vim.NIL
    end
    pending[entry] = true
    vim.defer_fn(function()
      if pending[entry] then
        pending[entry] = nil
        remember(message)
        show(message, level)
      end
    end, WAIT_MS)
    return vim.NIL
  end,
}

return M
