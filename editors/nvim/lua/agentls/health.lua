-- :checkhealth agentls
local M = {}

function M.check()
  local options = require("agentls").options
  vim.health.start("agentls")
  local program = options.cmd[1]
  if vim.fn.executable(program) == 0 then
    vim.health.error(program .. " is not executable", { "install agentls (make demo) and set cmd in setup()" })
    return
  end
  local version = vim.system({ program, "--version" }, { text = true }):wait()
  if version.code == 0 then
    vim.health.ok("binary: " .. vim.fn.exepath(program) .. " (" .. vim.trim(version.stdout) .. ")")
  else
    vim.health.error(program .. " --version failed: " .. (version.stderr or ""))
  end
  local folder = vim.fn.getcwd()
  local config = vim.system({ program, "config", "show", "--workspace", folder }, { text = true }):wait()
  if config.code == 0 then
    vim.health.ok("configuration is valid")
  else
    vim.health.error("configuration: " .. vim.trim(config.stderr or ""))
  end
  local agents = vim.system({ program, "agents", "--json", "--workspace", folder }, { text = true }):wait()
  if agents.code == 0 then
    local ok, list = pcall(vim.json.decode, agents.stdout)
    for _, agent in ipairs(ok and list or {}) do
      if agent.enabled then
        if agent.ready then
          vim.health.ok("agent " .. agent.name .. ": " .. (agent.binary or ""))
        else
          vim.health.warn("agent " .. agent.name .. ": " .. table.concat(agent.problems or {}, "; "))
        end
      end
    end
  end
end

return M
