"""The agent: periodic runs and immediate pushes, continuously."""
