"""The clinical engine's tables: each module is data transcribed from one published standard."""
