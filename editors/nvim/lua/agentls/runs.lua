-- :AgentRuns: the session's runs (agentls.listRuns) in a scratch buffer, with their state and
-- proposal, and what can be done with each (<CR> for the menu, or a key per action).
local M = {}

local agentls = require("agentls")
local levels = vim.log.levels

local NAME = "agentls://runs"
local HELP = "<CR> actions · r review · f follow up · u undo · o report · a apply · "
  .. "x run again without the cache · c cancel · R refresh · q close"

--- The proposal's counts as text: "2 pending, 1 rejected" ("" when there is none).
function M.proposal_text(proposal)
  if type(proposal) ~= "table" then
    return ""
  end
  local parts = {}
  for _, key in ipairs({ "pending", "accepted", "rejected", "stale" }) do
    if (proposal[key] or 0) > 0 then
      table.insert(parts, proposal[key] .. " " .. key)
    end
  end
  return table.concat(parts, ", ")
end

local function state_of(run)
  return run.state or run.status or "?"
end

--- One line per run, the newest first.
function M.format(runs)
  local lines = { "# agentls runs", HELP, "" }
  if #runs == 0 then
    table.insert(lines, "(no run yet in this session)")
  end
  for _, run in ipairs(runs) do
    local proposal = M.proposal_text(run.proposal)
    table.insert(
      lines,
      string.format(
        "%s  %-14s %s%s",
        run.runId,
        state_of(run),
        run.title or "",
        proposal ~= "" and ("  [" .. proposal .. "]") or ""
      )
    )
  end
  return lines
end

local function pending_count(run)
  return type(run.proposal) == "table" and (run.proposal.pending or 0) or 0
end

local function undoable(run)
  local state = state_of(run)
  return state == "applied" or state == "partly applied"
end

local commands = function()
  return require("agentls.commands")
end

--- What can be done with `run`: { key, title, action } for the runs' menu and keymaps.
function M.actions(run)
  local id = run.runId
  local list = {}
  local function add(key, title, available, action)
    if available then
      table.insert(list, { key = key, title = title, action = action })
    end
  end
  add(
    "r",
    "Review its " .. pending_count(run) .. " pending change(s)",
    pending_count(run) > 0,
    function()
      require("agentls.review").show(id, commands().run_client(id))
    end
  )
  add("f", "Follow up…", run.followable, function()
    vim.ui.input({ prompt = "Follow up on run " .. id .. " with: " }, function(message)
      if message and message ~= "" then
        commands().follow_up_run(id, message)
      end
    end)
  end)
  add("u", "Undo its changes", undoable(run), function()
    commands().undo_run(id)
  end)
  add("o", "Show its report", true, function()
    commands().report({ args = id })
  end)
  add("a", "Apply its changes", run.applicable, function()
    commands().apply({ args = id })
  end)
  add("x", "Run it again without the cache", state_of(run) ~= "running", function()
    commands().rerun({ args = id })
  end)
  add("c", "Cancel it", state_of(run) == "running", function()
    commands().cancel({ args = id })
  end)
  return list
end

local listed = {} -- the runs the buffer shows, in its order

local function run_here()
  return listed[vim.api.nvim_win_get_cursor(0)[1] - 3] -- three header lines
end

local function act(key)
  local run = run_here()
  if not run then
    agentls.notify("put the cursor on a run's line")
    return
  end
  local actions = M.actions(run)
  if key then
    for _, action in ipairs(actions) do
      if action.key == key then
        action.action()
        return
      end
    end
    agentls.notify("run " .. run.runId .. " (" .. state_of(run) .. ") cannot do that", levels.WARN)
    return
  end
  vim.ui.select(actions, {
    prompt = "Run " .. run.runId .. " (" .. state_of(run) .. "): ",
    format_item = function(action)
      return action.title
    end,
  }, function(action)
    if action then
      action.action()
    end
  end)
end

local function buffer()
  return require("agentls.commands").named_buffer(NAME)
end

local function map(bufnr)
  local function set(lhs, key)
    vim.keymap.set("n", lhs, function()
      act(key)
    end, { buffer = bufnr, nowait = true })
  end
  set("<CR>", nil)
  for _, key in ipairs({ "r", "f", "u", "o", "a", "x", "c" }) do
    set(key, key)
  end
  vim.keymap.set("n", "R", M.show, { buffer = bufnr, nowait = true })
end

--- Show (or refresh) the runs' buffer.
function M.show()
  agentls.execute("agentls.listRuns", vim.empty_dict(), function(runs)
    runs = runs or {}
    local existed = buffer()
    local bufnr = require("agentls.commands").scratch(NAME, M.format(runs), "agentlsruns")
    listed = runs
    if not existed then
      map(bufnr)
    end
    local window = vim.fn.bufwinid(bufnr)
    if window ~= -1 and #runs > 0 and vim.api.nvim_win_get_cursor(window)[1] < 4 then
      vim.api.nvim_win_set_cursor(window, { 4, 0 })
    end
  end, { any = true })
end

--- Refresh the runs' buffer if a window shows it (after a decision, or when a run ends).
function M.refresh_if_shown()
  local bufnr = buffer()
  if not bufnr or vim.fn.bufwinid(bufnr) == -1 then
    return
  end
  local current = vim.api.nvim_get_current_win()
  agentls.execute("agentls.listRuns", vim.empty_dict(), function(runs)
    runs = runs or {}
    if not vim.api.nvim_buf_is_valid(bufnr) then
      return
    end
    vim.bo[bufnr].modifiable = true
    vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, M.format(runs))
    vim.bo[bufnr].modifiable = false
    listed = runs
    if vim.api.nvim_win_is_valid(current) then
      vim.api.nvim_set_current_win(current)
    end
  end, { any = true })
end

return M
