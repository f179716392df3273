"""The processor's own Java (jvm/): compiled at set-up (jars.resolve) into one jar with the
JRE's own compiler module, so no JDK is needed, against the jars pyspark ships; rebuilt only
when its sources or pyspark's jars change. It holds the checkpoint's file system (local_fs.py)
and the batch's one-pass summary (jvm_pass.py)."""
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
JAR_NAME = "cryptostream-processor.jar"


def jar_path(config: Config) -> Path:
    return config.jars_dir / "cryptostream" / JAR_NAME


def build(config: Config, say=print) -> Path:
    """Compile the jar unless the one there was built from these sources against these jars."""
    jar = jar_path(config)
    api = pyspark_jars()
    sources = sorted(SOURCES.rglob("*.java"))
    stamp, wanted = jar.with_suffix(".stamp"), _fingerprint(sources, api)
    if jar.is_file() and stamp.is_file() and stamp.read_text() == wanted:
        return jar
    say(f"compiling {SOURCES} into {jar}")
    jar.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cryptostream-javac-") as classes:
        _compile(sources, api, Path(classes))
        partial = jar.with_name(jar.name + ".partial")
        _zip(Path(classes), partial)
        partial.rename(jar)
    stamp.write_text(wanted)
    return jar


def pyspark_jars() -> list[Path]:
    spec = importlib.util.find_spec("pyspark")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("jars/*.jar")) if spec else []
    if not any(p.name.startswith("spark-sql_") for p in found):
        raise FileNotFoundError("pyspark's jars not found: is pyspark installed?")
    return found


def _fingerprint(sources: list[Path], api: list[Path]) -> str:
    digest = hashlib.sha256("\n".join(p.name for p in api).encode())
    for source in sources:
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _compile(sources: list[Path], api: list[Path], classes: Path) -> None:
    # --release 17: the app image's JRE is 17 whatever Java the building machine runs;
    # -path: some of pyspark's jars name jars it does not ship in their manifests
    java = shutil.which("java")
    if not java:
        raise FileNotFoundError("java not found: Java 17+ is required (bin/up installs it)")
    command = [java, "-m", "jdk.compiler/com.sun.tools.javac.Main", "--release", "17", "-Xlint:all,-path", "-Werror",
               "-cp", ":".join(map(str, api)), "-d", str(classes), *map(str, sources)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"compiling {SOURCES} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def _zip(classes: Path, jar: Path) -> None:
    with zipfile.ZipFile(jar, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
        for path in sorted(classes.rglob("*.class")):
            out.write(path, path.relative_to(classes).as_posix())
