"""The publisher keeps prices while Kafka is unreachable and drops only past its bound."""
from __future__ import annotations

from cryptostream.core.config import load
from cryptostream.pipeline.producer.publisher import Publisher
from cryptostream.pipeline.schema import PriceMessage
from cryptostream.core.ports import free_port


def messages(count: int) -> list[PriceMessage]:
    return [PriceMessage("BTCUSDT", f"{i + 1}.0", i, i, "test") for i in range(count)]


def test_nothing_is_lost_while_kafka_is_away() -> None:
    """With no broker, drain() acknowledges nothing and every message stays pending, in order."""
    port = free_port()
    config = load(env={"CRYPTOSTREAM_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}"})
    publisher = Publisher(config)
    publisher.add(messages(3))
    assert publisher.drain(wait=1) == 0
    assert [m.price for m in publisher.pending] == ["1.0", "2.0", "3.0"]
    assert publisher.published == 0
    assert publisher.dropped == 0


def test_a_full_buffer_drops_the_oldest_and_counts_it() -> None:
    """Past buffer_max_messages the oldest message goes, and the drop is counted."""
    config = load(env={"CRYPTOSTREAM_PRODUCER_BUFFER_MAX_MESSAGES": "2"})
    publisher = Publisher(config)
    publisher.add(messages(5))
    assert [m.price for m in publisher.pending] == ["4.0", "5.0"]
    assert publisher.dropped == 3
