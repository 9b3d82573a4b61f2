"""Ways a citizen reaches the gateway: a Telegram bot or a terminal chat for local use."""
