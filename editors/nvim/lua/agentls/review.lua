-- :AgentReview: a run's proposal as a diff per file (the buffer against a scratch buffer with
-- the proposed text, in vim's diff mode), keymaps to accept or reject each change, and the
-- quickfix list of the changes still pending. The server keeps the proposal (review_api:
-- agentls.showProposal); every decision is sent to it and the view is redrawn from its answer.
local M = {}

local agentls = require("agentls")
local levels = vim.log.levels

--- Open reviews by run id: { run_id, client, proposal, views = { [uri] = view }, qf_id }.
--- A view is one file's diff: { uri, path, real, scratch, tab }.
M.reviews = {}

--- The keymaps (setup's review.keys over the defaults): accept/reject the change under the
--- cursor (reject asks why), accept_all/reject_all those of the file, next/prev, close.
local function keys()
  local defaults = agentls.defaults.review.keys
  return vim.tbl_extend("force", defaults, (agentls.options.review or {}).keys or {})
end

local function lines_of(text)
  local lines = vim.split(text or "", "\n", { plain = true })
  if lines[#lines] == "" then
    table.remove(lines)
  end
  return lines
end

local function line_count(text)
  return #lines_of(text)
end

local function pending(file)
  return vim.tbl_filter(function(hunk)
    return hunk.state == "pending" and type(hunk.range) == "table"
  end, file.hunks or {})
end

--- Where each pending hunk of `file` is: `real` in the current text (the buffer), `proposed`
--- in the proposed text, as 0-based {first, last} lines (an insertion covers the line it goes
--- before), sorted by position.
function M.spans(file)
  local hunks = pending(file)
  table.sort(hunks, function(a, b)
    return a.range.start.line < b.range.start.line
  end)
  local spans, shift = {}, 0
  for _, hunk in ipairs(hunks) do
    local range = hunk.range
    local first = range.start.line
    local stop = range["end"].line + (range["end"].character > 0 and 1 or 0)
    local old, new = stop - first, line_count(hunk.newText)
    table.insert(spans, {
      hunk = hunk,
      real = { first, first + math.max(old, 1) - 1 },
      proposed = { first + shift, first + shift + math.max(new, 1) - 1 },
    })
    shift = shift + new - old
  end
  return spans
end

local function file_of(review, uri)
  for _, file in ipairs((review.proposal or {}).files or {}) do
    if file.uri == uri then
      return file
    end
  end
end

--- The view and the side ("real" or "proposed") of a buffer, in `review`.
local function side_of(review, bufnr)
  for uri, view in pairs(review.views) do
    if view.real == bufnr then
      return uri, "real"
    elseif view.scratch == bufnr then
      return uri, "proposed"
    end
  end
end

--- The pending hunk under the cursor of the current window (nil when none).
local function hunk_here(review)
  local uri, side = side_of(review, vim.api.nvim_get_current_buf())
  local file = uri and file_of(review, uri)
  if not file then
    return nil, uri
  end
  local line = vim.api.nvim_win_get_cursor(0)[1] - 1
  local last = vim.api.nvim_buf_line_count(0) - 1
  for _, span in ipairs(M.spans(file)) do
    -- (an insertion at the end of the file is "on" its last line)
    local first, final = math.min(span[side][1], last), math.min(span[side][2], last)
    if line >= first and line <= final then
      return span.hunk, uri
    end
  end
  return nil, uri
end

local function plural(count, noun)
  return count .. " " .. noun .. (count == 1 and "" or "s")
end

local function describe(hunk)
  local reason = vim.trim((hunk.reason or ""):gsub("\n.*", ""))
  local text = (hunk.agent or "agent") .. " proposes: " .. (reason ~= "" and reason or "a change")
  return text
end

--- The quickfix items of the pending hunks of `proposal`.
function M.quickfix_items(proposal)
  local items = {}
  for _, file in ipairs(proposal.files or {}) do
    local filename = vim.uri_to_fname(file.uri)
    for _, span in ipairs(M.spans(file)) do
      table.insert(items, {
        filename = filename,
        lnum = span.real[1] + 1,
        col = 1,
        type = "I",
        text = describe(span.hunk),
      })
    end
  end
  return items
end

local function fill_quickfix(review)
  local items = M.quickfix_items(review.proposal)
  local title = "agentls: changes proposed by run " .. review.run_id
  local current = review.qf_id and vim.fn.getqflist({ id = review.qf_id }).id or 0
  if current ~= 0 then
    vim.fn.setqflist({}, "r", { id = review.qf_id, items = items, title = title })
  else
    vim.fn.setqflist({}, " ", { items = items, title = title })
    review.qf_id = vim.fn.getqflist({ id = 0 }).id
  end
end

local function window_of(bufnr, tab)
  for _, window in ipairs(vim.api.nvim_tabpage_list_wins(tab)) do
    if vim.api.nvim_win_get_buf(window) == bufnr then
      return window
    end
  end
end

local function valid_tab(tab)
  return tab and vim.api.nvim_tabpage_is_valid(tab)
end

local function unmap(bufnr)
  if not vim.api.nvim_buf_is_valid(bufnr) then
    return
  end
  for _, lhs in pairs(keys()) do
    pcall(vim.keymap.del, "n", lhs, { buffer = bufnr })
  end
end

--- Close one file's diff: the scratch buffer goes, the buffer leaves diff mode and loses
--- the review's keymaps, the tab closes (unless it is the last one).
function M.close_view(review, uri)
  local view = review.views[uri]
  if not view then
    return
  end
  review.views[uri] = nil
  unmap(view.real)
  if valid_tab(view.tab) then
    local window = window_of(view.real, view.tab)
    if window then
      vim.api.nvim_win_call(window, function()
        vim.cmd("diffoff")
      end)
    end
  end
  if vim.api.nvim_buf_is_valid(view.scratch) then
    vim.api.nvim_buf_delete(view.scratch, { force = true })
  end
  if valid_tab(view.tab) and #vim.api.nvim_list_tabpages() > 1 then
    vim.cmd.tabclose(vim.api.nvim_tabpage_get_number(view.tab))
  end
  if next(review.views) == nil then
    M.reviews[review.run_id] = nil
  end
end

local function set_text(bufnr, text)
  vim.bo[bufnr].modifiable = true
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines_of(text))
  vim.bo[bufnr].modifiable = false
  vim.bo[bufnr].modified = false
end

local function diffupdate(view)
  local window = valid_tab(view.tab) and window_of(view.scratch, view.tab)
  if window then
    vim.api.nvim_win_call(window, function()
      vim.cmd("diffupdate")
    end)
  end
end

local function counts(proposal)
  local total = { pending = 0, accepted = 0, rejected = 0, stale = 0 }
  for _, file in ipairs(proposal.files or {}) do
    for _, hunk in ipairs(file.hunks or {}) do
      total[hunk.state] = (total[hunk.state] or 0) + 1
    end
  end
  return total
end

--- Redraw `review` from the server's proposal: the scratch buffers, the diffs, the
--- quickfix list; a file with nothing left to decide has its diff closed.
local function redraw(review, proposal)
  review.proposal = proposal
  local total = counts(proposal)
  for uri, view in pairs(vim.deepcopy(review.views)) do
    local file = file_of(review, uri)
    if file and #pending(file) > 0 and vim.api.nvim_buf_is_valid(view.scratch) then
      set_text(view.scratch, file.proposedText)
      diffupdate(view)
    else
      M.close_view(review, uri)
      if total.pending > 0 then
        agentls.notify((file and file.path or vim.uri_to_fname(uri)) .. ": every change decided")
      end
    end
  end
  fill_quickfix(review)
  if total.pending == 0 then
    local rejected = total.rejected > 0
        and "; :AgentFollowUp {message} tells the agent what you rejected and why"
      or ""
    agentls.notify(
      string.format(
        "run %s: every change decided (%d accepted, %d rejected%s)%s",
        review.run_id,
        total.accepted,
        total.rejected,
        total.stale > 0 and (", " .. total.stale .. " stale") or "",
        rejected
      )
    )
  end
  require("agentls.runs").refresh_if_shown()
end

local function ask_server(review, command, argument, on_result)
  local view = next(review.views) and review.views[next(review.views)]
  agentls.execute(command, argument, on_result, {
    client = review.client,
    any = true,
    -- the buffer's typing reaches the server before the request (didChange is flushed)
    bufnr = view and view.real or nil,
  })
end

local function refresh(review)
  ask_server(review, "agentls.showProposal", { runId = review.run_id }, function(proposal)
    redraw(review, proposal or {})
  end)
end

local function after_accept(review)
  return function(result)
    if result and result.stale and #result.stale > 0 then
      agentls.notify(
        "not applied: the lines of "
          .. table.concat(result.stale, ", ")
          .. " changed since the agent proposed them (stale)",
        levels.WARN
      )
    end
    refresh(review)
  end
end

local function ask_reason(prompt, on_reason)
  vim.ui.input({ prompt = prompt }, function(reason)
    if reason ~= nil then -- nil: the question was dismissed, nothing is rejected
      on_reason(reason)
    end
  end)
end

local function decide(review, what, all)
  local hunk, uri = hunk_here(review)
  if not uri then
    return
  end
  local argument = { runId = review.run_id }
  if all then
    argument.uri = uri
  elseif hunk then
    argument.hunks = { hunk.id }
  else
    local next_key = keys().next
    agentls.notify("no pending change under the cursor (" .. next_key .. " goes to the next)")
    return
  end
  if what == "accept" then
    ask_server(review, "agentls.acceptChange", argument, after_accept(review))
    return
  end
  local file = file_of(review, uri)
  local prompt = all
      and string.format("Why reject the %s in this file? ", plural(#pending(file or {}), "change"))
    or string.format(
      "Why reject %s's change on line %d? ",
      hunk.agent or "the agent",
      hunk.range.start.line + 1
    )
  ask_reason(prompt, function(reason)
    argument.reason = reason
    ask_server(review, "agentls.rejectChange", argument, function()
      refresh(review)
    end)
  end)
end

local function jump(review, forward)
  local uri, side = side_of(review, vim.api.nvim_get_current_buf())
  local file = uri and file_of(review, uri)
  if not file then
    return
  end
  local line = vim.api.nvim_win_get_cursor(0)[1] - 1
  local spans = M.spans(file)
  local target
  for index = forward and 1 or #spans, forward and #spans or 1, forward and 1 or -1 do
    local first = spans[index][side][1]
    if (forward and first > line) or (not forward and first < line) then
      target = first
      break
    end
  end
  if not target then
    agentls.notify(forward and "no pending change below" or "no pending change above")
    return
  end
  local last = vim.api.nvim_buf_line_count(0)
  vim.api.nvim_win_set_cursor(0, { math.min(target + 1, last), 0 })
end

local function map(review, uri, bufnr)
  local lhs = keys()
  local function set(key, action, desc)
    if lhs[key] and lhs[key] ~= "" then
      vim.keymap.set("n", lhs[key], action, { buffer = bufnr, nowait = true, desc = desc })
    end
  end
  set("accept", function()
    decide(review, "accept", false)
  end, "agentls: accept the change under the cursor")
  set("reject", function()
    decide(review, "reject", false)
  end, "agentls: reject the change under the cursor (asks why)")
  set("accept_all", function()
    decide(review, "accept", true)
  end, "agentls: accept every change in this file")
  set("reject_all", function()
    decide(review, "reject", true)
  end, "agentls: reject every change in this file (asks why)")
  set("next", function()
    jump(review, true)
  end, "agentls: the next proposed change")
  set("prev", function()
    jump(review, false)
  end, "agentls: the previous proposed change")
  set("close", function()
    M.close_view(review, uri)
  end, "agentls: close this diff")
end

local function scratch_for(review, file, real)
  local name = "agentls://proposal/" .. review.run_id .. "/" .. file.path
  local existing = require("agentls.commands").named_buffer(name)
  if existing then
    vim.api.nvim_buf_delete(existing, { force = true })
  end
  local bufnr = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_name(bufnr, name)
  vim.bo[bufnr].buftype = "nofile"
  vim.bo[bufnr].bufhidden = "wipe"
  vim.bo[bufnr].swapfile = false
  set_text(bufnr, file.proposedText)
  vim.bo[bufnr].filetype = vim.bo[real].filetype
  return bufnr
end

--- A tab with `file`'s diff: its buffer on the left, the proposal on the right.
local function open_view(review, file)
  local fname = vim.uri_to_fname(file.uri)
  vim.cmd("tabedit " .. vim.fn.fnameescape(fname))
  local real = vim.api.nvim_get_current_buf()
  local real_window = vim.api.nvim_get_current_win()
  local scratch = scratch_for(review, file, real)
  local view = { uri = file.uri, path = file.path, real = real, scratch = scratch }
  view.tab = vim.api.nvim_get_current_tabpage()
  review.views[file.uri] = view
  vim.cmd("diffthis")
  vim.cmd("rightbelow vsplit")
  vim.api.nvim_win_set_buf(0, scratch)
  vim.cmd("diffthis")
  map(review, file.uri, real)
  map(review, file.uri, scratch)
  vim.api.nvim_create_autocmd("BufWipeout", {
    buffer = scratch,
    once = true,
    callback = function()
      if review.views[file.uri] == view then
        vim.schedule(function()
          M.close_view(review, file.uri)
        end)
      end
    end,
  })
  vim.api.nvim_set_current_win(real_window)
  local first = M.spans(file)[1]
  if first then
    local last = vim.api.nvim_buf_line_count(real)
    vim.api.nvim_win_set_cursor(real_window, { math.min(first.real[1] + 1, last), 0 })
  end
end

--- Show the proposal of `run_id` (from `client`): a diff per file with pending changes.
function M.show(run_id, client)
  local review = M.reviews[run_id] or { run_id = run_id, views = {} }
  review.client = client or review.client
  agentls.execute("agentls.showProposal", { runId = run_id }, function(proposal)
    proposal = proposal or {}
    local files = vim.tbl_filter(function(file)
      return #pending(file) > 0
    end, proposal.files or {})
    if #files == 0 then
      agentls.notify("run " .. run_id .. " has no pending change to review", levels.WARN)
      return
    end
    M.reviews[run_id] = review
    review.proposal = proposal
    local first_tab
    for _, file in ipairs(files) do
      local view = review.views[file.uri]
      if view and valid_tab(view.tab) and vim.api.nvim_buf_is_valid(view.scratch) then
        set_text(view.scratch, file.proposedText)
        diffupdate(view)
      else
        if view then
          M.close_view(review, file.uri)
          M.reviews[run_id] = review
        end
        open_view(review, file)
      end
      first_tab = first_tab or review.views[file.uri].tab
    end
    fill_quickfix(review)
    vim.api.nvim_set_current_tabpage(first_tab)
    local lhs = keys()
    agentls.notify(
      string.format(
        "%s to review in %s: %s accept, %s reject, %s/%s next/previous, %s close",
        plural(#M.quickfix_items(proposal), "change"),
        plural(#files, "file"),
        lhs.accept,
        lhs.reject,
        lhs.next,
        lhs.prev,
        lhs.close
      )
    )
  end, { client = client, any = true })
end

--- The newest run with pending changes, from agentls.listRuns.
function M.latest_pending(runs)
  for _, run in ipairs(runs or {}) do
    if type(run.proposal) == "table" and (run.proposal.pending or 0) > 0 then
      return run
    end
  end
end

--- :AgentReview [runId]: review the run's proposal (default: the newest run with changes
--- pending).
function M.command(opts)
  if (opts.range or 0) > 0 then
    agentls.notify(
      ":AgentReview opens a run's proposed changes (it takes no range); "
        .. ":[range]AgentCheck asks an agent to review code",
      levels.ERROR
    )
    return
  end
  if opts.args ~= "" then
    M.show(opts.args, require("agentls.commands").run_client(opts.args))
    return
  end
  agentls.execute("agentls.listRuns", vim.empty_dict(), function(runs, client)
    local run = M.latest_pending(runs)
    if not run then
      agentls.notify(
        "no run has changes waiting for review (:AgentRuns lists the runs)",
        levels.WARN
      )
      return
    end
    M.show(run.runId, client)
  end, { any = true })
end

--- Refresh the open review of `run_id`, if any (its follow-up ended, say).
function M.refresh_run(run_id)
  if M.reviews[run_id] then
    refresh(M.reviews[run_id])
  end
end

--- Refresh every open review (a decision made elsewhere: a code action, a CodeLens).
function M.refresh_all()
  for _, review in pairs(M.reviews) do
    refresh(review)
  end
end

return M
