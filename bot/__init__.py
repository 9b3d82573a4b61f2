"""The gateway: where a citizen's message enters. Transports (Telegram, console) feed `Gateway`."""
