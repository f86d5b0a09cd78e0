"""The store: one repository per aggregate, composed into `Store`; no SQL lives outside bot/store.

Each mixin below is the repository of one aggregate and holds the SQL that writes it (a write that
must land in the same transaction as another aggregate's, say an outbox row enqueued with the
condition that announces it, is made by the repository the caller is about):

====================  ===========================  =================================================
repository            module                       owns
====================  ===========================  =================================================
OutboxStore           bot/store/outbox.py          the alert outbox: enqueue, claim → fence → apply,
                                                   channel leases and back-offs, the reply-edit queue,
                                                   rows by key, the App Home's recent alerts
PollStore             bot/store/polling.py         poll leases and watermarks, seen sessions, item
                                                   failures, outage notices, watched agents' polls
IncidentStore         bot/store/incidents.py       incidents: routing, quiet close, ack/resolve,
                                                   parent re-render bookkeeping, a busy agent's
                                                   held roll-ups
UndeliveredStore      bot/store/undelivered.py     given-up rows and the summary that reports them
WatchStore            bot/store/watches.py         watches (subscriptions) and mutes
AgentHealthStore      bot/store/agent_health.py    status-read leases, open conditions (health and
                                                   webhook alerts) and their acknowledgement
PagerStore            bot/store/pager.py           PagerDuty alerts and their page rows' delivery
CauseStore            bot/store/causes.py          the session-cause cache
FingerprintStore      bot/store/fingerprints.py    cause fingerprints: per-incident links and counts
DeploymentStore       bot/store/deployments.py     deployments seen and their failure rates
RateStore             bot/store/rates.py           session counts, rate memory and SLOs, rate-alert
                                                   acks, which agents are busy
WebhookStore          bot/store/webhooks.py        Pipecat Cloud webhook events
DigestStore           bot/store/digests.py         the channels' daily digest settings
AuditStore            bot/store/audit.py           the audit trail
OpsStore              bot/store/ops.py             reads across aggregates: /healthz and /metrics,
                                                   the App Home's watches
====================  ===========================  =================================================

No stage takes the whole `Store`: each takes a Protocol of what it calls (the `ports.py` of its
package, e.g. bot/alerts/delivery/ports.py `DeliveryStore`), which `Store` satisfies structurally;
bot/wiring.py and bot/app.py pass the one `Store` to all of them.
"""

from __future__ import annotations

from bot.store.agent_health import AgentHealthStore
from bot.store.audit import AuditStore
from bot.store.causes import CauseStore
from bot.store.deployments import DeploymentStore
from bot.store.digests import DigestStore
from bot.store.engine import check_sqlite_location, create_engine
from bot.store.fingerprints import FingerprintStore
from bot.store.incidents import IncidentStore
from bot.store.migrate import migrate
from bot.store.ops import OpsStore
from bot.store.outbox import OutboxStore
from bot.store.pager import PagerStore
from bot.store.polling import PollStore
from bot.store.rates import RateStore
from bot.store.undelivered import UndeliveredStore
from bot.store.watches import WatchStore
from bot.store.webhooks import WebhookStore

#: How long `migrate` keeps retrying a database it cannot reach at startup before failing.
STARTUP_DB_WAIT_SECONDS = 60.0


class Store(
    WatchStore,
    PollStore,
    OutboxStore,
    IncidentStore,
    UndeliveredStore,
    AuditStore,
    CauseStore,
    FingerprintStore,
    DeploymentStore,
    OpsStore,
    DigestStore,
    AgentHealthStore,
    PagerStore,
    WebhookStore,
    RateStore,
):
    """SQLite or PostgreSQL behind the same intention-revealing async methods.

    One repository per aggregate (the table above), each in a module of its own; they share the
    engine and helpers of `StoreBase`.
    """

    @classmethod
    def from_url(cls, database_url: str, **engine_kwargs: object) -> Store:
        """Raises UnsafeDatabaseLocation (a SettingsError naming DATABASE_URL) for an SQLite file
        on a network filesystem."""
        check_sqlite_location(database_url)
        return cls(create_engine(database_url, **engine_kwargs))

    async def migrate(self, *, wait: float = STARTUP_DB_WAIT_SECONDS) -> str:
        """Create or upgrade the schema (idempotent); returns the Alembic head revision. A database
        that is not reachable yet is retried for `wait` seconds (replicas may start before it)."""
        return await migrate(self.engine, wait=wait)
