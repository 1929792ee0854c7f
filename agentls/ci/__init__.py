"""``agentls ci``: a pull request's changes reviewed without a person at the terminal.

What changed (``changes``), which files a CI job reviews (``shard``), the review's outcome as
one report that shard results merge into (``report``), and that report as SARIF, GitHub
annotations, JSON and a markdown comment (``sarif``, ``annotations``, ``markdown``, pure).
"""
