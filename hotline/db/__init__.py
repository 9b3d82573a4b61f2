"""Database models, sessions and schema migrations."""
