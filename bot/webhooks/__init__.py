"""Pipecat Cloud webhooks: what a delivery is (verify, events), what it makes the app do
(decide) and how it reads in the change timeline (timeline). Pure, below every layer that does
I/O; the receiving endpoint (bot.webhooks.receive) and the effects (bot.webhooks.effects) sit
above the alert pipeline they use."""
