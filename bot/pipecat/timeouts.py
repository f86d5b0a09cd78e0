"""How long a Pipecat request may take, step by step: named constants with no imports, so the
one-shot CLI request (bot/pipecat/oneshot.py) uses the same bounds as the httpx client
(bot/pipecat/retry.py) without loading httpx."""

#: Seconds to open a connection / wait for an answer / write / get a pooled connection.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
WRITE_TIMEOUT = 5.0
POOL_TIMEOUT = 5.0
