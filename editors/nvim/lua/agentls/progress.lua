-- The runs' work-done progress (LspProgress) as vim.notify messages, and the runs' state.
local M = {}

local agentls = require("agentls")

-- The server's tokens are "agentls-<runId>-<suffix>".
function M.run_id(token)
  return tostring(token):match("^agentls%-(%x+)%-")
end

local function titled(title, text)
  title = title or "agentls"
  if not title:match("^agentls") then
    title = "agentls: " .. title
  end
  return text and text ~= "" and (title .. ": " .. text) or title
end

--- How a run ended, from its end message: "<workflow>: <status>, ..." (the run's summary,
--- then "; " and what happened to the edits), or "cancelled", or "failed: <why>".
function M.outcome(message)
  message = message or ""
  local status = message:match("^(cancelled)")
    or message:match("^(failed)")
    or message:match(": (%a+), %d+ iterations?, ")
    or "ok"
  if status == "failed" then
    return "failed", vim.log.levels.ERROR
  elseif status == "cancelled" then
    return "cancelled", vim.log.levels.WARN
  elseif status == "partial" or message:find("not applied", 1, true) then
    return status, vim.log.levels.WARN
  end
  return status, vim.log.levels.INFO
end

--- The end message as shown: a summary names its workflow, "cancelled" and "failed" do not.
function M.end_text(title, message)
  if not message or message == "" then
    return titled(title, "done")
  end
  if message:match("^cancelled") or message:match("^failed") then
    return titled(title, message)
  end
  return "agentls: " .. message
end

local function show(text, level)
  local handlers = require("agentls.handlers")
  vim.notify(handlers.humanize(text), level or vim.log.levels.INFO, { title = "agentls" })
end

local function notify(text, level)
  -- Scheduled: an error notified inside an autocmd gets "Error detected while processing
  -- LspProgress Autocommands" above it, as if the plugin had failed.
  vim.schedule(function()
    show(text, level)
  end)
end

local last_shown = {} -- token -> vim.uv.now() of the last message shown

local function on_progress(event)
  local client = vim.lsp.get_client_by_id(event.data.client_id)
  if not client or client.name ~= "agentls" then
    return
  end
  local params = event.data.params or {}
  local value = params.value
  if type(value) ~= "table" then
    return
  end
  local token = tostring(params.token)
  local run_id = M.run_id(token)
  local options = agentls.options.progress
  local now = vim.uv.now()
  if value.kind == "begin" then
    if run_id then
      agentls.track(run_id, {
        title = value.title,
        status = "running",
        client_id = client.id,
        token = token,
        percentage = value.percentage,
      })
    end
    last_shown[token] = now
    if options then
      notify(titled(value.title, "started" .. (run_id and (" (run " .. run_id .. ")") or "")))
    end
  elseif value.kind == "report" then
    local run = run_id and agentls.runs[run_id]
    if run then
      run.message = value.message or run.message
      run.percentage = value.percentage or run.percentage
    end
    local throttle = options and (options.throttle_ms or 2000) or nil
    if throttle and value.message and now - (last_shown[token] or 0) >= throttle then
      last_shown[token] = now
      notify(titled(value.title, value.message))
    end
  elseif value.kind == "end" then
    last_shown[token] = nil
    require("agentls.handlers").ended(value.message or "")
    local status, level = M.outcome(value.message)
    local run = run_id and agentls.runs[run_id]
    if run then
      run.status = status
      run.message = value.message
      run.percentage = nil
    end
    local text = options and M.end_text(value.title, value.message)
    vim.schedule(function() -- after the end's notification (as with every message here)
      if text then
        show(text, level)
      end
      if run then
        vim.api.nvim_exec_autocmds("User", { pattern = "AgentlsRunDone", data = run })
      end
      if run_id then
        require("agentls.review").refresh_run(run_id)
      end
      require("agentls.runs").refresh_if_shown()
    end)
  end
end

function M.watch()
  vim.api.nvim_create_autocmd("LspProgress", {
    group = vim.api.nvim_create_augroup("agentls-progress", { clear = true }),
    callback = on_progress,
  })
end

return M
