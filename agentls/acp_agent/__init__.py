"""agentls as an Agent Client Protocol agent (``agentls acp``): an ACP client (Zed, JetBrains,
CodeCompanion, …) runs agentls's workflows on the files a prompt mentions.

A front end beside the language server and the CLI: it calls orchestration and knows nothing of
them. ``agent`` routes the protocol's requests; ``session`` holds a folder's configuration and
chosen workflow; ``prompt_target`` reads what a prompt points at; ``turn`` runs a prompt;
``updates`` turns a run into session updates; ``proposal`` asks to apply a change and writes it;
``client_files`` reads and writes through the client; ``outbox`` sends updates in order;
``stdio`` serves one client on stdin and stdout.
"""
