"""The processor's checkpoint without a child process per file.

pyspark ships no Hadoop native library, so Hadoop's local file system runs `chmod` for every
file it creates and `readlink` for every link status it is asked, each a process started from
the JVM: the checkpoint's offsets and commits files of one micro-batch started twenty, about
50 ms of each commit. cryptostream.hadoop.NioLocalFs (jvm/, Java) does the same with Java's
own file API; the Spark session uses it for file: URIs through FileContext, Spark's checkpoint
writer. It is compiled at set-up (jars.resolve) with the JRE's own compiler module, so no JDK
is needed, against the Hadoop API jar pyspark ships.
"""
from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from cryptostream.core.config import Config

SOURCES = Path(__file__).parent / "jvm"
FILE_CONTEXT_CLASS = "cryptostream.hadoop.NioLocalFs"
JAR_NAME = "cryptostream-hadoop.jar"


def jar_path(config: Config) -> Path:
    return config.jars_dir / "cryptostream" / JAR_NAME


def spark_settings(jar: Path) -> dict[str, str]:
    """The driver's classpath (FileContext loads the class by name from it) and the class."""
    return {"spark.driver.extraClassPath": str(jar),
            "spark.hadoop.fs.AbstractFileSystem.file.impl": FILE_CONTEXT_CLASS}


def build(config: Config, say=print) -> Path:
    """Compile the jar unless the one there was built from these sources against this Hadoop."""
    jar = jar_path(config)
    api = hadoop_api_jar()
    sources = sorted(SOURCES.rglob("*.java"))
    stamp, wanted = jar.with_suffix(".stamp"), _fingerprint(sources, api)
    if jar.is_file() and stamp.is_file() and stamp.read_text() == wanted:
        return jar
    say(f"compiling {FILE_CONTEXT_CLASS} into {jar}")
    jar.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cryptostream-javac-") as classes:
        _compile(sources, api, Path(classes))
        partial = jar.with_name(jar.name + ".partial")
        _zip(Path(classes), partial)
        partial.rename(jar)
    stamp.write_text(wanted)
    return jar


def hadoop_api_jar() -> Path:
    spec = importlib.util.find_spec("pyspark")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("jars/hadoop-client-api-*.jar")) if spec else []
    if not found:
        raise FileNotFoundError("pyspark's hadoop-client-api jar not found: is pyspark installed?")
    return found[-1]


def _fingerprint(sources: list[Path], api: Path) -> str:
    digest = hashlib.sha256(api.name.encode())
    for source in sources:
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _compile(sources: list[Path], api: Path, classes: Path) -> None:
    # --release 17: the app image's JRE is 17 whatever Java the building machine runs
    java = shutil.which("java")
    if not java:
        raise FileNotFoundError("java not found: Java 17+ is required (bin/up installs it)")
    command = [java, "-m", "jdk.compiler/com.sun.tools.javac.Main", "--release", "17", "-Xlint:all", "-Werror",
               "-cp", str(api), "-d", str(classes), *map(str, sources)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"compiling {SOURCES} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def _zip(classes: Path, jar: Path) -> None:
    with zipfile.ZipFile(jar, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
        for path in sorted(classes.rglob("*.class")):
            out.write(path, path.relative_to(classes).as_posix())
