"""Training the market mapping: a market job (``dock hetero train``), never part of ``add``.

:func:`train_market_mapping` trains a :class:`HeteroMap` on the RKME reduced-set points of
every USABLE learnware that describes all its input columns, one training table per
feature space (learnwares with the same column descriptions, in order, share a table; the
`learnware` package groups by described column *indices* instead, which merges unrelated
tables), saves it as the next mapping version, regenerates every described learnware's
:class:`HeteroMapTableSpecification` with it, and only then makes it current (see
:mod:`.store`): searches keep using the previous version until the switch. One training
at a time per market (a file lock).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs
import filelock
import numpy as np

from learnware_dock.domain import Status
from learnware_dock.errors import DockError, SpecificationError
from learnware_dock_hetero.artifact import MAPPING_FORMAT, MappingInfo, save_mapping
from learnware_dock_hetero.columns import ENCODER
from learnware_dock_hetero.mapping import (
    RKME,
    MarketMapping,
    columns_sha,
    encoder_for,
    learnware_descriptions,
    open_mapping,
)
from learnware_dock_hetero.model import HeteroMap, MappingConfig
from learnware_dock_hetero.spec import HeteroMapTableSpecification
from learnware_dock_hetero.store import HeteroStore, MappingVersion, StoredSpec, now
from learnware_dock_hetero.training import TrainingOptions, train_mapping
from learnware_dock_rkme import RKMETableSpecification, median_gamma

if TYPE_CHECKING:
    from learnware_dock.domain import Learnware
    from learnware_dock.market import Market

#: called as ``progress(stage, done, total)``; stage is "training" or "specs"
Progress = Callable[[str, int, int], None]
#: reduced-set points sampled for the median heuristic of the embedding kernel
GAMMA_SAMPLE = 2000


class TrainingError(DockError):
    """The market mapping cannot be trained (nothing to train on, a training running)."""


@attrs.frozen
class Described:
    """A learnware with its RKME and the descriptions of its columns."""

    learnware: Learnware
    rkme: RKMETableSpecification
    rkme_sha: str
    descriptions: list[str]


@attrs.frozen
class TrainReport:
    """What a training did."""

    version: int
    trained_on: int  # USABLE described learnwares
    tables: int  # distinct feature spaces among them
    specs: int  # hetero specs written (every described learnware)
    skipped: dict[str, str]  # learnware id -> why it has no hetero spec
    gamma: float
    losses: list[float]
    seconds: float


def described_learnwares(market: Market) -> tuple[list[Described], dict[str, str]]:
    """Every learnware with an RKME and a description of each column; the others with why."""
    found, skipped = [], {}
    for lw in market.list():
        ref = lw.stat_spec_ref(RKME)
        if ref is None:
            skipped[lw.id] = f"no {RKME}"
            continue
        try:
            rkme = market.stat_spec(lw, RKME)
        except SpecificationError as exc:
            skipped[lw.id] = f"its {RKME} does not load: {exc}"
            continue
        assert isinstance(rkme, RKMETableSpecification)
        descriptions = learnware_descriptions(lw, rkme.dimension)
        if descriptions is None:
            skipped[lw.id] = "its semantic spec does not describe every input column"
            continue
        found.append(Described(lw, rkme, ref.sha256, descriptions))
    return found, skipped


def make_spec(item: Described, mapping: MarketMapping) -> StoredSpec:
    spec = HeteroMapTableSpecification.from_rkme(item.rkme, item.descriptions, mapping)
    return StoredSpec(item.learnware.id, item.rkme_sha, columns_sha(item.descriptions), spec)


def _tables(items: list[Described], market: Market) -> list[tuple[np.ndarray, np.ndarray]]:
    """One (rows, column embeddings) training table per distinct column-description list."""
    groups: dict[tuple[str, ...], list[np.ndarray]] = {}
    for item in items:
        groups.setdefault(tuple(item.descriptions), []).append(item.rkme.z)
    encoder = encoder_for(market.root)
    return [(np.vstack(zs), encoder.encode(list(names))) for names, zs in groups.items()]


def train_market_mapping(
    market: Market,
    *,
    config: MappingConfig | None = None,
    options: TrainingOptions | None = None,
    progress: Progress | None = None,
    threads: int | None = 1,
) -> TrainReport:
    """Train, save, regenerate the specs and publish the next mapping version.

    threads: torch threads while it runs (restored after; None: torch's default). The
    mapping's matrices are small: one thread is as fast on an idle machine and several
    times faster on a busy one (measured: 33 s against 189 s for the test market on two
    loaded cores).
    """
    import torch

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _train(market, config, options, progress)
    finally:
        torch.set_num_threads(previous)


def _train(
    market: Market,
    config: MappingConfig | None,
    options: TrainingOptions | None,
    progress: Progress | None,
) -> TrainReport:
    start = time.perf_counter()
    store = HeteroStore(market.root)
    lock = filelock.FileLock(str(store.folder / "train.lock"))
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        store.close()
        raise TrainingError(
            f"a training of market {market.root}'s mapping is already running"
        ) from None
    try:
        items, skipped = described_learnwares(market)
        usable = [i for i in items if i.learnware.status is Status.USABLE]
        if not usable:
            raise TrainingError(
                "no USABLE learnware describes all its input columns (semantic spec "
                "Input.Description) and has an RKMETableSpecification: nothing to train on"
            )
        tables = _tables(usable, market)

        def step(done: int, total: int) -> None:
            if progress is not None:
                progress("training", done, total)

        model, losses = train_mapping(
            tables, config or MappingConfig(), options or TrainingOptions(), progress=step
        )
        version = store.next_version()
        file = f"mapping-v{version}.safetensors"
        info = MappingInfo(
            version=version,
            format=MAPPING_FORMAT,
            config=model.config,
            encoder=ENCODER,
            trained_on=len(usable),
            created=now(),
        )
        gamma = _embedding_gamma(model, tables, np.random.default_rng(0))
        save_mapping(store.folder / file, model, info)
        row = MappingVersion(version, file, gamma, info.created, len(usable))
        store.add_version(row)
        try:
            mapping = open_mapping(market.root, row)
            written = _write_specs(store, mapping, items, progress)
            old = store.publish(version)
        except BaseException:
            store.discard(version)
            (store.folder / file).unlink(missing_ok=True)
            raise
        for name in old:
            (store.folder / name).unlink(missing_ok=True)
        return TrainReport(
            version=version,
            trained_on=len(usable),
            tables=len(tables),
            specs=written,
            skipped=skipped,
            gamma=gamma,
            losses=losses,
            seconds=time.perf_counter() - start,
        )
    finally:
        lock.release()
        store.close()


def _embedding_gamma(
    model: HeteroMap, tables: list[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator
) -> float:
    """The median heuristic on embedded training points (a sample across tables)."""
    per_table = max(1, GAMMA_SAMPLE // len(tables))
    points = []
    for rows, columns in tables:
        pick = rows if len(rows) <= per_table else rows[rng.choice(len(rows), per_table, False)]
        points.append(model.embed(pick, columns))
    return median_gamma(np.vstack(points))


def _write_specs(
    store: HeteroStore, mapping: MarketMapping, items: list[Described], progress: Progress | None
) -> int:
    """Every described learnware's spec under the new version (not current yet). One
    added while this runs gets the previous version's spec from the ``add`` hook; the
    searcher fills in the new version's on its next search."""
    for done, item in enumerate(items, 1):
        store.put(make_spec(item, mapping))
        if progress is not None:
            progress("specs", done, len(items))
    return len(items)
