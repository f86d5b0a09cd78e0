"""Every tunable of the alert pipeline, named, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

# -- polling -------------------------------------------------------------------------------------

#: The list query starts this many poll intervals before the watermark: it absorbs clock skew and
#: sessions created while the previous poll ran. Dedup (seen_sessions) absorbs the repeats.
POLL_OVERLAP_INTERVALS = 3
#: ...and never less than this, whatever the interval.
MIN_POLL_OVERLAP = timedelta(minutes=2)
#: While an agent has sessions running, its window walk (status=ended, newest first) stops once
#: it has read below the last watermark minus this and found every session that left the active
#: set: what lies deeper was read by earlier polls. This is how late (after its createdAt) a
#: session may first appear in the list and still be found; the rest of the overlap is only read
#: while a session that left the active set is still unaccounted for. It keeps a busy agent's
#: cycle near the floor (the running sessions plus what ended since the last poll) instead of
#: re-reading every session of the whole overlap each cycle.
LATE_LISTING_ALLOWANCE = timedelta(minutes=1)
#: Agents polled at once by one replica (each poll is 1-2 list walks plus detail fetches).
POLL_CONCURRENCY = 16
#: Idle polls recorded per transaction (the end of a cycle records the rest).
IDLE_FLUSH = 100
#: Detail fetches (GET one session) at once within one agent's poll.
DETAIL_CONCURRENCY = 4
#: Alerting sessions per agent per poll whose detail (metrics) is fetched; during a storm or a
#: rate incident the rest alert with the list's data (status, timing: no metrics), so a poll's
#: Pipecat calls stay bounded whatever the failure count. The most recently ended are fetched.
DETAIL_FETCHES_PER_AGENT_PER_CYCLE = 10
#: How long a replica may hold an agent's poll lease before another may take it over (a replica
#: that died mid-poll delays that agent by at most this). A poll that outlives it is harmless: the
#: recording transaction is fenced by the lease owner and seen_sessions dedups.
POLL_LEASE = timedelta(seconds=60)
#: Consecutive failed polls of an agent before its channels get a "cannot reach" notice. One
#: failure is usually a blip (the client already retried it); two in a row is an outage.
OUTAGE_NOTICE_AFTER_FAILURES = 2
#: Consecutive polls of an agent that failed on what Pipecat sent (not on reaching it) before its
#: channels are told so; the API answered, so a blip is less likely, but one retry is cheap.
DATA_NOTICE_AFTER_FAILURES = 3
#: Polls in which one session's processing may fail before it is recorded as seen with its error
#: (and its channels told), so that it never holds the agent's other sessions back.
ITEM_MAX_ATTEMPTS = 3
#: Walks of the active list when seeding a new watch: offset paging skips a session when one
#: ahead of it ends between two pages, so the list is walked until two walks agree.
SEED_MAX_WALKS = 4
#: Seen sessions older than this are forgotten (far beyond any poll overlap).
SEEN_RETENTION = timedelta(days=7)
#: How often (at most) a replica prunes seen sessions.
PRUNE_EVERY = timedelta(hours=1)

# -- delivery ------------------------------------------------------------------------------------

#: Channels delivered to at once (posts within one channel are strictly sequential).
DELIVERY_CONCURRENCY = 8
#: A channel's delivery lease; renewed before every post (and by the pre-post fence). A replica
#: that dies holding it delays the channel by at most this.
CHANNEL_LEASE = timedelta(seconds=20)
#: How long a claimed row is ours. After it, another worker treats the row as "may have been
#: posted" and reconciles against the channel before re-posting.
CLAIM_TTL = timedelta(seconds=20)
#: The fence right before a Slack post: the claim (and the channel lease) must still have this
#: long to run, or the post is not made. It exceeds the Slack client's timeout (bot/app.py
#: SLACK_TIMEOUT_SECONDS, 10 s) plus clock skew between replicas, so a post that starts inside
#: a valid claim ends (or times out) before anyone else may take the row over. A worker paused
#: (SIGSTOP) past its claim fails this check when it resumes and does not post.
CLAIM_SAFETY_MARGIN = timedelta(seconds=12)
#: A failed write of a post's outcome (the database restarting) is retried this long; the fence
#: renewed the claim to CLAIM_TTL and the post took at most the Slack timeout, so the retry mostly
#: stays inside the claim (if not, the row is reconciled: found in the channel, not re-posted).
RECORD_RETRY_WINDOW = timedelta(seconds=10)
RECORD_RETRY_FIRST = timedelta(seconds=0.25)
RECORD_RETRY_CAP = timedelta(seconds=2)
#: A channel back-off this short (the spacing after a post) is waited out while keeping the
#: channel; a longer one releases it until a later cycle (after a 429 the channel is always left).
MAX_INLINE_WAIT = timedelta(seconds=5)
#: One pass stays with a channel at most this long (other channels are served in parallel; the
#: scheduler's next cycle, with its poll, is not held up for long).
CHANNEL_PASS_BUDGET = timedelta(seconds=20)
#: Posts one channel pass makes at most (the rest wait for the next cycle).
MAX_POSTS_PER_CHANNEL_PASS = 200
#: Trouble at a destination (a Slack channel; PagerDuty): connection errors, 5xx, timeouts. One
#: back-off per destination, shared by its rows and replicas (channel_state): after its n-th failed
#: attempt in a row nobody tries it for BASE * 2**(n-1), capped. One attempt (under the
#: destination's lease) probes it; the first success pulls every held row forward. The cap plus a
#: delivery tick keeps a recovery noticed within 30 s, at about one write per destination per cap.
RETRY_BASE = timedelta(seconds=5)
RETRY_CAP = timedelta(seconds=25)
#: A channel Slack refuses outright (not_in_channel, channel_not_found, is_archived, a token
#: error): its watches show it broken and its rows are held; its next post probes it on this
#: back-off (BASE * 2**(n-1), capped), and the first one Slack takes heals the watches.
BROKEN_PROBE_BASE = timedelta(minutes=1)
BROKEN_PROBE_CAP = timedelta(minutes=15)
#: When an outcome is unknown (5xx, read timeout), look at the channel again after at least this.
UNCERTAIN_RECHECK = timedelta(seconds=10)
#: Posted (and muted, rolled-up, reported given-up) outbox rows are deleted this long after their
#: last change; a dedup key only has to outlive any poll overlap and reconciliation.
OUTBOX_RETENTION = timedelta(days=7)
#: The delivery job runs at least this often (and at once when rows are enqueued): back-offs and
#: retries come due between polls.
DELIVERY_TICK = timedelta(seconds=2)
#: Back-off when Slack sends 429 without a usable Retry-After, and the most we honour.
DEFAULT_RETRY_AFTER_SECONDS = 1.0
MAX_RETRY_AFTER_SECONDS = 15 * 60.0
#: Reconciliation reads the messages from the row's first claim on (minus this skew between our
#: clock and Slack's) to now (plus it), RECONCILE_PAGE_SIZE a page, at most RECONCILE_MAX_PAGES.
RECONCILE_SKEW = timedelta(minutes=2)
RECONCILE_PAGE_SIZE = 200
RECONCILE_MAX_PAGES = 50

# -- incidents and storm control -------------------------------------------------------------------

#: More than BURST_LIMIT sessions within BURST_WINDOW: the rest of the burst becomes one roll-up.
BURST_LIMIT = 5
BURST_WINDOW = timedelta(minutes=1)
#: An agent that usually fails at least this often (per hour, from its rate counts) is "busy": while
#: its incident is open its failures are held and posted as one roll-up per BACKGROUND_ROLLUP_EVERY
#: (at most about 6 replies an hour from its background), not one reply each.
BACKGROUND_MIN_FAILURES_PER_HOUR = 12.0
BACKGROUND_ROLLUP_EVERY = timedelta(minutes=10)
#: A periodic roll-up reads the cached causes of at most this many of its sessions (the newest),
#: and names this many of the causes found.
ROLLUP_CAUSE_READS = 200
ROLLUP_TOP_CAUSES = 3


def retry_delay(attempt: int) -> timedelta:
    """A destination's back-off after its `attempt`-th failed attempt in a row (from 1)."""
    return _doubling(RETRY_BASE, RETRY_CAP, attempt)


def broken_probe_delay(attempt: int) -> timedelta:
    """A refusing channel's wait before its next probe, after `attempt` refusals in a row (from 1)."""
    return _doubling(BROKEN_PROBE_BASE, BROKEN_PROBE_CAP, attempt)


def _doubling(base: timedelta, cap: timedelta, attempt: int) -> timedelta:
    delay: timedelta = base * (2 ** min(20, max(0, attempt - 1)))
    return min(cap, delay)


def poll_overlap(poll_interval_seconds: float) -> timedelta:
    return max(MIN_POLL_OVERLAP, timedelta(seconds=poll_interval_seconds * POLL_OVERLAP_INTERVALS))


# -- PagerDuty (issue 14) ------------------------------------------------------------------------

#: A growing incident re-sends its trigger (same dedup_key: PagerDuty updates the same alert) at
#: most this often. An incident grows at most once per poll (a burst is one roll-up), and this is
#: below the poll interval, so PagerDuty's count follows the Slack parent's in the same delivery
#: pass; it only bounds the events if polls run faster than this.
PAGE_UPDATE_EVERY = timedelta(seconds=30)
#: PagerDuty's 429 carries no Retry-After; its docs suggest retrying about 30 s apart.
PAGE_RATE_LIMIT_BACKOFF = timedelta(seconds=30)
#: A page row claimed for one send; the client's timeout (10 s) fits well inside.
PAGE_CLAIM_TTL = timedelta(seconds=30)

# -- agent health (issue 19) -----------------------------------------------------------------------

#: A condition a status read shows is alerted once it has been seen on this many reads...
HEALTH_OPEN_AFTER_READS = 2
#: ...spanning at least this long (frequent reads still need a minute of it). Until then it is
#: pending: one bad read (a pod between two restarts, a moment at the capacity line) posts nothing.
HEALTH_OPEN_AFTER = timedelta(minutes=1)
#: An alerted condition clears only after reads that positively show it gone for this long; a
#: read that shows it again meanwhile keeps the alert open (a crash loop's healthy seconds).
HEALTH_CLEAR_AFTER = timedelta(minutes=5)
#: A condition back within this long of clearing reopens its alert (the same Slack message, the
#: same PagerDuty dedup key) instead of opening a new one.
HEALTH_REOPEN_WITHIN = timedelta(minutes=30)
#: Capacity levels are left only this many sessions below their line (in sessions, not percent:
#: with 3 replicas one session is 33 points).
CAPACITY_HYSTERESIS_SESSIONS = 1


@dataclass(frozen=True)
class HealthHold:
    """The hold times of agent health conditions (bot/alerts/health/states.py), passed as one."""

    open_after_reads: int
    open_after: timedelta
    clear_after: timedelta
    reopen_within: timedelta


HEALTH_HOLD = HealthHold(HEALTH_OPEN_AFTER_READS, HEALTH_OPEN_AFTER, HEALTH_CLEAR_AFTER, HEALTH_REOPEN_WITHIN)

#: The fence right before a PagerDuty send (bot/pagerduty/client.py): the claim must still have
#: this long to run (more than the client's 10 s timeout plus clock skew between replicas), or
#: nothing is sent. A replica paused past its claim fails it and never sends a stale event after
#: whoever took the row over has moved on (a stale trigger after a resolve opens a new page).
PAGE_CLAIM_SAFETY_MARGIN = timedelta(seconds=12)
#: PagerDuty's delivery lease (one replica sends, or probes it after trouble, at a time).
PAGERDUTY_LEASE = timedelta(seconds=30)

# -- Pipecat Cloud webhooks (issue 22) -------------------------------------------------------------

#: Webhook events are kept this long: they are the organization's change timeline.
WEBHOOK_RETENTION = timedelta(days=30)
#: How often each replica sweeps for events whose effects did not run (a crash right after the
#: 2xx), and prunes old ones (at most every PRUNE_EVERY).
WEBHOOK_SWEEP_EVERY = timedelta(seconds=30)
#: The sweep leaves an event this long to the replica that answered it (it runs them at once).
WEBHOOK_SWEEP_GRACE = timedelta(seconds=30)
#: Events one sweep runs the effects of, at most.
WEBHOOK_SWEEP_BATCH = 100

# -- rates (bot/rates) -------------------------------------------------------------------------------

# The rate detectors' tunables live beside the pure detectors (bot/rates sits below this layer);
# named here too so every policy value is found from this module.
from bot.rates.policy import BURN_RULES as BURN_RULES  # noqa: E402
from bot.rates.policy import COST_EDIT_SHARE as COST_EDIT_SHARE  # noqa: E402
from bot.rates.policy import COUNT_RETENTION as COUNT_RETENTION  # noqa: E402
from bot.rates.policy import HOUR_RETENTION as HOUR_RETENTION  # noqa: E402
from bot.rates.policy import RATE_RULES as RATE_RULES  # noqa: E402
from bot.rates.policy import STARTED_RETENTION as STARTED_RETENTION  # noqa: E402
from bot.rates.policy import RateRules as RateRules  # noqa: E402
