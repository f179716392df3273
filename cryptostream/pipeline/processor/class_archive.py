"""The processor JVM's class-data archive (Java's CDS): the thousands of classes a processor
start loads, mapped from one file instead of read from pyspark's jars and verified one by one;
the processor's Spark session starts about 6 s sooner (13 -> 7 s to its query on 2 cores).

Made once at set-up (jars.resolve) by a short training run (archive_training.py) of the
processor's own session and work, and named after what the JVM checks it against (the JVM and
every jar of the driver's classpath), so a changed jar or Java update means a new archive,
never a stale one. A missing archive only means the slower start; the JVM itself skips one
that does not match, quietly. A torn archive would crash the JVM: archive_training renames
one into place only once it is complete."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from cryptostream.core.config import Config
from cryptostream.pipeline.processor import classpath

# -Xshare:auto: an archive the JVM cannot use is skipped; its warning (a line on stdout, in
# the processor's JSON log) is turned off
USE_FLAGS = "-Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off"


def archive_path(config: Config) -> Path:
    return config.jars_dir / "cds" / f"processor-{_fingerprint(config)[:16]}.jsa"


def current(config: Config) -> Path | None:
    """The archive for this JVM and these jars, if set-up has recorded it."""
    try:
        archive = archive_path(config)
    except FileNotFoundError:
        return None  # no java or jars yet: session.py says which
    return archive if archive.is_file() else None


def java_options(config: Config) -> str:
    """The driver JVM's options to map the archive, or "" while there is none."""
    return options_for(current(config))


def options_for(archive: Path | None) -> str:
    return f"-XX:SharedArchiveFile={archive} {USE_FLAGS}" if archive else ""


def _fingerprint(config: Config) -> str:
    """The JVM build and every jar the driver loads classes from: path, size, modification time."""
    java = shutil.which("java")
    if not java:
        raise FileNotFoundError("java not found")
    home = Path(java).resolve().parent.parent
    digest = hashlib.sha256()
    for path in [*home.glob("lib/server/libjvm.so"), *classpath.every_jar(config)]:
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def keep_newest(folder: Path, count: int) -> None:
    """Remove all but the newest archives (150 MB each): those of jars or a JVM since replaced.
    More than one: checkouts and installed copies of the package may share one jars folder."""
    archives = sorted(folder.glob("processor-*.jsa"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in archives[count:]:
        old.unlink(missing_ok=True)
