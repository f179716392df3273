"""bin/reconcile: account for every message in Kafka against MySQL.

Every message the processor has read (offsets below its committed position) must be either
in exactly one window row, with the row's figures equal to a recomputation from the
messages, or in rejected_messages with its reason: the reason the shared rules give for an
invalid message, "late" for a valid one that arrived after its window was closed, or
"duplicate" for a copy of a price (schema.dedup_key) counted once from another delivery.
For the trade source, the account also covers exchange -> Kafka: a trade id missing between two
in the topic (ids are consecutive per symbol) is a problem (trade_ids.py).
Exit 0 only on an exact account (averages within 1e-8), 2 otherwise.

Once retention has deleted a topic's oldest messages, windows that may have held them cannot
be recomputed: only windows starting after the oldest retained message (plus the watermark
delay) are compared, and the output says from when.

The parts: messages (reading Kafka), snapshot (reading MySQL), reference (recomputing the
windows), compare (the account), account (one run), command (bin/reconcile's options and output).
"""
from cryptostream.ops.reconcile.account import reconcile, retained_since
from cryptostream.ops.reconcile.command import main, time_ms
from cryptostream.ops.reconcile.compare import Account, compare
from cryptostream.ops.reconcile.messages import Message, read_messages
from cryptostream.ops.reconcile.reference import reference, window_start
from cryptostream.ops.reconcile.snapshot import Snapshot, processed_offsets, snapshot, wait_processed

__all__ = ["Account", "Message", "Snapshot", "compare", "main", "processed_offsets", "read_messages", "reconcile",
           "reference", "retained_since", "snapshot", "time_ms", "wait_processed", "window_start"]
