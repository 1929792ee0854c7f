-- User commands: each calls one of the server's workspace/executeCommand commands.
local M = {}

local agentls = require("agentls")
local levels = vim.log.levels

--- The argument object for a buffer and a command's range: `{uri, range?}`. A range that
--- covers the whole buffer, or none, leaves `range` out (the whole document).
function M.target(opts, bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local argument = { uri = vim.uri_from_bufnr(bufnr) }
  if opts and (opts.range or 0) > 0 then
    local last = vim.api.nvim_buf_line_count(bufnr)
    if not (opts.line1 <= 1 and opts.line2 >= last) then
      argument.range = { start = opts.line1, ["end"] = opts.line2 }
    end
  end
  return argument
end

local function file_buffer()
  local bufnr = vim.api.nvim_get_current_buf()
  if vim.bo[bufnr].buftype ~= "" or vim.api.nvim_buf_get_name(bufnr) == "" then
    agentls.notify("run this in a buffer of a file (save it first)", levels.ERROR)
    return nil
  end
  return bufnr
end

local function started(title)
  return function(result, client)
    if type(result) == "table" and result.runId then
      local run = agentls.runs[result.runId]
      agentls.track(result.runId, {
        title = (run and run.title) or title,
        status = "running",
        client_id = client.id,
      })
    end
  end
end

--- The client that ran `run_id` (or any agentls client).
local function run_client(run_id)
  local run = run_id and agentls.runs[run_id]
  local client = run and run.client_id and vim.lsp.get_client_by_id(run.client_id)
  return client or agentls.client(0, { any = true })
end

--- Show `lines` in a scratch buffer named `name` (reused), in a split.
function M.scratch(name, lines, filetype)
  local bufnr
  for _, candidate in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(candidate) == name then
      bufnr = candidate
    end
  end
  if not bufnr then
    bufnr = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(bufnr, name)
    vim.bo[bufnr].bufhidden = "wipe"
    vim.keymap.set("n", "q", "<cmd>close<cr>", { buffer = bufnr, nowait = true })
  end
  vim.bo[bufnr].modifiable = true
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.bo[bufnr].modifiable = false
  vim.bo[bufnr].filetype = filetype or "markdown"
  local window = vim.fn.bufwinid(bufnr)
  if window == -1 then
    vim.cmd("botright split")
    vim.api.nvim_win_set_buf(0, bufnr)
  else
    vim.api.nvim_set_current_win(window)
  end
  return bufnr
end

--- The server's workflow names (for completion).
function M.workflow_names()
  local client = agentls.client(0, { any = true })
  if not client then
    return {}
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local file = vim.bo[bufnr].buftype == "" and vim.api.nvim_buf_get_name(bufnr) ~= ""
  local argument = file and { uri = vim.uri_from_bufnr(bufnr) } or vim.empty_dict()
  local response = agentls.request_sync(client, "workspace/executeCommand", {
    command = "agentls.listWorkflows",
    arguments = { argument },
  }, 3000, bufnr)
  local names = {}
  for _, workflow in ipairs((response and response.result) or {}) do
    table.insert(names, workflow.name)
  end
  return names
end

local function completer(list)
  return function(lead)
    return vim.tbl_filter(function(item)
      return vim.startswith(item, lead)
    end, list())
  end
end

local function all_runs()
  local ids = vim.tbl_keys(agentls.runs)
  table.sort(ids)
  return ids
end

function M.run(opts)
  local bufnr = file_buffer()
  if not bufnr then
    return
  end
  local argument = M.target(opts, bufnr)
  if opts.args ~= "" then
    argument.workflow = opts.args
  end
  agentls.execute(
    "agentls.runWorkflow",
    argument,
    started("agentls: " .. (argument.workflow or "workflow"))
  )
end

function M.task(task)
  return function(opts)
    local bufnr = file_buffer()
    if not bufnr then
      return
    end
    local argument = M.target(opts, bufnr)
    argument.task = task
    if opts.args and opts.args ~= "" then
      argument.instruction = opts.args
    end
    agentls.execute("agentls.runTask", argument, started("agentls: " .. task))
  end
end

function M.follow_up(opts)
  local run_id = agentls.last_run
  if not run_id then
    agentls.notify("no run yet in this session to follow up", levels.WARN)
    return
  end
  local argument = { runId = run_id, message = opts.args }
  agentls.execute("agentls.followUp", argument, started("agentls: follow-up"), {
    client = run_client(run_id),
    any = true,
  })
end

function M.cancel(opts)
  local ids = opts.args ~= "" and { opts.args } or agentls.running()
  if #ids == 0 then
    agentls.notify("no run is going")
    return
  end
  for _, id in ipairs(ids) do
    agentls.execute("agentls.cancel", { runId = id }, function(result)
      if result and result.cancelled then
        agentls.notify("cancelling run " .. id)
      else
        agentls.notify("run " .. id .. " had already ended")
        if agentls.runs[id] and agentls.runs[id].status == "running" then
          agentls.runs[id].status = "ended"
        end
      end
    end, { client = run_client(id), any = true })
  end
end

function M.agents()
  local bufnr = vim.api.nvim_get_current_buf()
  local file = vim.bo[bufnr].buftype == "" and vim.api.nvim_buf_get_name(bufnr) ~= ""
  local argument = file and { uri = vim.uri_from_bufnr(bufnr) } or vim.empty_dict()
  agentls.execute("agentls.listAgents", argument, function(agents)
    local lines = { "# agentls agents", "" }
    for _, agent in ipairs(agents or {}) do
      local state = not agent.enabled and "disabled" or agent.ready and "ready" or "not ready"
      local version = type(agent.version) == "string" and (" " .. agent.version) or ""
      local binary = type(agent.binary) == "string" and (" — " .. agent.binary) or ""
      table.insert(
        lines,
        string.format("- %s (%s): %s%s%s", agent.name, agent.adapter, state, version, binary)
      )
      for _, problem in ipairs(agent.problems or {}) do
        table.insert(lines, "  - to fix: " .. problem)
      end
      for _, note in ipairs(agent.notes or {}) do
        table.insert(lines, "  - note: " .. note)
      end
    end
    M.scratch("agentls://agents", lines)
  end, { any = not file })
end

function M.report(opts)
  local run_id = opts.args ~= "" and opts.args or agentls.last_run
  if not run_id then
    agentls.notify("no run yet in this session", levels.WARN)
    return
  end
  agentls.execute("agentls.showRun", { runId = run_id }, function(report)
    local lines = vim.split(vim.trim(report.markdown or ""), "\n", { plain = true })
    if type(report.reportUri) == "string" then
      vim.list_extend(
        lines,
        { "", "<!-- saved as " .. vim.uri_to_fname(report.reportUri) .. " -->" }
      )
    end
    M.scratch("agentls://run/" .. run_id, lines)
  end, { client = run_client(run_id), any = true })
end

function M.clear(opts)
  local argument = vim.empty_dict()
  local bufnr = vim.api.nvim_get_current_buf()
  if not opts.bang and vim.bo[bufnr].buftype == "" and vim.api.nvim_buf_get_name(bufnr) ~= "" then
    argument = { uri = vim.uri_from_bufnr(bufnr) }
  end
  agentls.execute("agentls.clearDiagnostics", argument, nil, { any = true })
end

function M.define()
  local command = vim.api.nvim_create_user_command
  command("AgentRun", M.run, {
    range = "%",
    nargs = "?",
    complete = completer(M.workflow_names),
    desc = "agentls: run a workflow on the lines (default: the whole buffer)",
  })
  command("AgentReview", M.task("review"), {
    range = "%",
    desc = "agentls: review the lines (findings become diagnostics)",
  })
  command("AgentImplement", M.task("implement"), {
    range = "%",
    nargs = "*",
    desc = "agentls: implement [instruction] on the lines",
  })
  command("AgentFollowUp", M.follow_up, {
    nargs = "+",
    desc = "agentls: continue the last run with a message",
  })
  command("AgentCancel", M.cancel, {
    nargs = "?",
    complete = completer(agentls.running),
    desc = "agentls: cancel a run (default: every run still going)",
  })
  command("AgentAgents", M.agents, { desc = "agentls: the agents and what they need" })
  command("AgentReport", M.report, {
    nargs = "?",
    complete = completer(all_runs),
    desc = "agentls: a run's report (default: the last run)",
  })
  command("AgentClear", M.clear, {
    bang = true,
    desc = "agentls: clear the review diagnostics of the buffer (! every buffer)",
  })
end

return M
