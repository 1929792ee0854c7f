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
function M.run_client(run_id)
  local run = run_id and agentls.runs[run_id]
  local client = run and run.client_id and vim.lsp.get_client_by_id(run.client_id)
  return client or agentls.client(0, { any = true })
end

--- The buffer named `name` (e.g. agentls://runs), or nil.
function M.named_buffer(name)
  for _, candidate in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(candidate) == name then
      return candidate
    end
  end
end

--- Show `lines` in a scratch buffer named `name` (reused), in a split.
function M.scratch(name, lines, filetype)
  local bufnr = M.named_buffer(name)
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

--- A run on several files: the files of `folder` as git sees them, or with `changed` the
--- files changed since that revision. From the current buffer's server, else any.
local function run_on_files(workflow, folder, changed)
  local argument = { uri = vim.uri_from_fname(folder), changed = changed }
  if workflow and workflow ~= "" then
    argument.workflow = workflow
  end
  agentls.execute(
    "agentls.runWorkflow",
    argument,
    started("agentls: " .. (argument.workflow or "workflow")),
    { any = true }
  )
end

--- :AgentChanged [workflow] [revision]: what changed since the revision (HEAD).
function M.changed(opts)
  run_on_files(opts.fargs[1], vim.fn.getcwd(), opts.fargs[2] or "HEAD")
end

--- :AgentRunFolder [workflow] [folder]: every file of the folder (the current one).
function M.run_folder(opts)
  local folder = vim.fn.fnamemodify(opts.fargs[2] or vim.fn.getcwd(), ":p"):gsub("/$", "")
  run_on_files(opts.fargs[1], folder, nil)
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

--- Pick one of the server's runs that `wanted` accepts (agentls.listRuns, the newest first):
--- the only one, or one chosen with vim.ui.select; `on_run(run)` gets it. `none` is said
--- when there is none.
local function pick_run(wanted, prompt, none, on_run)
  agentls.execute("agentls.listRuns", vim.empty_dict(), function(listed)
    local runs = vim.tbl_filter(wanted, listed or {})
    if #runs == 0 then
      agentls.notify(none, levels.WARN)
    elseif #runs == 1 then
      on_run(runs[1])
    else
      vim.ui.select(runs, {
        prompt = prompt,
        format_item = function(run)
          return run.title .. " (" .. run.runId .. ")"
        end,
      }, function(run)
        if run then
          on_run(run)
        end
      end)
    end
  end, { any = true })
end

--- Continue the run `run_id` with `message` (a new turn of the same run).
function M.follow_up_run(run_id, message)
  local argument = { runId = run_id, message = message }
  agentls.execute("agentls.followUp", argument, started("agentls: follow-up"), {
    client = M.run_client(run_id),
    any = true,
  })
end

function M.follow_up(opts)
  pick_run(function(run)
    return run.followable
  end, "Follow up on which run?", "no finished run to follow up on yet", function(run)
    M.follow_up_run(run.runId, opts.args)
  end)
end

--- Reverse what the run `run_id` applied (or what was accepted of its proposal), keeping
--- the edits made since elsewhere in its files.
function M.undo_run(run_id)
  agentls.execute("agentls.undoRun", { runId = run_id }, function(result)
    result = result or {}
    local undone = result.undone or {}
    local note = type(result.note) == "string" and result.note ~= "" and result.note
      or (#undone > 0 and ("undid run " .. run_id .. " in " .. table.concat(undone, ", ")))
      or ("run " .. run_id .. " had nothing to undo")
    agentls.notify(note)
    require("agentls.review").refresh_all()
    require("agentls.runs").refresh_if_shown()
  end, { client = M.run_client(run_id), any = true })
end

--- :AgentUndo [runId]: the run given, or the only run with changes applied, or one picked.
function M.undo(opts)
  if opts.args ~= "" then
    M.undo_run(opts.args)
    return
  end
  pick_run(function(run)
    return run.state == "applied" or run.state == "partly applied"
  end, "Undo which run's changes?", "no run has changes applied to undo", function(run)
    M.undo_run(run.runId)
  end)
end

local function apply_run(run_id)
  agentls.execute("agentls.applyRun", { runId = run_id }, function(result)
    if result and result.applied then
      agentls.notify(result.note)
    end
  end, { client = M.run_client(run_id), any = true })
end

function M.apply(opts)
  if opts.args ~= "" then
    apply_run(opts.args)
    return
  end
  pick_run(function(run)
    return run.applicable
  end, "Apply which run's changes?", "no run has changes left to apply", function(run)
    apply_run(run.runId)
  end)
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
    end, { client = M.run_client(id), any = true })
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
    local markdown = require("agentls.handlers").humanize(vim.trim(report.markdown or ""))
    local lines = vim.split(markdown, "\n", { plain = true })
    if type(report.reportUri) == "string" then
      vim.list_extend(
        lines,
        { "", "<!-- saved as " .. vim.uri_to_fname(report.reportUri) .. " -->" }
      )
    end
    M.scratch("agentls://run/" .. run_id, lines)
  end, { client = M.run_client(run_id), any = true })
end

--- :AgentRerun [runId]: the run's workflow or task again on the same lines, every agent
--- asked afresh, not answered from the cache (default: the last run).
function M.rerun(opts)
  local run_id = opts.args ~= "" and opts.args or agentls.last_run
  if not run_id then
    agentls.notify("no run yet in this session to run again", levels.WARN)
    return
  end
  agentls.execute(
    "agentls.rerun",
    { runId = run_id, noCache = true },
    started("agentls: run again"),
    { client = M.run_client(run_id), any = true }
  )
end

function M.clear(opts)
  local argument = vim.empty_dict()
  local bufnr = vim.api.nvim_get_current_buf()
  if not opts.bang and vim.bo[bufnr].buftype == "" and vim.api.nvim_buf_get_name(bufnr) ~= "" then
    argument = { uri = vim.uri_from_bufnr(bufnr) }
  end
  agentls.execute("agentls.clearDiagnostics", argument, nil, { any = true })
end

--- Each run's latest progress, as one notification.
local function show_progress(ids)
  local lines = {}
  for _, id in ipairs(ids) do
    local run = agentls.runs[id] or {}
    local percent = run.percentage and (" " .. run.percentage .. "%") or ""
    table.insert(
      lines,
      string.format("%s (run %s)%s: %s", run.title or "run", id, percent, run.message or "starting")
    )
  end
  agentls.notify(table.concat(lines, "\n"))
end

local function show_output()
  vim.cmd("botright split " .. vim.fn.fnameescape(vim.lsp.log.get_filename()))
end

--- What the runs' menu offers for the runs `ids`: their progress, the server's output, a
--- Cancel naming each run, a report. Nothing here cancels unless its item is chosen.
function M.menu_items(ids)
  local items = {}
  if #ids > 0 then
    table.insert(items, {
      title = "Show progress",
      action = function()
        show_progress(ids)
      end,
    })
  end
  table.insert(items, { title = "Show output (the LSP log)", action = show_output })
  for _, id in ipairs(ids) do
    local title = (agentls.runs[id] or {}).title or "run"
    table.insert(items, {
      title = string.format("Cancel %s (run %s)", title, id),
      action = function()
        M.cancel({ args = id })
      end,
    })
  end
  local report = ids[1] or agentls.last_run
  if report then
    table.insert(items, {
      title = string.format("Open report (run %s)", report),
      action = function()
        M.report({ args = report })
      end,
    })
  end
  return items
end

--- :Agentls [run]: the runs' menu (what VS Code's status bar item opens), for the runs
--- still going or the run given.
function M.menu(opts)
  local ids = opts.args ~= "" and { opts.args } or agentls.running()
  local going = #ids == 1 and "1 run going" or (#ids .. " runs going")
  vim.ui.select(M.menu_items(ids), {
    prompt = "agentls: " .. going,
    format_item = function(item)
      return item.title
    end,
  }, function(item)
    if item then
      item.action()
    end
  end)
end

function M.define()
  local command = vim.api.nvim_create_user_command
  command("Agentls", M.menu, {
    nargs = "?",
    complete = completer(all_runs),
    desc = "agentls: the runs' menu: progress, output, cancel a run, its report",
  })
  command("AgentRun", M.run, {
    range = "%",
    nargs = "?",
    complete = completer(M.workflow_names),
    desc = "agentls: run a workflow on the lines (default: the whole buffer)",
  })
  command("AgentChanged", M.changed, {
    nargs = "*",
    complete = completer(M.workflow_names),
    desc = "agentls: run a workflow [name] on what changed since [revision] (HEAD)",
  })
  command("AgentRunFolder", M.run_folder, {
    nargs = "*",
    complete = "file",
    desc = "agentls: run a workflow [name] on every file of [folder] (the current folder)",
  })
  command("AgentCheck", M.task("review"), {
    range = "%",
    desc = "agentls: an agent reviews the lines (findings become diagnostics)",
  })
  command("AgentReview", require("agentls.review").command, {
    range = true, -- only to say that it takes none (it was the review task before)
    nargs = "?",
    complete = completer(all_runs),
    desc = "agentls: review a run's proposed changes, a diff per file (default: the newest)",
  })
  command("AgentRuns", require("agentls.runs").show, {
    desc = "agentls: the session's runs, their state and what to do with them",
  })
  command("AgentUndo", M.undo, {
    nargs = "?",
    complete = completer(all_runs),
    desc = "agentls: undo what a run changed, keeping your edits elsewhere",
  })
  command("AgentImplement", M.task("implement"), {
    range = "%",
    nargs = "*",
    desc = "agentls: implement [instruction] on the lines",
  })
  command("AgentFollowUp", M.follow_up, {
    nargs = "+",
    desc = "agentls: continue a run with a message (a menu when several can go on)",
  })
  command("AgentApply", M.apply, {
    nargs = "?",
    complete = completer(all_runs),
    desc = "agentls: apply a run's changes that were not applied, without running it again",
  })
  command("AgentRerun", M.rerun, {
    nargs = "?",
    complete = completer(all_runs),
    desc = "agentls: run a run again without the cache (default: the last run)",
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
