"""Per-minute statistics of the producer and the processor in MySQL (pipeline_stats): figure
(counts, exact sums, buckets), run_stats (a run's minutes until written), writer (the producer's
thread), table (the SQL), names (what both the programs and the checks call things)."""
from cryptostream.pipeline.stats.figure import Figure
from cryptostream.pipeline.stats.run_stats import RunStats
from cryptostream.pipeline.stats.writer import StatsWriter

__all__ = ["Figure", "RunStats", "StatsWriter"]
