"""Prompt templates of the LLM analyzer, one YAML file per task (see affectkit.llm.templates)."""
