"""A Spark standalone cluster (one master, N workers) started from the pyspark install.

The Spark engine is meant for clusters; this starts a real one on one machine so that the
test suite, the bench and a newcomer can run ``ringscope run --engine spark --spark-master
spark://...`` against separate executor JVMs without installing Spark itself:
``bin/spark-class org.apache.spark.deploy.master.Master`` and ``...worker.Worker`` from
the ``pyspark`` package. Every JVM dies with the process that started it (``kill -9``
included, via ``PR_SET_PDEATHSIG``), so a crashed test leaves no cluster behind.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from ringscope.engines.spark.session import SparkUnavailable, java_executable
from ringscope.errors import RingscopeError
from ringscope.lifetime import die_with_parent

__all__ = ["ClusterStartError", "StandaloneCluster", "spark_home"]

_MASTER_CLASS = "org.apache.spark.deploy.master.Master"
_WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


class ClusterStartError(RingscopeError):
    """The master or a worker did not come up (the message names its log file)."""


def spark_home() -> Path:
    """The Spark distribution inside the installed ``pyspark`` package."""
    try:
        import pyspark
    except ImportError:
        raise SparkUnavailable(
            "a standalone cluster needs pyspark: pip install 'ringscope[spark]'"
        ) from None
    home = Path(pyspark.__file__).parent
    if not (home / "bin" / "spark-class").is_file():
        raise SparkUnavailable(f"pyspark at {home} has no bin/spark-class")
    return home


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _arm_death_signal(parent_pid: int) -> None:
    """Child-side: die with the parent, in a process group of its own."""
    os.setpgid(0, 0)
    die_with_parent(parent_pid)


@dataclass
class StandaloneCluster:
    """One master and ``workers`` workers of ``worker_cores`` cores and ``worker_memory``.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. ``root`` holds the
    logs (``master.log``, ``worker-N.log``) and the workers' scratch space.
    """

    root: Path
    workers: int = 2
    worker_cores: int = 1
    worker_memory: str = "3g"
    host: str = "127.0.0.1"
    start_timeout_s: float = 120.0
    master_url: str = field(default="", init=False)
    webui_url: str = field(default="", init=False)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list, init=False, repr=False)

    def _launch(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        home = spark_home()
        env = os.environ | {
            "SPARK_HOME": str(home),
            "SPARK_LOCAL_DIRS": str(self.root / "local"),
            "SPARK_WORKER_DIR": str(self.root / "work"),
            "SPARK_NO_DAEMONIZE": "1",
        }
        if "JAVA_HOME" not in env:
            env["JAVA_HOME"] = str(Path(java_executable()).resolve().parent.parent)
        log = (self.root / f"{name}.log").open("wb")
        parent = os.getpid()
        proc = subprocess.Popen(
            [str(home / "bin" / "spark-class"), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=functools.partial(_arm_death_signal, parent),
        )
        log.close()
        self._procs.append(proc)
        return proc

    def status(self) -> dict:
        """The master's JSON status (workers, applications)."""
        with urllib.request.urlopen(f"{self.webui_url}/json/", timeout=5) as reply:
            return json.load(reply)

    def _wait(self, ready: str, check: Callable[[dict], bool]) -> dict:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            for i, proc in enumerate(self._procs):
                if proc.poll() is not None:
                    name = "master" if i == 0 else f"worker-{i}"
                    raise ClusterStartError(
                        f"Spark {name} exited with code {proc.returncode} while starting; "
                        f"see {self.root / (name + '.log')}"
                    )
            try:
                state = self.status()
            except (OSError, urllib.error.URLError, json.JSONDecodeError):
                state = None
            if state is not None and check(state):
                return state
            time.sleep(0.5)
        raise ClusterStartError(
            f"Spark standalone cluster not {ready} after {self.start_timeout_s:.0f}s; "
            f"logs in {self.root}"
        )

    def start(self) -> StandaloneCluster:
        """Start the master, then the workers; return once every worker is ALIVE."""
        self.root.mkdir(parents=True, exist_ok=True)
        port, webui = _free_port(self.host), _free_port(self.host)
        self.webui_url = f"http://{self.host}:{webui}"
        master = ["--host", self.host, "--port", str(port), "--webui-port", str(webui)]
        self._launch("master", [_MASTER_CLASS, *master])
        state = self._wait("up", lambda s: str(s.get("url", "")).startswith("spark://"))
        self.master_url = state["url"]
        for i in range(1, self.workers + 1):
            self._launch(
                f"worker-{i}",
                [
                    _WORKER_CLASS,
                    "--host", self.host,
                    "--cores", str(self.worker_cores),
                    "--memory", self.worker_memory,
                    "--webui-port", str(_free_port(self.host)),
                    "--work-dir", str(self.root / "work" / f"worker-{i}"),
                    self.master_url,
                ],
            )  # fmt: skip
        self._wait(
            f"ready with {self.workers} workers",
            lambda s: sum(w.get("state") == "ALIVE" for w in s.get("workers", [])) >= self.workers,
        )
        return self

    def stop(self) -> None:
        """Stop the workers, then the master (SIGTERM, then SIGKILL after 10 s)."""
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self._procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()

    def __enter__(self) -> StandaloneCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
