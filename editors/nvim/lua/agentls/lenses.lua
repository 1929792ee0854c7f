-- The server's CodeLens ("Accept (claude)", "Reject" on each pending change) shown with
-- vim.lsp.codelens, and the accept/reject commands its lenses and code actions carry, run
-- here first: a rejection asks why (vim.ui.input) instead of the server's preset reasons, and
-- an open :AgentReview is redrawn after each decision.
local M = {}

local agentls = require("agentls")

local function enabled()
  return agentls.options.codelens ~= false
end

--- Ask the agentls `client` for the lenses of `bufnr` (only that client: other servers'
--- lenses stay as their own setup has them).
function M.refresh(client, bufnr)
  local provider = (client.server_capabilities or {}).codeLensProvider
  if not enabled() or not provider or not vim.api.nvim_buf_is_loaded(bufnr) then
    return
  end
  local params = { textDocument = { uri = vim.uri_from_bufnr(bufnr) } }
  agentls.request(client, "textDocument/codeLens", params, function(err, result, ctx)
    if not err and vim.api.nvim_buf_is_loaded(bufnr) then
      vim.lsp.codelens.on_codelens(err, result or {}, ctx)
    end
  end, bufnr)
end

--- Refresh the lenses of every buffer `client` is attached to.
function M.refresh_client(client)
  for bufnr in pairs(client.attached_buffers or {}) do
    M.refresh(client, bufnr)
  end
end

local function after_decision(client)
  require("agentls.review").refresh_all()
  require("agentls.runs").refresh_if_shown()
  M.refresh_client(client)
end

local function send(command, argument, client)
  agentls.execute(command, argument, function()
    after_decision(client)
  end, { client = client, any = true })
end

--- The client-side commands (vim.lsp.Config `commands`): Neovim runs these instead of
--- sending workspace/executeCommand when a code action or a lens carries them.
M.commands = {
  ["agentls.acceptChange"] = function(command, ctx)
    local client = vim.lsp.get_client_by_id(ctx.client_id)
    if client then
      send("agentls.acceptChange", (command.arguments or {})[1] or vim.empty_dict(), client)
    end
  end,
  ["agentls.rejectChange"] = function(command, ctx)
    local client = vim.lsp.get_client_by_id(ctx.client_id)
    local argument = vim.deepcopy((command.arguments or {})[1] or {})
    if not client then
      return
    end
    if argument.reason ~= nil then
      send("agentls.rejectChange", argument, client)
      return
    end
    vim.ui.input(
      { prompt = "Why reject this change? (the agent is told on a follow-up) " },
      function(reason)
        if reason ~= nil then -- dismissed: nothing is rejected
          argument.reason = reason
          send("agentls.rejectChange", argument, client)
        end
      end
    )
  end,
}

--- workspace/codeLens/refresh from the server: the proposal changed.
function M.on_refresh(_, _, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if client then
    M.refresh_client(client)
  end
  return vim.NIL
end

--- Lenses for agentls buffers: when the server attaches, and when you enter a buffer or
--- leave Insert mode (lenses move with the lines).
function M.watch()
  local group = vim.api.nvim_create_augroup("agentls-lenses", { clear = true })
  if not enabled() then
    return
  end
  vim.api.nvim_create_autocmd("LspAttach", {
    group = group,
    callback = function(event)
      local client = vim.lsp.get_client_by_id(event.data.client_id)
      if client and client.name == "agentls" then
        M.refresh(client, event.buf)
      end
    end,
  })
  vim.api.nvim_create_autocmd({ "BufEnter", "InsertLeave" }, {
    group = group,
    callback = function(event)
      for _, client in ipairs(vim.lsp.get_clients({ bufnr = event.buf, name = "agentls" })) do
        M.refresh(client, event.buf)
      end
    end,
  })
end

return M
