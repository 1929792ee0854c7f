-- Helpers for the headless Neovim tests: the test writes a script that dofile()s this one.
local T = {}

function T.start(plugin, cmd, file)
  vim.opt.rtp:prepend(plugin)
  vim.cmd("runtime plugin/agentls.lua")
  require("agentls").setup({ cmd = cmd })
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  T.wait(function()
    return #vim.lsp.get_clients({ bufnr = 0, name = "agentls" }) > 0
  end, "the agentls client attaches")
  -- The server loads the folder's configuration when the document opens; give it a moment.
  T.wait(function()
    local client = vim.lsp.get_clients({ bufnr = 0, name = "agentls" })[1]
    return client and client.initialized
  end, "the server is initialized")
end

function T.wait(condition, what, timeout)
  if not vim.wait(timeout or 20000, condition, 20) then
    T.finish({ error = "timed out waiting until " .. what })
  end
end

function T.text()
  return table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n") .. "\n"
end

function T.finish(result)
  local file = assert(io.open(vim.env.AGENTLS_TEST_RESULT, "w"))
  file:write(vim.json.encode(result))
  file:close()
  vim.cmd("qa!")
end

return T
