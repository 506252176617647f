"""How an experiment's simulations are computed: one execution object, one Dask driver path.

Every experiment that runs many simulations hands them to an :class:`Execution` as tasks (a chunk of an
ensemble, of a sensitivity design, of EMA experiments): ensembles, and through them sweeps and comparisons,
sensitivity studies and EMA experiments all go through :meth:`Execution.map`.  An execution says

- where: in this process (``workers=1``), on a Dask ``LocalCluster`` of ``workers`` single-threaded processes
  (default: one per core), or on a running Dask scheduler given by its address (``scheduler``);
- with how many numba threads per worker (``threads``, default 1: parallelism comes from workers, see
  docs/ensembles.md);
- in chunks of how many runs (``chunk``, default :func:`default_chunk`);
- whom to tell about progress (``progress(done, total)``) and whether to resume an interrupted ensemble;
- how much memory the runs may use (``max_memory``, default what is available: economy.resources);
- the TLS credentials for a scheduler reached over ``tls://`` (``tls_ca_file``, ``tls_cert``, ``tls_key``).

Every service it starts listens on the loopback address only (:data:`LOOPBACK`): the local cluster's scheduler,
its workers and nannies, and the scheduler's HTTP endpoint, which serves no route (docs/security.md).  A
scheduler is reached within :data:`CONNECT_TIMEOUT` seconds or the experiment is refused before anything is
written (:meth:`Execution.check`).

The Dask path keeps about two tasks per worker thread in flight, so the driver never holds more than that,
retries a task that raised (a run's own failure never raises: it is recorded in its row), and warms every
worker up (loads the compiled kernels) before the first task.  Results never depend on where a task ran.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import resource
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import Any

import numba

from economy.params import Scenario
from economy.resources import check_memory
from runs.experiments.result import ExperimentError, ExperimentInputError

__all__ = [
    "CONNECT_TIMEOUT",
    "DEFAULT_CHUNK",
    "LOOPBACK",
    "Execution",
    "ExecutionReport",
    "Progress",
    "available_cores",
    "default_chunk",
    "error_text",
    "local_cluster",
    "numba_threads",
]

DEFAULT_CHUNK = 200
"""Runs per chunk by default (about 15 MB of market series per chunk for a 20-year monthly scenario)."""
MIN_CHUNK = 16
"""The fewest runs per chunk by default.  A baseline run took 88 ms in a batch of 1, 29 ms in a batch of 4, 21 ms in
one of 16 and 18 ms in one of 64 (one thread, this 2-core machine, load 4-5; docs/ensembles.md)."""
TASK_RETRIES = 2
"""Dask retries of a task that raised."""
ERROR_CHARS = 2000
LOOPBACK = "127.0.0.1"
"""The address every service this program starts listens on."""
CONNECT_TIMEOUT = 5
"""Seconds to reach a scheduler (given by ``--scheduler``) before the experiment is refused."""
WORKER_WAIT = 120
"""Seconds to wait for a scheduler's first worker."""
TLS_SCHEMES = ("tls://", "wss://")

Progress = Callable[[int, int], None]
"""``progress(done, total)``: runs done so far and in all."""


def default_chunk(n_runs: int) -> int:
    """Runs per chunk: :data:`DEFAULT_CHUNK`, or fewer so that ensembles still make about 8 chunks, but not fewer
    than :data:`MIN_CHUNK` (or all the runs): a batch's fixed costs (its set-up and each step's round trip from
    Python) are those of about four baseline runs, so smaller chunks spend most of their time on them."""
    return max(1, min(DEFAULT_CHUNK, max(math.ceil(n_runs / 8), min(n_runs, MIN_CHUNK))))


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def error_text(err: BaseException) -> str:
    """An exception as one bounded line: its type and message."""
    text = f"{type(err).__name__}: {err}"
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 3] + "..."


@contextlib.contextmanager
def numba_threads(threads: int) -> Iterator[None]:
    """Run the block with ``threads`` numba threads (clipped to 1..NUMBA_NUM_THREADS), then restore the count."""
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


@dataclass
class ExecutionReport:
    """How a :meth:`Execution.map` call went: where it ran and where the time went."""

    mode: str = "nothing to compute"
    startup_seconds: float = 0.0
    compute_seconds: float = 0.0
    peak_memory_mb: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Execution:
    """Where and how an experiment's tasks run (see the module docs); the same object serves every experiment.

    Parameters
    ----------
    workers
        Worker processes ``W`` of a local Dask cluster; ``1`` runs in this process; default one per core
        (divided by ``threads``).  Ignored with ``scheduler``.
    threads
        Numba threads ``T`` per worker; default 1.
    scheduler
        Address of a running Dask scheduler (``tcp://host:port``) to use instead of a local cluster.
    chunk
        Runs per task; default :func:`default_chunk` of the experiment's size (an ensemble resumed without
        ``chunk`` keeps the interrupted one's).
    progress
        Called as ``progress(done, total)`` while runs finish.
    resume
        Complete an interrupted ensemble in its output folder instead of starting afresh.
    max_memory
        Bytes the runs may use (``--max-memory``); default the memory available when the experiment starts
        (:func:`economy.resources.check_memory`).
    tls_ca_file, tls_cert, tls_key
        PEM files for a scheduler reached over ``tls://``: the certificate authority that signed the scheduler's
        certificate, this client's certificate, and its private key (None: in the certificate file).  Without
        them, Dask's own TLS configuration (``distributed.comm.tls``) applies.
    """

    workers: int | None = None
    threads: int | None = None
    scheduler: str | None = None
    chunk: int | None = None
    progress: Progress | None = None
    resume: bool = False
    max_memory: int | None = None
    tls_ca_file: str | Path | None = None
    tls_cert: str | Path | None = None
    tls_key: str | Path | None = None

    def check(self) -> None:
        """Raise :class:`ExperimentInputError` for a bad ``--chunk``, ``--workers``, ``--threads``, TLS options, or a
        scheduler that cannot be reached within :data:`CONNECT_TIMEOUT` seconds (so nothing is written)."""
        self._check_numbers()
        self._check_tls()
        if self.scheduler is not None:
            with self._connect():
                pass

    def check_memory(self, scenario: Scenario, batch_runs: int, *, record_labs: bool = False) -> None:
        """Refuse (:func:`economy.resources.check_memory`) a scenario whose batches of ``batch_runs`` runs need more
        memory than ``max_memory`` or, without it, than this machine has: one batch at a time in this process, one
        per worker of a local cluster.  A running scheduler's workers are elsewhere: checked against
        ``max_memory`` only."""
        if self.scheduler is not None and self.max_memory is None:
            return
        batches = 1 if self.scheduler is not None or self.in_process else self.n_workers
        check_memory(scenario, batch_runs, record_labs=record_labs, limit=self.max_memory, batches=batches)

    def _check_numbers(self) -> None:
        for name, value in (("--chunk", self.chunk), ("--workers", self.workers), ("--threads", self.threads)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise ExperimentInputError(f"{name} {value!r}: need a positive integer")
        for name, value in (("--chunk", self.chunk), ("--workers", self.workers)):
            if value is not None and value < 1:
                raise ExperimentInputError(f"{name} {value!r}: need a positive integer")
        limit = numba.config.NUMBA_NUM_THREADS
        if self.threads is not None and not 1 <= self.threads <= limit:
            raise ExperimentInputError(f"--threads {self.threads} is out of range: allowed 1..{limit} "
                                       "(numba.config.NUMBA_NUM_THREADS)")
        if self.max_memory is not None and (not isinstance(self.max_memory, int) or self.max_memory <= 0):
            raise ExperimentInputError(f"--max-memory {self.max_memory!r}: need a positive size in bytes")

    def _check_tls(self) -> None:
        given = [(name, value) for name, value in (("--tls-ca-file", self.tls_ca_file), ("--tls-cert", self.tls_cert),
                                                   ("--tls-key", self.tls_key)) if value is not None]
        for name, value in given:
            path = Path(value)
            if not path.is_file() or not os.access(path, os.R_OK):
                raise ExperimentInputError(f"{name} {path}: no such readable file")
        tls = self.scheduler is not None and self.scheduler.startswith(TLS_SCHEMES)
        if given and not tls:
            where = f"--scheduler {self.scheduler}" if self.scheduler else "the local cluster (no --scheduler)"
            raise ExperimentInputError(f"{given[0][0]} is for a scheduler reached over tls://, but {where} is not")
        if tls and given and (self.tls_ca_file is None or self.tls_cert is None):
            raise ExperimentInputError(f"--scheduler {self.scheduler}: TLS needs --tls-ca-file and --tls-cert (and "
                                       "--tls-key unless the key is in the certificate file)")
        if tls and not given and self.security().get_connection_args("client").get("ssl_context") is None:
            raise ExperimentInputError(
                f"--scheduler {self.scheduler} is a TLS address, but no credentials were given: pass --tls-ca-file, "
                "--tls-cert and --tls-key (or set Dask's distributed.comm.tls configuration); docs/security.md"
            )

    def security(self) -> Any:
        """The :class:`distributed.security.Security` for the scheduler: from the TLS files if given (encryption
        required), else Dask's configuration."""
        from distributed.security import Security

        if self.tls_ca_file is None and self.tls_cert is None:
            return Security()
        return Security(tls_ca_file=str(self.tls_ca_file), tls_client_cert=str(self.tls_cert),
                        tls_client_key=None if self.tls_key is None else str(self.tls_key), require_encryption=True)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Any]:
        """A client of the scheduler, closed on exit; refused (bad input) if it cannot be reached in time."""
        from distributed import Client

        try:
            client = Client(self.scheduler, security=self.security(), timeout=f"{CONNECT_TIMEOUT}s",
                            set_as_default=False)
        except Exception as err:
            raise ExperimentInputError(f"--scheduler {self.scheduler}: cannot connect within {CONNECT_TIMEOUT} s "
                                       f"({error_text(err)}); is the scheduler running, and are its address and "
                                       "TLS settings right?") from None
        try:
            yield client
        finally:
            client.close(timeout=30)

    @property
    def n_threads(self) -> int:
        """Numba threads per worker: ``threads``, by default 1.

        A chunk's kernels are small (runs x labs per step), so a second thread per worker buys little and, on a
        busy machine, threads that wait for a core made a chunk ten times slower (docs/ensembles.md).
        """
        return 1 if self.threads is None else self.threads

    @property
    def n_workers(self) -> int:
        """Worker processes: ``workers``, by default one per available core (divided by the threads)."""
        return max(1, available_cores() // self.n_threads) if self.workers is None else self.workers

    @property
    def in_process(self) -> bool:
        """True when the tasks run in this process (one worker, no scheduler)."""
        return self.scheduler is None and self.n_workers == 1

    def chunk_size(self, n_runs: int) -> int:
        """Runs per task for an experiment of ``n_runs`` runs."""
        return self.chunk if self.chunk is not None else default_chunk(n_runs)

    def report(self, done: int, total: int) -> None:
        """Pass progress on to ``progress``, if any."""
        if self.progress is not None:
            self.progress(done, total)

    def with_progress(self, progress: Progress | None) -> Execution:
        return replace(self, progress=progress)

    @contextlib.contextmanager
    def shared(self) -> Iterator[Execution]:
        """This execution for several experiments in a row (a sweep's points, a comparison's arms).

        With several local workers, one :func:`local_cluster` serves the whole block: the execution yielded
        names its scheduler.  With a scheduler, or in this process, it is this execution itself.
        """
        if self.scheduler is not None or self.n_workers == 1:
            yield self
            return
        with local_cluster(self.n_workers) as cluster:
            yield replace(self, scheduler=cluster.scheduler_address)

    def map(self, function: Callable[[Any], Any], tasks: Iterable[Any], on_result: Callable[[Any], None], *,
            n_tasks: int, warm_up: Callable[[], Any] | None = None, retry_hint: str = "") -> ExecutionReport:
        """Run ``function(task)`` for every task, here or on Dask, and call ``on_result`` with each result.

        Results arrive in completion order.  ``warm_up()`` runs once per process first (it loads the compiled
        kernels, so the timings separate start-up from computing).  A task that still raises after
        :data:`TASK_RETRIES` retries raises :class:`ExperimentError` (``retry_hint`` is appended to its
        message); an unreachable scheduler raises :class:`ExperimentInputError`.
        """
        report = ExecutionReport()
        if n_tasks == 0:
            return report
        start = time.perf_counter()
        if self.in_process:
            report.mode = "in-process"
            if warm_up is not None:
                with numba_threads(self.n_threads):
                    warm_up()
            t0 = time.perf_counter()
            report.startup_seconds = t0 - start
            for task in tasks:
                on_result(function(task))
            report.compute_seconds = time.perf_counter() - t0
            report.peak_memory_mb = {"driver": _peak_rss_mb()}
            return report
        with self._client(report) as client:
            if warm_up is not None:
                client.run(warm_up)
            t0 = time.perf_counter()
            report.startup_seconds = t0 - start
            _submit_all(client, function, iter(tasks), on_result, retry_hint)
            report.compute_seconds = time.perf_counter() - t0
            with contextlib.suppress(Exception):
                report.peak_memory_mb = {"driver": _peak_rss_mb(),
                                         "workers": sorted(client.run(_peak_rss_mb).values(), reverse=True)}
        return report

    @contextlib.contextmanager
    def _client(self, report: ExecutionReport) -> Iterator[Any]:
        from distributed import Client

        if self.scheduler is not None:
            report.mode = f"scheduler {self.scheduler}"
            with self._connect() as client:
                try:
                    client.wait_for_workers(1, timeout=WORKER_WAIT)
                except TimeoutError:
                    raise ExperimentError(f"--scheduler {self.scheduler}: no worker joined within {WORKER_WAIT} s; "
                                          "start workers and rerun with --resume") from None
                yield client
            return
        report.mode = "local-cluster"
        with local_cluster(self.n_workers) as cluster:
            client = Client(cluster, set_as_default=False)
            try:
                yield client
            finally:
                client.close(timeout=30)


@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A Dask LocalCluster of ``workers`` single-threaded worker processes, closed on exit.

    One thread per worker process: a task sets its own numba thread count (:func:`numba_threads`).  Everything
    listens on :data:`LOOPBACK` only: the scheduler, the workers and their nannies.  No dashboard; the HTTP
    endpoint the scheduler and the workers always open serves no route (nothing here uses it) on a free port, so
    two experiments on one machine at the same time do not compete for port 8787.
    """
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host=LOOPBACK,
                               dashboard_address=None, worker_dashboard_address=None,
                               scheduler_kwargs={"dashboard": False, "dashboard_address": f"{LOOPBACK}:0"},
                               silence_logs=logging.ERROR)
    try:
        yield cluster
    finally:
        cluster.close(timeout=30)


def _submit_all(client: Any, function: Callable[[Any], Any], tasks: Iterator[Any],
                on_result: Callable[[Any], None], retry_hint: str) -> None:
    """Keep about two tasks per worker thread in flight; the client holds only the results in transit."""
    from distributed import as_completed

    def in_flight() -> int:
        return max(4, 2 * sum(client.nthreads().values()))

    submitted = 0

    def submit(task: Any) -> Any:
        nonlocal submitted
        submitted += 1
        return client.submit(function, task, pure=False, retries=TASK_RETRIES,
                             key=f"multipolar-task-{submitted - 1}-{uuid.uuid4().hex[:8]}")

    queue = as_completed([submit(task) for task in islice(tasks, in_flight())], loop=client.loop)
    for future in queue:
        try:
            result = future.result()
        except Exception as err:
            raise ExperimentError(f"a chunk task failed ({error_text(err)}){retry_hint}") from err
        on_result(result)
        future.release()
        while queue.count() < in_flight():
            task = next(tasks, None)
            if task is None:
                break
            queue.add(submit(task))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
