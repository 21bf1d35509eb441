"""The load generator of ``bench_server.py``: search and upload clients (threads, each with
its own ``httpx.Client``), what they saw, and the server's memory while they ran."""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
from rich.console import Console

TERMINAL = ("USABLE", "NONUSABLE")  # an accepted upload must end as one of these
err = Console(stderr=True)


def rss_bytes(pid: int) -> int | None:
    try:
        import psutil  # type: ignore[import-not-found]

        return int(psutil.Process(pid).memory_info().rss)
    except ImportError:
        pass
    except Exception:
        return None
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class Recorder:
    """What the clients saw (shared by the client threads). A request that times out
    means the server is stuck: ``abort`` is set and every client stops."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.abort = threading.Event()
        self.lock = threading.Lock()
        self.search_s: list[float] = []
        self.search_done: list[float] = []  # when each search answered (perf_counter)
        self.upload_s: list[float] = []
        self.codes: Counter[str] = Counter()
        self.errors: list[str] = []
        self.accepted: list[str] = []
        self.final: dict[str, str] = {}
        self.drained_at: list[float] = []

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message[:300])

    def failed(self, what: str, exc: Exception) -> None:
        if isinstance(exc, httpx.TimeoutException):
            self.abort.set()
            self.error(f"{what}: no answer in {self.timeout:g} s ({exc!r}): the server hangs")
        else:
            self.error(f"{what}: {exc!r}")


def search_client(
    base: str, bodies: list[bytes], first: int, deadline: float, rec: Recorder
) -> None:
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=base, timeout=rec.timeout) as client:
        i = first
        while time.perf_counter() < deadline and not rec.abort.is_set():
            body = bodies[i % len(bodies)]
            i += 1
            start = time.perf_counter()
            try:
                response = client.post("/search", content=body, headers=headers)
            except Exception as exc:
                rec.failed("search", exc)
                continue
            end = time.perf_counter()
            with rec.lock:
                rec.search_s.append(end - start)
                rec.search_done.append(end)
                rec.codes[f"search {response.status_code}"] += 1
            if response.status_code != 200:
                rec.error(f"search: HTTP {response.status_code} {response.text[:200]}")
            elif not response.json().get("singles"):
                rec.error("search: HTTP 200 with no result")


def upload_client(
    base: str,
    token: str,
    pool: list[tuple[str, bytes, str]],
    every: float,
    deadline: float,
    drain_timeout: float,
    rec: Recorder,
) -> None:
    """Post one package every ``every`` seconds until the deadline, then wait for each
    accepted upload to leave "pending" (or the drain timeout)."""
    mine: list[str] = []
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=rec.timeout, headers=auth) as client:
        due = time.perf_counter()
        for name, data, semantic in pool:
            if due >= deadline or rec.abort.is_set():
                break
            time.sleep(max(0.0, due - time.perf_counter()))
            due += every
            start = time.perf_counter()
            try:
                response = client.post(
                    "/learnwares",
                    files={"file": (name, data, "application/zip")},
                    data={"semantic_spec": semantic},
                )
            except Exception as exc:
                rec.failed("upload", exc)
                continue
            with rec.lock:
                rec.upload_s.append(time.perf_counter() - start)
                rec.codes[f"upload {response.status_code}"] += 1
            if response.status_code == 202:
                mine.append(response.json()["id"])
            else:
                rec.error(f"upload: HTTP {response.status_code} {response.text[:200]}")
        with rec.lock:
            rec.accepted.extend(mine)
        waiting = set(mine)
        give_up = max(time.perf_counter(), deadline) + drain_timeout
        while waiting and time.perf_counter() < give_up and not rec.abort.is_set():
            for lid in sorted(waiting):
                try:
                    response = client.get(f"/learnwares/{lid}")
                except Exception as exc:
                    rec.failed(f"poll {lid}", exc)
                    break
                if response.status_code == 404:
                    state = "missing"
                elif response.status_code != 200:
                    rec.error(f"poll {lid}: HTTP {response.status_code} {response.text[:200]}")
                    continue
                else:
                    state = response.json()["status"]
                if state != "pending":
                    waiting.discard(lid)
                    with rec.lock:
                        rec.final[lid] = state
            if waiting:
                time.sleep(0.25)
        with rec.lock:
            why = "no answer (server hung)" if rec.abort.is_set() else "pending (drain timeout)"
            rec.final.update(dict.fromkeys(waiting, why))
            rec.drained_at.append(time.perf_counter())


def run_threads(targets: list[Callable[[], None]]) -> list[threading.Thread]:
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    return threads


def join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        while thread.is_alive():
            thread.join(timeout=0.5)  # stays responsive to Ctrl-C


def load(
    base: str,
    token: str,
    pid: int,
    bodies: list[bytes],
    pools: list[list[tuple[str, bytes, str]]],
    args: argparse.Namespace,
) -> dict[str, Any]:
    rec = Recorder(args.timeout)
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    t0 = time.perf_counter()

    def sample() -> None:
        while not stop.is_set():
            rss = rss_bytes(pid)
            if rss is not None:
                samples.append((time.perf_counter() - t0, rss))
            stop.wait(0.5)

    sampler = run_threads([sample])
    try:
        with httpx.Client(base_url=base, timeout=300) as client:  # the index loads here
            start = time.perf_counter()
            warm = client.post(
                "/search", content=bodies[0], headers={"content-type": "application/json"}
            )
            first_s = time.perf_counter() - start
            if warm.status_code != 200:
                raise RuntimeError(f"warm-up search failed: {warm.status_code} {warm.text[:300]}")
        err.print(
            f"load: {args.search_clients} search + {args.upload_clients} upload clients "
            f"for {args.seconds:g} s"
        )
        start = time.perf_counter()
        deadline = start + args.seconds
        searchers = run_threads(
            [
                lambda i=i: search_client(base, bodies, i * 7, deadline, rec)
                for i in range(args.search_clients)
            ]
        )
        uploaders = run_threads(
            [
                lambda pool=pool: upload_client(
                    base, token, pool, args.upload_every, deadline, args.drain_timeout, rec
                )
                for pool in pools
            ]
        )
        join(searchers)
        search_end = max(rec.search_done, default=time.perf_counter())
        err.print("load over; waiting for the uploads' checks")
        join(uploaders)
        drain_s = max(rec.drained_at, default=deadline) - deadline
        if rec.abort.is_set():
            err.print("[red]the server stopped answering: dumping its threads' stacks")
            os.kill(pid, signal.SIGUSR1)
            time.sleep(1.0)
    finally:
        stop.set()
        join(sampler)
    lost = sorted(lid for lid in rec.accepted if rec.final.get(lid) not in TERMINAL)
    return {
        "first_search_s": first_s,
        "search_latencies_s": rec.search_s,
        "search_wall_s": search_end - start,
        "upload_latencies_s": rec.upload_s,
        "status_codes": dict(rec.codes),
        "errors": rec.errors,
        "accepted": len(rec.accepted),
        "final_states": dict(Counter(rec.final.values())),
        "lost": lost,
        "drain_s": max(0.0, drain_s),
        "hung": rec.abort.is_set(),
        "rss_samples": samples,
    }


# -- report -----------------------------------------------------------------------------------
