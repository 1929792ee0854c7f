from agentls.cli import main

main()
