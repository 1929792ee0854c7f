-- agentls: nothing starts until require("agentls").setup() is called.
if vim.g.loaded_agentls then
  return
end
vim.g.loaded_agentls = true
