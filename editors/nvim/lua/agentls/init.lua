-- agentls for Neovim: the language server registered with vim.lsp, user commands that call
-- its workspace/executeCommand commands, and progress shown with vim.notify.
local M = {}

M.defaults = {
  cmd = { "agentls", "serve" },
  filetypes = nil, -- every filetype
  root_markers = { ".agentls.yaml", ".git" },
  settings = {}, -- e.g. { applyMode = "apply", defaultWorkflow = "offline" }
}
M.options = vim.deepcopy(M.defaults)
M.runs = {} -- runId -> { title = ..., done = bool }
M.last_run = nil

local function client_for(bufnr)
  local clients = vim.lsp.get_clients({ bufnr = bufnr or 0, name = "agentls" })
  return clients[1]
end

local function notify(message, level)
  vim.notify("agentls: " .. message, level or vim.log.levels.INFO)
end

--- Run a server command; `on_result(result)` gets the answer.
function M.execute(command, argument, on_result, bufnr)
  local client = client_for(bufnr)
  if not client then
    notify("the server is not attached to this buffer (see :checkhealth agentls)", vim.log.levels.ERROR)
    return
  end
  local params = { command = command, arguments = { argument } }
  client:request("workspace/executeCommand", params, function(err, result)
    if err then
      notify(err.message or tostring(err), vim.log.levels.ERROR)
      return
    end
    if on_result then
      on_result(result)
    end
  end, bufnr or 0)
end

--- The argument object for the current buffer and an optional line range.
function M.target(opts)
  local bufnr = vim.api.nvim_get_current_buf()
  local argument = { uri = vim.uri_from_bufnr(bufnr) }
  if opts and opts.range and opts.range > 0 then
    local last = vim.api.nvim_buf_line_count(bufnr)
    if not (opts.line1 == 1 and opts.line2 == last) then
      argument.range = { start = opts.line1, ["end"] = opts.line2 }
    end
  end
  return argument
end

local function started(title)
  return function(result)
    if result and result.runId then
      M.runs[result.runId] = { title = title, done = false }
      M.last_run = result.runId
      notify(title .. " started (" .. result.runId .. ")")
    end
  end
end

local function scratch(lines, filetype)
  vim.cmd("botright new")
  local bufnr = vim.api.nvim_get_current_buf()
  vim.bo[bufnr].buftype = "nofile"
  vim.bo[bufnr].bufhidden = "wipe"
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.bo[bufnr].filetype = filetype or "markdown"
  return bufnr
end

function M.workflow_names(bufnr)
  local client = client_for(bufnr)
  if not client then
    return {}
  end
  local params = { command = "agentls.listWorkflows", arguments = { { uri = vim.uri_from_bufnr(bufnr or 0) } } }
  local response = client:request_sync("workspace/executeCommand", params, 5000, bufnr or 0)
  local names = {}
  for _, workflow in ipairs((response and response.result) or {}) do
    table.insert(names, workflow.name)
  end
  return names
end

local function define_commands()
  local command = vim.api.nvim_create_user_command
  command("AgentRun", function(opts)
    local argument = M.target(opts)
    if opts.args ~= "" then
      argument.workflow = opts.args
    end
    M.execute("agentls.runWorkflow", argument, started("workflow " .. (argument.workflow or "(default)")))
  end, {
    range = "%",
    nargs = "?",
    complete = function()
      return M.workflow_names(0)
    end,
    desc = "agentls: run a workflow on the buffer or the range",
  })
  command("AgentReview", function(opts)
    local argument = M.target(opts)
    argument.task = "review"
    M.execute("agentls.runTask", argument, started("review"))
  end, { range = "%", desc = "agentls: review the buffer or the range" })
  command("AgentImplement", function(opts)
    local argument = M.target(opts)
    argument.task = "implement"
    if opts.args ~= "" then
      argument.instruction = opts.args
    end
    M.execute("agentls.runTask", argument, started("implement"))
  end, { range = "%", nargs = "*", desc = "agentls: implement [instruction]" })
  command("AgentFollowUp", function(opts)
    if not M.last_run then
      notify("no run yet in this session", vim.log.levels.WARN)
      return
    end
    M.execute("agentls.followUp", { runId = M.last_run, message = opts.args }, started("follow-up"))
  end, { nargs = "+", desc = "agentls: continue the last run" })
  command("AgentCancel", function(opts)
    local ids = {}
    if opts.args ~= "" then
      ids = { opts.args }
    else
      for id, run in pairs(M.runs) do
        if not run.done then
          table.insert(ids, id)
        end
      end
    end
    if #ids == 0 then
      notify("no run is going")
    end
    for _, id in ipairs(ids) do
      M.execute("agentls.cancel", { runId = id })
    end
  end, { nargs = "?", desc = "agentls: cancel the runs still going (or one)" })
  command("AgentAgents", function()
    M.execute("agentls.listAgents", { uri = vim.uri_from_bufnr(0) }, function(agents)
      local lines = { "# agentls agents", "" }
      for _, agent in ipairs(agents or {}) do
        local state = agent.ready and "ready" or (agent.enabled and "not ready" or "disabled")
        table.insert(lines, string.format("- %s (%s): %s %s", agent.name, agent.adapter, state, agent.version or ""))
        for _, problem in ipairs(agent.problems or {}) do
          table.insert(lines, "  - fix: " .. problem)
        end
      end
      scratch(lines)
    end)
  end, { desc = "agentls: the configured agents" })
  command("AgentReport", function(opts)
    local id = opts.args ~= "" and opts.args or M.last_run
    if not id then
      notify("no run yet in this session", vim.log.levels.WARN)
      return
    end
    M.execute("agentls.showRun", { runId = id }, function(report)
      scratch(vim.split(report.markdown or "", "\n"))
    end)
  end, { nargs = "?", desc = "agentls: the report of a run (default: the last)" })
end

local function watch_progress()
  vim.api.nvim_create_autocmd("LspProgress", {
    group = vim.api.nvim_create_augroup("agentls-progress", { clear = true }),
    callback = function(event)
      local client = vim.lsp.get_client_by_id(event.data.client_id)
      if not client or client.name ~= "agentls" then
        return
      end
      local value = event.data.params.value or {}
      local token = tostring(event.data.params.token)
      local run_id = token:match("^agentls%-(%x+)%-")
      if value.kind == "begin" then
        vim.notify(value.title or "agentls: run started", vim.log.levels.INFO)
      elseif value.kind == "end" then
        if run_id and M.runs[run_id] then
          M.runs[run_id].done = true
        end
        notify(value.message or "done")
      end
    end,
  })
end

function M.setup(options)
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), options or {})
  local config = {
    cmd = M.options.cmd,
    filetypes = M.options.filetypes,
    root_markers = M.options.root_markers,
    init_options = M.options.settings,
    settings = { agentls = M.options.settings },
  }
  if vim.lsp.config and vim.lsp.enable then -- Neovim 0.11+
    vim.lsp.config("agentls", config)
    vim.lsp.enable("agentls")
  else -- Neovim 0.10
    vim.api.nvim_create_autocmd("FileType", {
      group = vim.api.nvim_create_augroup("agentls-start", { clear = true }),
      callback = function(event)
        if config.filetypes and not vim.tbl_contains(config.filetypes, vim.bo[event.buf].filetype) then
          return
        end
        local root = vim.fs.root(event.buf, config.root_markers)
        vim.lsp.start(vim.tbl_extend("force", config, { name = "agentls", root_dir = root }), { bufnr = event.buf })
      end,
    })
  end
  define_commands()
  watch_progress()
end

return M
