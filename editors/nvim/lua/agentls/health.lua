-- :checkhealth agentls — the binary, the configuration of the current folder, the agents.
local M = {}

local health = vim.health

--- The CLI from the server command: what comes before "serve" (e.g. { "agentls" } or
--- { "/usr/bin/python3", "-m", "agentls" }).
function M.cli(cmd)
  if type(cmd) ~= "table" or #cmd == 0 then
    return nil
  end
  local cli = {}
  for _, part in ipairs(cmd) do
    if part == "serve" then
      return cli
    end
    table.insert(cli, part)
  end
  return { cmd[1] }
end

local function run(command, cwd)
  local ok, process = pcall(vim.system, command, { text = true, cwd = cwd })
  if not ok then
    return { code = -1, stdout = "", stderr = tostring(process) }
  end
  local result = process:wait(20000)
  return { code = result.code, stdout = result.stdout or "", stderr = result.stderr or "" }
end

--- The buffer whose folder to check: the current one, else the last file buffer entered.
local function target_buffer()
  local current = vim.api.nvim_get_current_buf()
  if vim.bo[current].buftype == "" and vim.api.nvim_buf_get_name(current) ~= "" then
    return current
  end
  local last = require("agentls").last_file_buffer
  if last and vim.api.nvim_buf_is_valid(last) then
    return last
  end
end

local function folder_of(bufnr, markers)
  if not bufnr then
    return vim.fn.getcwd()
  end
  return vim.fs.root(bufnr, markers or {}) or vim.fs.dirname(vim.api.nvim_buf_get_name(bufnr))
end

local function report_agents(agents, source)
  local ready = 0
  for _, agent in ipairs(agents) do
    if agent.enabled then
      local version = type(agent.version) == "string" and (" " .. agent.version) or ""
      if agent.ready then
        ready = ready + 1
        local where = type(agent.binary) == "string" and (" at " .. agent.binary) or ""
        health.ok(string.format("agent %s ready:%s%s", agent.name, version, where))
      else
        health.warn(string.format("agent %s not ready", agent.name), agent.problems or {})
      end
    end
  end
  if ready == 0 then
    health.warn("no agent is ready (" .. source .. ")", {
      "install an agent CLI and give it its credentials; the offline workflow needs none",
    })
  end
end

function M.check()
  local agentls = require("agentls")
  local options = agentls.options

  health.start("agentls: Neovim and setup")
  local version = vim.version()
  local text = string.format("Neovim %d.%d.%d", version.major, version.minor, version.patch)
  if vim.fn.has("nvim-0.11") == 1 then
    health.ok(text .. " (vim.lsp.config + vim.lsp.enable)")
  elseif vim.fn.has("nvim-0.10") == 1 then
    health.ok(text .. " (vim.lsp.start from a FileType autocmd)")
  else
    health.error(text .. ": agentls needs Neovim 0.10 or newer")
  end
  if agentls.did_setup then
    health.ok('require("agentls").setup() was called')
  else
    health.warn('require("agentls").setup() was not called: the server never starts', {
      'call require("agentls").setup({}) in your configuration',
    })
  end

  health.start("agentls: binary")
  local cli = M.cli(options.cmd)
  if not cli then
    health.info("cmd is a function: not checked")
    return
  end
  local program = cli[1]
  if vim.fn.executable(program) == 0 then
    health.error(program .. " is not executable", {
      "install agentls (`pip install` it, or `make demo` in its repository)",
      'or set cmd = { "/path/to/.venv/bin/agentls", "serve" } in setup()',
    })
    return
  end
  local command = vim.list_extend(vim.deepcopy(cli), { "--version" })
  local answer = run(command)
  local label = table.concat(cli, " ")
  if cli[1] ~= vim.fn.exepath(program) and vim.fn.exepath(program) ~= "" then
    label = label .. " (" .. vim.fn.exepath(program) .. ")"
  end
  if answer.code == 0 then
    health.ok(string.format("%s: %s", label, vim.trim(answer.stdout)))
  else
    health.error(string.format("%s --version failed (exit %d)", label, answer.code), {
      vim.trim(answer.stderr),
    })
    return
  end

  local bufnr = target_buffer()
  local folder = folder_of(bufnr, options.root_markers)
  health.start("agentls: configuration of " .. vim.fn.fnamemodify(folder, ":~"))
  local config =
    run(vim.list_extend(vim.deepcopy(cli), { "config", "show", "--workspace", folder }), folder)
  if config.code == 0 then
    local files = {}
    for line in config.stdout:gmatch("[^\n]+") do
      local file = line:match("^# from (.+)$")
      if file then
        table.insert(files, vim.fn.fnamemodify(file, ":~"))
      end
    end
    health.ok("the configuration is valid (" .. table.concat(files, ", ") .. ")")
  else
    health.error(
      "the configuration is invalid",
      { vim.trim(config.stderr ~= "" and config.stderr or config.stdout) }
    )
  end

  health.start("agentls: agents")
  local client = bufnr and vim.lsp.get_clients({ bufnr = bufnr, name = "agentls" })[1]
  if client then
    health.ok(
      string.format("the server is attached to %s (client %d)", vim.fn.bufname(bufnr), client.id)
    )
    local response = agentls.request_sync(client, "workspace/executeCommand", {
      command = "agentls.listAgents",
      arguments = { { uri = vim.uri_from_bufnr(bufnr) } },
    }, 20000, bufnr)
    if response and response.result then
      report_agents(response.result, "asked the server")
      return
    end
    health.warn("the server did not list the agents: " .. vim.inspect(response and response.err))
  elseif config.code ~= 0 then
    health.info("the agents are not checked: the configuration is invalid")
    return
  else
    health.info("the server is not attached to a buffer here; asking the CLI")
  end
  local agents =
    run(vim.list_extend(vim.deepcopy(cli), { "agents", "--json", "--workspace", folder }), folder)
  local ok, list = pcall(vim.json.decode, agents.stdout)
  if agents.code == 0 and ok and type(list) == "table" then
    report_agents(list, "agentls agents --json")
  else
    health.error(
      "agentls agents --json failed (exit " .. agents.code .. ")",
      { vim.trim(agents.stderr) }
    )
  end
end

return M
