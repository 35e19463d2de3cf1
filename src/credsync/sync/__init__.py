"""The sync engine: planner (pure), executor, runs, the agent."""
