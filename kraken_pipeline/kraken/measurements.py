"""Fetching measurements: run the planned requests on a bounded pool, follow cursors, collect rows.

Each worker runs one planned request (a batch of aliases) to its end: it sends the batch, parses
every alias's page, and sends the aliases that still have a next page again with their cursors,
until none is left. There are twice as many workers as requests allowed in flight: a worker
holds one of settings.concurrency transport slots only while its request is on the wire, so
parsing one answer overlaps the network wait of the next request. A request that has room for
it also asks rateLimitInfo, which feeds the points budget (ratelimit.py).

A property that fails (no permission, retries exhausted) fails only its own supply points; an
error without which nothing can succeed (no token, the deadline) stops all workers and is
raised. Rows already read for a supply point that then failed are dropped: a partial series
would look complete to whoever reads the table, and its outcome says ok=False.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kraken_pipeline.kraken.errors import (
    INTERNAL_ERROR_ATTEMPTS,
    FatalError,
    KrakenError,
    ProtocolViolationError,
    ResponseFormatError,
    RetryableError,
    ShrinkRequestError,
    stops_everything,
)
from kraken_pipeline.kraken.graphql import GraphQLAnswer, GraphQLCaller, RequestTally
from kraken_pipeline.kraken.parsing import FetchedRows, FoldedRows, PageRows, fold_pages, parse_page
from kraken_pipeline.kraken.planning import MAX_COMPLEXITY, Target, plan_requests
from kraken_pipeline.kraken.points import Sent
from kraken_pipeline.kraken.progress import RequestShape, TargetProgress
from kraken_pipeline.kraken.queries import (
    ALIAS_COMPLEXITY,
    RATE_LIMIT_COMPLEXITY,
    RATE_LIMIT_FIELD,
    alias,
    measurements_document,
)
from kraken_pipeline.kraken.ratelimit import PointsBucket
from kraken_pipeline.kraken.retry import Deadline
from kraken_pipeline.kraken.settings import KrakenSettings
from kraken_pipeline.kraken.wire import BadPage, Connection, measurement_decoder
from kraken_pipeline.supply_points import SupplyPoint

log = logging.getLogger(__name__)


@dataclass
class _Run:
    """State shared by the workers of one fetch."""

    deadline: Deadline
    bucket: PointsBucket | None
    point_index: Mapping[str, int]
    rounded: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    abort: threading.Event = field(default_factory=threading.Event)
    arrivals: itertools.count[int] = field(default_factory=itertools.count)
    sends: itertools.count[int] = field(default_factory=itertools.count)
    # Every request answered at its first attempt, for measuring what the shape costs
    # (points.py); a retried or refused one makes the readings say nothing exact.
    sent: list[Sent] = field(default_factory=list)
    disturbed: bool = False


class _AbortedError(Exception):
    """Another worker hit an error that stops everything; this one stops quietly."""


class MeasurementsFetcher:
    """Plans and runs the requests of one fetch on a pool of worker threads."""

    def __init__(
        self, settings: KrakenSettings, caller: GraphQLCaller, page_size: RequestShape
    ) -> None:
        self._settings = settings
        self._caller = caller
        self._page_size = page_size
        # rateLimitInfo rides along when the budget follows Kraken's figures (no points_per_hour
        # configured) until a Kraken turns out not to know the field.
        self._ask_rate_limit = settings.points_per_hour is None

    def fetch(
        self,
        points: Sequence[SupplyPoint],
        start: datetime,
        end: datetime,
        deadline: Deadline,
        bucket: PointsBucket | None,
    ) -> Fetched:
        """Rows of every supply point over [start, end), the progress of every alias, and what
        was folded, rounded or found conflicting per supply point."""
        batches = plan_requests(
            points,
            start,
            end,
            page_size=self._page_size.current(),
            properties_per_request=self._page_size.aliases(),
            reserve_in_first=RATE_LIMIT_COMPLEXITY if self._ask_rate_limit else 0,
        )
        run = _Run(deadline, bucket, {p.supply_point_id: i for i, p in enumerate(points)})
        tables: list[pa.Table] = []
        progress: list[TargetProgress] = []
        workers = max(1, min(2 * self._settings.concurrency, len(batches)))
        with ThreadPoolExecutor(workers, thread_name_prefix="kraken") as pool:
            futures = [pool.submit(self._run_batch, batch, run) for batch in batches]
            self._collect(futures, run, tables, progress)
        del futures  # they hold their pages too, which fold_pages frees as it goes
        failed = {
            run.point_index[p.supply_point_id]
            for t in progress
            if t.error
            for p in t.target.supply_points
        }
        if failed:
            keep = pa.array(sorted(failed), pa.int32())
            tables = [t.filter(pc.invert(pc.is_in(t["point"], value_set=keep))) for t in tables]
        return _fetched(fold_pages(tables, points), progress, run, points)

    def _collect(
        self,
        futures: list[Future[tuple[list[pa.Table], list[TargetProgress]]]],
        run: _Run,
        tables: list[pa.Table],
        progress: list[TargetProgress],
    ) -> None:
        try:
            for future in as_completed(futures):
                batch_tables, batch_progress = future.result()
                tables.extend(batch_tables)
                progress.extend(batch_progress)
        except BaseException:
            run.abort.set()
            for future in futures:
                future.cancel()
            raise

    def _run_batch(
        self, batch: list[Target], run: _Run
    ) -> tuple[list[pa.Table], list[TargetProgress]]:
        progress = [TargetProgress(target) for target in batch]
        tables: list[pa.Table] = []
        # The aliases still to send, as many at once as the request shape allows now.
        while pending := [p for p in progress if not p.done][: self._page_size.aliases()]:
            if run.abort.is_set():
                raise _AbortedError
            sizes: list[int] = []  # the page size of each attempt, read when it is sent
            answer = self._send(pending, run, sizes)
            if answer is not None:
                for index, state in enumerate(pending):
                    self._take_page(state, alias(index), answer, run, tables, sizes[-1])
        for state in progress:
            _fail_if_nothing_matched(state)
        return tables, progress

    def _send(
        self, pending: list[TargetProgress], run: _Run, sizes: list[int]
    ) -> GraphQLAnswer | None:

        def variables() -> dict[str, Any]:
            sizes.append(self._page_size.current())
            return self._variables(pending, sizes[-1])

        tally = RequestTally()
        properties = sorted({p.target.property_id for p in pending})
        # The points a request of this shape was measured to cost (points.py), else the
        # complexity model's guess until it is measured.
        complexity = len(pending) * ALIAS_COMPLEXITY
        measured = self._page_size.measured_cost(len(pending), self._page_size.current())
        cost = measured or complexity
        with_rate_limit = (
            self._ask_rate_limit and complexity + RATE_LIMIT_COMPLEXITY <= MAX_COMPLEXITY
        )
        answer: GraphQLAnswer | None = None
        try:
            answer = self._caller.execute(
                measurements_document(len(pending), with_rate_limit),
                variables,
                operation=f"measurements of property {', '.join(properties)}",
                deadline=run.deadline,
                bucket=run.bucket,
                cost=cost + (RATE_LIMIT_COMPLEXITY if with_rate_limit else 0),
                aliases={alias(i): p.target.property_id for i, p in enumerate(pending)},
                tally=tally,
                decode=measurement_decoder(len(pending)),
            )
            return answer
        except ShrinkRequestError as exc:
            self._page_size.shrink(sizes[-1], len(pending), exc)
        except FatalError as exc:
            if with_rate_limit and _lacks_rate_limit_info(exc):
                log.warning("this Kraken does not know rateLimitInfo; budgeting without it")
                self._ask_rate_limit = False  # the pending aliases are sent again without it
                return None
            self._fail(pending, exc, properties)
        except KrakenError as exc:
            self._fail(pending, exc, properties)
        finally:
            send = next(run.sends)
            for state in pending:
                state.requests.update((send, attempt) for attempt in range(tally.sent))
            _note_sent(run, tally, len(pending), answer)
        return None

    @staticmethod
    def _fail(pending: list[TargetProgress], exc: KrakenError, properties: list[str]) -> None:
        if stops_everything(exc):
            raise exc
        log.warning("measurements of property %s failed: %s", ", ".join(properties), exc)
        for state in pending:
            state.fail(exc)

    def _variables(self, pending: list[TargetProgress], size: int) -> dict[str, Any]:
        variables: dict[str, Any] = {"first": size, "timezone": self._settings.timezone}
        for index, state in enumerate(pending):
            target = state.target
            variables[f"propertyId{index}"] = target.property_id
            variables[f"after{index}"] = state.after
            variables[f"startAt{index}"] = target.start.isoformat()
            variables[f"endAt{index}"] = target.end.isoformat()
            variables[f"filters{index}"] = target.filters()
        return variables

    def _take_page(
        self,
        state: TargetProgress,
        name: str,
        answer: GraphQLAnswer,
        run: _Run,
        tables: list[pa.Table],
        first: int,
    ) -> None:
        target = state.target
        error = answer.alias_errors.get(name)
        if error is not None:
            _alias_failed(state, error)
            return
        page = answer.data.get(name)
        if page is None:
            state.fail(_no_connection(target))
            return
        if isinstance(page, BadPage):
            refused = _bad_payload(target, page)
            if page.protocol:
                _violated(state, ProtocolViolationError(refused.message, code="protocol"))
                return
            log.warning("%s", refused)
            state.fail(refused)
            return
        try:
            _check_protocol(state, page, first)
            rows = parse_page(
                page.nodes,
                target,
                run.point_index,
                answer.received_at,
                next(run.arrivals),
                timezone=self._settings.timezone,
            )
        except ProtocolViolationError as exc:
            _violated(state, exc)
            return
        except KrakenError as exc:
            log.warning("%s; its supply points fail", exc)
            state.fail(exc)
            return
        _count_dropped(state, rows, run)
        tables.append(rows.table)
        state.pages += 1
        info = page.page_info
        state.after = info.end_cursor if info.has_next_page else state.after
        if info.end_cursor:
            state.cursors.add(info.end_cursor)
        state.done = not info.has_next_page


def _note_sent(run: _Run, tally: RequestTally, aliases: int, answer: GraphQLAnswer | None) -> None:
    """Keep what measuring the shape's cost needs of one request (points.py)."""
    with run.lock:
        if answer is None or tally.sent != 1 or tally.sent_at is None or tally.answered_at is None:
            run.disturbed = True
            return
        pages = answer.data.values() if isinstance(answer.data, dict) else ()
        nodes = sum(len(page.edges) for page in pages if isinstance(page, Connection))
        run.sent.append(Sent(tally.sent_at, tally.answered_at, aliases, nodes, answer.allowance))


def _check_protocol(state: TargetProgress, page: Connection, first: int) -> None:
    """Refuse a page that breaks the connection protocol before any of its rows are kept."""
    name = state.target.property_id
    if len(page.edges) > first:
        raise ProtocolViolationError(
            f"property {name} answered {len(page.edges)} edges where first was {first}",
            code="protocol",
        )
    cursor = page.page_info.end_cursor
    if not page.page_info.has_next_page:
        return
    if not cursor:
        raise ProtocolViolationError(
            f"property {name}: hasNextPage is true without an endCursor (field "
            "measurements.pageInfo.endCursor)",
            code="pagination",
        )
    if cursor in state.cursors:
        # A cursor seen before leads back to a page already read: following it never ends.
        raise ResponseFormatError(
            f"property {name}: endCursor {cursor[:40]!r} was already followed in "
            "this connection (the pages loop)",
            code="pagination",
        )


def _alias_failed(state: TargetProgress, error: KrakenError) -> None:
    """An error on this alias only: sent again while it is retryable and attempts remain (the
    other aliases' data was good), else its supply points fail."""
    attempts = 1
    if isinstance(error, RetryableError):
        attempts = error.max_attempts or INTERNAL_ERROR_ATTEMPTS
    state.alias_attempts += 1
    if state.alias_attempts < attempts:
        log.warning("%s; sending this property again", error)
        return
    log.warning("measurements of property %s failed: %s", state.target.property_id, error)
    state.fail(error)


def _violated(state: TargetProgress, error: ProtocolViolationError) -> None:
    """Send the same page once more (a transient glitch), then fail the alias naming the field."""
    if state.protocol_retries < 1:
        state.protocol_retries += 1
        log.warning("%s; asking for the page once more", error)
        return
    log.warning("%s; its supply points fail", error)
    state.fail(error)


def _count_dropped(state: TargetProgress, rows: PageRows, run: _Run) -> None:
    state.rows_kept += rows.table.num_rows
    state.outside_window += rows.outside_window
    state.unmatched += rows.unmatched
    state.unechoed += rows.unechoed
    if rows.rounded:
        with run.lock:
            for point, count in rows.rounded.items():
                run.rounded[point] = run.rounded.get(point, 0) + count
    if rows.unmatched or rows.outside_window:
        target = state.target
        log.warning(
            "property %s: dropped %d nodes of series not asked for, %d without a unit or outside "
            "%s..%s",
            target.property_id,
            rows.unmatched,
            rows.outside_window,
            target.start.isoformat(),
            target.end.isoformat(),
        )


def _fail_if_nothing_matched(state: TargetProgress) -> None:
    """An alias whose every node was dropped did not deliver: that is a failure, not no data."""
    if state.error is not None or state.rows_kept or not (state.unmatched or state.outside_window):
        return
    name = state.target.property_id
    if state.unechoed == state.unmatched and state.unmatched:
        message = (
            f"property {name}: the tenant echoes no series in metaData.utilityFilters, so none "
            f"of its {state.unmatched} nodes can be told apart"
        )
    else:
        message = (
            f"property {name}: all {state.unmatched + state.outside_window} nodes were dropped "
            f"({state.unmatched} of series not asked for, {state.outside_window} outside "
            f"{state.target.start.isoformat()}..{state.target.end.isoformat()})"
        )
    state.fail(ResponseFormatError(message, code="unmatched nodes"))


@dataclass(frozen=True)
class Fetched:
    """What one fetch produced; the mappings are keyed by supply_point_id."""

    rows: FetchedRows
    progress: list[TargetProgress]
    folded: Mapping[str, int]
    rounded: Mapping[str, int]
    conflicts: Mapping[str, KrakenError]
    # The requests, for measuring their cost; empty when one was retried or refused.
    sent: tuple[Sent, ...] = ()


def _fetched(
    rows: FoldedRows, progress: list[TargetProgress], run: _Run, points: Sequence[SupplyPoint]
) -> Fetched:
    """The fetch's result; a supply point whose duplicates disagree loses all its rows."""
    conflicts: dict[str, KrakenError] = {}
    for index, message in rows.conflicts.items():
        point = points[index]
        log.warning("supply point %s: %s; it fails", point.supply_point_id, message)
        conflicts[point.supply_point_id] = ResponseFormatError(
            f"supply point {point.supply_point_id}: {message}", code="conflicting duplicates"
        )
    kept = rows.rows.without(rows.conflicts)
    folded = {points[i].supply_point_id: n for i, n in rows.folded.items()}
    rounded = {points[i].supply_point_id: n for i, n in run.rounded.items() if i >= 0}
    sent = () if run.disturbed else tuple(run.sent)
    return Fetched(kept, progress, folded, rounded, conflicts, sent)


def _lacks_rate_limit_info(error: FatalError) -> bool:
    """Whether the request was refused because the schema has no rateLimitInfo field (a
    validation error, which carries no Kraken error code, naming the field)."""
    return type(error) is FatalError and error.code is None and RATE_LIMIT_FIELD in error.message


def _bad_payload(target: Target, page: BadPage) -> ResponseFormatError:
    return ResponseFormatError(
        f"property {target.property_id} answered measurements that do not have the documented "
        f"shape: {page.describe()}; its rows are refused rather than guessed",
        code="BAD_PAYLOAD",
    )


def _no_connection(target: Target) -> ResponseFormatError:
    return ResponseFormatError(
        f"property {target.property_id} answered no measurements (null property or connection); "
        "check the property id",
        code="no data",
    )
