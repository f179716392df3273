"""What runs in production: the Binance clients, the producer and the Spark processor, and the
message schema between them. It imports only cryptostream.core."""
