-- The init file of a headless test session (nvim --headless --clean -u session.lua).
--
-- The environment says what to do (see harness.py): AGENTLS_PLUGIN (the plugin folder),
-- AGENTLS_SETUP (JSON options for setup(); "null": setup() with none; AGENTLS_INIT, a Lua file,
-- replaces the plugin), AGENTLS_BODY (a Lua
-- file run once Neovim has started, with the global T below), AGENTLS_RESULT (where the
-- outcome goes as JSON), AGENTLS_FAKES and AGENTLS_MARK (to find this test's fake agents).
-- Whatever happens, the result file is written and Neovim quits.
vim.opt.rtp:prepend(vim.env.AGENTLS_PLUGIN)
vim.o.swapfile = false

T = {
  messages = {}, -- every vim.notify: { message, level }
  sent = {}, -- the workspace/executeCommand params the agentls client sent
  shown = {}, -- the titles vim.ui.select was given
  transcript = {}, -- what a person would have typed and seen (make_transcript.py)
  result = {},
}

-- Notifications are recorded, not echoed: a long echo would wait at a hit-enter prompt for
-- the next key typed.
vim.notify = function(message, level)
  local text = tostring(message)
  table.insert(T.messages, { message = text, level = level or vim.log.levels.INFO })
  local name = ({ [0] = "TRACE", "DEBUG", "INFO", "WARN", "ERROR" })[level or 2] or "INFO"
  table.insert(T.transcript, "  [" .. name .. "] " .. text)
  if vim.env.AGENTLS_ECHO then
    io.stderr:write("notify: " .. text .. "\n")
  end
end

--- Log a line of the transcript.
function T.say(line)
  table.insert(T.transcript, line)
end

-- The body runs in a coroutine: T.wait yields to Neovim's main loop, which meanwhile handles
-- the LSP messages and the keys typed, as in a session with a person at the keyboard; a timer
-- resumes the body when the condition holds.
local body

function T.wait(condition, what, timeout)
  local deadline = vim.uv.now() + (timeout or 15000)
  local timer = assert(vim.uv.new_timer())
  local settled = false
  timer:start(
    10,
    10,
    vim.schedule_wrap(function()
      if settled then
        return
      end
      local ok, holds = pcall(condition)
      if (ok and holds) or vim.uv.now() > deadline then
        settled = true
        timer:stop()
        timer:close()
        T.step(ok and holds)
      end
    end)
  )
  if not coroutine.yield() then
    error("timed out waiting until " .. what, 2)
  end
end

--- Wait `ms` milliseconds (in the main loop).
function T.sleep(ms)
  local deadline = vim.uv.now() + ms
  T.wait(function()
    return vim.uv.now() >= deadline
  end, "time passes", ms + 1000)
end

function T.client(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr or 0, name = "agentls" })[1]
end

--- Record what the client sends with workspace/executeCommand (commands and code actions).
local function spy(client)
  if client._agentls_spy then
    return
  end
  client._agentls_spy = true
  local request = client.request
  client.request = function(self, method, params, ...)
    if method == "workspace/executeCommand" then
      table.insert(T.sent, vim.deepcopy(params))
    end
    return request(self, method, params, ...)
  end
end

--- :edit a file and wait for the server to be attached and initialized.
function T.open(name)
  T.say(":edit " .. name)
  vim.cmd.edit(vim.fn.fnameescape(name))
  T.wait(function()
    local client = T.client()
    return client ~= nil and client.initialized
  end, "the agentls client attaches to " .. name)
  spy(T.client())
end

--- Type keys (in <> notation) as a person would: they go to Neovim's input queue, and this
--- waits until Neovim has read them all.
function T.type(keys, note)
  if note then
    T.say(note)
  end
  local typed = false
  T.typed = function()
    typed = true
  end
  vim.api.nvim_input(keys .. "<Cmd>lua T.typed()<CR>")
  T.wait(function()
    return typed
  end, "Neovim reads the keys " .. keys)
end

--- Type an Ex command on the command line.
function T.cmd(command)
  T.say(":" .. command)
  T.type(":" .. command .. "<CR>")
end

function T.lines()
  return vim.api.nvim_buf_get_lines(0, 0, -1, false)
end

function T.text()
  return table.concat(T.lines(), "\n") .. "\n"
end

function T.diagnostics(bufnr)
  local list = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr or 0)) do
    table.insert(list, {
      lnum = d.lnum,
      end_lnum = d.end_lnum,
      severity = vim.diagnostic.severity[d.severity],
      message = d.message,
      source = d.source,
      code = d.code,
    })
  end
  return list
end

--- Answer the next vim.ui.select with the first item whose title `pick` accepts; the titles
--- offered are kept in T.shown.
function T.select(pick)
  vim.ui.select = function(items, opts, on_choice)
    local titles = {}
    for _, item in ipairs(items) do
      table.insert(titles, opts.format_item and opts.format_item(item) or tostring(item))
    end
    T.shown = titles
    local chosen
    for index, title in ipairs(titles) do
      if not chosen and pick(title) then
        chosen = index
      end
    end
    T.say("  (menu) " .. (opts.prompt or ""))
    for index, title in ipairs(titles) do
      T.say(
        string.format("  (menu) %d: %s%s", index, title, index == chosen and "   <- chosen" or "")
      )
    end
    on_choice(chosen and items[chosen] or nil, chosen)
  end
end

--- Answer the next vim.ui.input questions with `answers`, in order (nil: dismissed, as <Esc>
--- does); the prompts asked are kept in T.prompts.
T.prompts = {}
function T.input(...)
  local answers = { ... }
  local count = select("#", ...)
  local asked = 0
  vim.ui.input = function(opts, on_confirm)
    asked = asked + 1
    local answer = asked <= count and answers[asked] or nil
    table.insert(T.prompts, opts.prompt or "")
    T.say("  (input) " .. (opts.prompt or "") .. (answer or "<Esc>"))
    on_confirm(answer)
  end
end

-- The runs that ended, in order (the plugin's User AgentlsRunDone event).
T.ended = {}
vim.api.nvim_create_autocmd("User", {
  pattern = "AgentlsRunDone",
  callback = function(event)
    table.insert(
      T.ended,
      { id = event.data.id, status = event.data.status, message = event.data.message }
    )
  end,
})

--- Wait until `count` runs have ended in this session.
function T.wait_runs(count, timeout)
  T.wait(function()
    return #T.ended >= count
  end, count .. " run(s) end", timeout)
end

local function read(path)
  local file = io.open(path, "rb")
  if not file then
    return nil
  end
  local data = file:read("*a")
  file:close()
  return data
end

--- The calls `agent`'s fake has logged (once its Python runs: it logs first).
function T.calls(agent)
  local calls = {}
  for line in (read(vim.env.AGENTLS_MARK .. "/fakes-io/log-" .. agent .. ".jsonl") or ""):gmatch("[^\n]+") do
    table.insert(calls, vim.json.decode(line))
  end
  return calls
end

--- Wait until `agent`'s fake runs (its `count`th call).
function T.wait_agent(agent, count)
  T.wait(function()
    return #T.calls(agent) >= (count or 1)
  end, "the fake " .. agent .. " runs")
end

--- Pids of this test's fake agents still running (not zombies, not a `--version` probe):
--- their command line names the fakes' folder and their environment this test's folder.
function T.fake_pids()
  local pids = {}
  for _, name in ipairs(vim.fn.readdir("/proc")) do
    if name:match("^%d+$") then
      local cmdline = read("/proc/" .. name .. "/cmdline") or ""
      if
        cmdline:find(vim.env.AGENTLS_FAKES, 1, true) and not cmdline:find("--version", 1, true)
      then
        local environ = read("/proc/" .. name .. "/environ") or ""
        local stat = read("/proc/" .. name .. "/stat") or ""
        local state = stat:match("%) (%a)")
        if environ:find(vim.env.AGENTLS_MARK, 1, true) and state ~= "Z" and state ~= "X" then
          table.insert(pids, tonumber(name))
        end
      end
    end
  end
  return pids
end

local function finish(outcome)
  outcome.messages = T.messages
  outcome.sent = T.sent
  outcome.shown = T.shown
  outcome.transcript = T.transcript
  outcome.ended = T.ended
  outcome.prompts = T.prompts
  local file = assert(io.open(vim.env.AGENTLS_RESULT, "w"))
  file:write(vim.json.encode(outcome))
  file:close()
  vim.cmd("qall!")
end

local options = vim.json.decode(vim.env.AGENTLS_SETUP or "null", { luanil = { object = true } })
if vim.env.AGENTLS_INIT then -- a user's configuration instead of the plugin
  vim.opt.rtp:remove(vim.env.AGENTLS_PLUGIN)
  dofile(vim.env.AGENTLS_INIT)
elseif options == vim.NIL or options == nil then
  require("agentls").setup()
else
  require("agentls").setup(options)
end

function T.step(...)
  local ok, problem = coroutine.resume(body, ...)
  if not ok then
    finish({ ok = false, error = debug.traceback(body, tostring(problem)), result = T.result })
  elseif coroutine.status(body) == "dead" then
    finish({ ok = true, result = T.result })
  end
end

vim.api.nvim_create_autocmd("VimEnter", {
  once = true,
  callback = function()
    body = coroutine.create(assert(loadfile(vim.env.AGENTLS_BODY)))
    vim.schedule(T.step)
  end,
})
