"""Custom components the Rasa engine loads from config.yml (runs in the engine venv, Python 3.10)."""
