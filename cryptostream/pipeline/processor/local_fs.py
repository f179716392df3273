"""The processor's checkpoint without a child process per file.

pyspark ships no Hadoop native library, so Hadoop's local file system runs `chmod` for every
file it creates and `readlink` for every link status it is asked, each a process started from
the JVM: the checkpoint's offsets and commits files of one micro-batch started twenty, about
50 ms of each commit. cryptostream.hadoop.NioLocalFs (jvm/, Java, in the processor's jar:
jvm_jar.py) does the same with Java's own file API; the Spark session uses it for file: URIs
through FileContext, Spark's checkpoint writer.
"""
from __future__ import annotations

from pathlib import Path

FILE_CONTEXT_CLASS = "cryptostream.hadoop.NioLocalFs"


def spark_settings(jar: Path) -> dict[str, str]:
    """The driver's classpath (FileContext loads the class by name from it) and the class."""
    return {"spark.driver.extraClassPath": str(jar),
            "spark.hadoop.fs.AbstractFileSystem.file.impl": FILE_CONTEXT_CLASS}
