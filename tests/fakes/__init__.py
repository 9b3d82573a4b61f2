"""Stand-ins for outside services that speak their real wire protocol (tests and local runs only)."""
