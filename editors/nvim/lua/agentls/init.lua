-- agentls for Neovim: registers the agentls language server with vim.lsp, adds user commands
-- that call its workspace/executeCommand commands, and shows the runs' progress.
-- See :help agentls and docs/server.md in the agentls repository.
local M = {}

M.defaults = {
  -- The server command. A list (see :h vim.lsp.Config); "serve" must be in it for
  -- :checkhealth to derive the CLI, e.g. { "/path/.venv/bin/agentls", "serve" }.
  -- Neovim logs every stderr line of a server as an ERROR in its LSP log: warnings only.
  cmd = { "agentls", "serve", "--log-level", "WARNING" },
  -- Settings (docs/server.md "Settings"), sent as initializationOptions and answered for the
  -- "agentls" section of workspace/configuration: e.g. { applyMode = "apply" }.
  settings = {},
  -- Filetypes to attach to; nil attaches to every file buffer.
  filetypes = nil,
  root_markers = { ".agentls.yaml", ".git" },
  -- vim.notify the runs' progress: begin, end, and reports at most every throttle_ms.
  -- false turns it off (e.g. when fidget.nvim shows LSP progress).
  progress = { throttle_ms = 2000 },
  -- Show the server's CodeLens ("Accept (claude)", "Reject") on the changes it proposes;
  -- run one with vim.lsp.codelens.run(). false: none.
  codelens = true,
  -- :AgentReview's keymaps in the diff of a proposal (a key set to "" is not mapped).
  review = {
    keys = {
      accept = "ga",
      reject = "gr",
      accept_all = "gA",
      reject_all = "gR",
      next = "]h",
      prev = "[h",
      close = "q",
    },
  },
  -- Extra fields for the vim.lsp configuration: on_attach, capabilities, flags, handlers...
  lsp = {},
}

M.options = vim.deepcopy(M.defaults)
M.did_setup = false

--- Runs seen in this Neovim session: id -> { id, title, status, client_id, token, message }.
--- Runs started by commands and by code actions are both known (from their progress).
M.runs = {}
M.last_run = nil

local NAME = "agentls"
local has_011 = vim.fn.has("nvim-0.11") == 1

function M.notify(message, level)
  vim.notify("agentls: " .. message, level or vim.log.levels.INFO, { title = "agentls" })
end

-- Neovim 0.11 made the client's functions methods (client:request); 0.10 has closures.
function M.request(client, method, params, handler, bufnr)
  if has_011 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

function M.request_sync(client, method, params, timeout_ms, bufnr)
  if has_011 then
    return client:request_sync(method, params, timeout_ms, bufnr)
  end
  return client.request_sync(method, params, timeout_ms, bufnr)
end

function M.stopped(client)
  if has_011 then
    return client:is_stopped()
  end
  return client.is_stopped()
end

local function empty_as_object(value)
  if type(value) == "table" and next(value) == nil then
    return vim.empty_dict() -- else it is sent as [] (JSON has no empty Lua table)
  end
  return value
end

--- The vim.lsp configuration of the server.
function M.lsp_config()
  local options = M.options
  local settings = empty_as_object(vim.deepcopy(options.settings or {}))
  local handlers = require("agentls.handlers")
  -- Neovim applies versioned edits (documentChanges) but does not say so; without it the
  -- server sends unversioned ones, which land on the wrong lines if you typed meanwhile.
  local capabilities = { workspace = { workspaceEdit = { documentChanges = true } } }
  if options.codelens ~= false then -- the server asks for a refresh when its proposals change
    capabilities.workspace.codeLens = { refreshSupport = true }
  end
  if not has_011 then -- 0.10 takes the capabilities as given
    capabilities =
      vim.tbl_deep_extend("force", vim.lsp.protocol.make_client_capabilities(), capabilities)
  end
  local config = vim.tbl_deep_extend("force", {
    name = NAME,
    cmd = options.cmd,
    filetypes = options.filetypes,
    root_markers = options.root_markers,
    init_options = settings,
    settings = { [NAME] = settings },
    handlers = handlers.handlers,
    commands = require("agentls.lenses").commands,
    capabilities = capabilities,
  }, options.lsp or {})
  return config
end

local function is_file_buffer(bufnr)
  return vim.api.nvim_buf_is_valid(bufnr)
    and vim.bo[bufnr].buftype == ""
    and vim.api.nvim_buf_get_name(bufnr) ~= ""
end

local function wants(bufnr)
  local filetypes = M.options.filetypes
  return is_file_buffer(bufnr)
    and (filetypes == nil or vim.tbl_contains(filetypes, vim.bo[bufnr].filetype))
end

--- Start (or reuse) the server for a buffer and attach it; the client id.
function M.start(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local config = M.lsp_config()
  if has_011 and not M.options._legacy then
    config = vim.tbl_extend("force", vim.lsp.config[NAME] or config, { name = NAME })
  end
  config.root_dir = config.root_dir
    or vim.fs.root(bufnr, M.options.root_markers or {})
    or vim.fs.dirname(vim.api.nvim_buf_get_name(bufnr))
  return vim.lsp.start(config, { bufnr = bufnr })
end

--- The agentls client of a buffer. With `opts.attach`, a file buffer that has none (no
--- filetype, or not in `filetypes`) gets the server started and attached.
--- With `opts.any`, any agentls client will do (for commands about runs, not buffers).
function M.client(bufnr, opts)
  opts = opts or {}
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = vim.lsp.get_clients({ bufnr = bufnr, name = NAME })[1]
  if not client and opts.attach and is_file_buffer(bufnr) then
    local id = M.start(bufnr)
    client = id and vim.lsp.get_client_by_id(id)
  end
  if not client and opts.any then
    client = vim.lsp.get_clients({ name = NAME })[1]
  end
  if client and not client.initialized then
    vim.wait(15000, function()
      return client.initialized or M.stopped(client)
    end, 20)
  end
  return client
end

--- Call a server command. `on_result(result)` gets the answer; errors are shown.
--- `opts`: bufnr, client (else the buffer's), any (any agentls client will do).
function M.execute(command, argument, on_result, opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local client = opts.client or M.client(bufnr, { attach = not opts.any, any = opts.any })
  if not client then
    M.notify(
      "the server is not running for this buffer (see :checkhealth agentls)",
      vim.log.levels.ERROR
    )
    return
  end
  local params = { command = command, arguments = { argument } }
  M.request(client, "workspace/executeCommand", params, function(err, result)
    if err then
      require("agentls.handlers").error(err.message or tostring(err))
      return
    end
    if on_result then
      on_result(result, client)
    end
  end, is_file_buffer(bufnr) and bufnr or nil)
end

--- Remember a run (from a command's answer or from its progress).
function M.track(run_id, fields)
  local run = M.runs[run_id] or { id = run_id, status = "running" }
  for key, value in pairs(fields or {}) do
    run[key] = value
  end
  M.runs[run_id] = run
  M.last_run = run_id
  return run
end

--- The ids of the runs still going (on a server still running).
function M.running()
  local ids = {}
  for id, run in pairs(M.runs) do
    local client = run.client_id and vim.lsp.get_client_by_id(run.client_id)
    if run.status == "running" and client and not M.stopped(client) then
      table.insert(ids, id)
    end
  end
  table.sort(ids)
  return ids
end

--- A short text for a statusline: the runs still going ("" when none).
function M.status()
  local parts = {}
  for _, id in ipairs(M.running()) do
    local run = M.runs[id]
    local text = run.title or id
    if run.percentage then
      text = text .. " " .. run.percentage .. "%"
    end
    table.insert(parts, text)
  end
  return table.concat(parts, ", ")
end

--- Change the settings of running servers (workspace/didChangeConfiguration).
function M.update_settings(settings)
  M.options.settings = vim.tbl_deep_extend("force", M.options.settings or {}, settings or {})
  local value = empty_as_object(vim.deepcopy(M.options.settings))
  for _, client in ipairs(vim.lsp.get_clients({ name = NAME })) do
    client.settings = { [NAME] = value }
    if has_011 then
      client:notify("workspace/didChangeConfiguration", { settings = client.settings })
    else
      client.notify("workspace/didChangeConfiguration", { settings = client.settings })
    end
  end
end

local function register()
  local group = vim.api.nvim_create_augroup("agentls", { clear = true })
  -- The last file buffer, for :checkhealth (which runs in a buffer of its own).
  vim.api.nvim_create_autocmd("BufEnter", {
    group = group,
    callback = function(event)
      if is_file_buffer(event.buf) then
        M.last_file_buffer = event.buf
      end
    end,
  })
  if has_011 and not M.options._legacy then
    vim.lsp.config(NAME, M.lsp_config())
    vim.lsp.enable(NAME)
  else -- Neovim 0.10: start the server when a file buffer gets its filetype
    vim.api.nvim_create_autocmd("FileType", {
      group = group,
      callback = function(event)
        if wants(event.buf) then
          M.start(event.buf)
        end
      end,
    })
    for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(bufnr) and vim.bo[bufnr].filetype ~= "" and wants(bufnr) then
        M.start(bufnr)
      end
    end
  end
end

function M.setup(options)
  if vim.fn.has("nvim-0.10") == 0 then
    vim.notify("agentls needs Neovim 0.10 or newer", vim.log.levels.ERROR)
    return
  end
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), options or {})
  if options and options.progress == false then
    M.options.progress = false
  end
  M.did_setup = true
  local program = type(M.options.cmd) == "table" and M.options.cmd[1] or nil
  if program and vim.fn.executable(program) == 0 then
    vim.schedule(function()
      M.notify(
        program
          .. " is not executable; install agentls or set cmd in setup() (:checkhealth agentls)",
        vim.log.levels.WARN
      )
    end)
  end
  register()
  require("agentls.commands").define()
  require("agentls.progress").watch()
  require("agentls.lenses").watch()
end

return M
