"""PagerDuty Events API v2: the client, its typed errors and pure event builders."""
