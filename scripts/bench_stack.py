"""What the real stack adds to a turn: ``attune api`` + ``attune worker`` over Redis Streams and
PostgreSQL (production mode, started as the fault suite starts them: tests/faults/stack.py)
against the worker pipeline called in-process, in one run, on the zero-cost ``echo`` model.

1. Time to first token (TTFT). In-process: ``worker.pipeline.generate`` called directly, from the
   call to its first released text (``ctx.emit(TokenEvent)``). Through the stack: a client sends a
   ``message`` frame and times send → first ``token`` frame, and ack → first ``token`` frame.
   N=1 (one socket, turns one after another) and N concurrent sessions (N sockets, all sending at
   once; ``--rounds`` times). The overhead is stack minus in-process, per percentile.
2. Turns per second at N: N turns over the time from the first send to the last ``done``.
3. Time from the first generated token (the model's first chunk) to the first visible text (the
   first ``TokenEvent`` the pipeline releases after the toxicity check), in-process on a model
   that produces tokens: the echo model with a per-token delay (``--visible-delay``), or a real
   chat model of models.toml (``--visible-model``).
4. ``--profile``: a second stack whose processes log timestamps at each step of a turn
   (scripts/stack_probe.py), N=1: where the overhead goes.

    ulimit -n 8192; HF_HUB_OFFLINE=1 python scripts/bench_stack.py --concurrency 200 --profile

Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # this checkout's packages, and tests/ (not installed)

MODEL = "echo"
WORDS = 12
BENCH_REDIS = os.environ.get("ATTUNE_BENCH_REDIS", "redis://127.0.0.1:6379/14")
OUTPUT = REPO / "test-output" / "bench-stack"
PROBE = REPO / "scripts" / "stack_probe.py"


# --- pure helpers (tests/unit/scripts/test_bench_stack.py) --------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between order statistics (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float], quantiles: Sequence[float] = (50, 95, 99)) -> dict[str, float]:
    return {f"p{q:g}": percentile(values, q) for q in quantiles}


@dataclass
class Row:
    what: str
    n: int
    samples: int
    stack: float  # ms, or turns/s
    baseline: float | None = None  # the in-process value
    unit: str = "ms"

    @property
    def difference(self) -> float | None:
        return None if self.baseline is None else self.stack - self.baseline

    @property
    def ratio(self) -> float | None:
        return None if not self.baseline else self.stack / self.baseline


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def render_table(rows: Sequence[Row]) -> str:
    """A Markdown table: the stack's value, the in-process baseline, their difference and ratio."""
    lines = [
        "| what | N | samples | stack | in-process | stack − in-process | stack / in-process |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        difference = _number(row.difference, 2 if row.unit == "ms" else 1)
        lines.append(
            f"| {row.what} ({row.unit}) | {row.n} | {row.samples} | {_number(row.stack, 2)} | "
            f"{_number(row.baseline, 2)} | {difference} | "
            f"{'' if row.ratio is None else f'{row.ratio:.2f}x'} |"
        )
    return "\n".join(lines)


def ttft_rows(label: str, n: int, stack_ms: Sequence[float], baseline_ms: Sequence[float] | None) -> list[Row]:
    """p50 and p99 rows of one TTFT measurement against its in-process baseline."""
    return [
        Row(
            f"{label} p{q}",
            n,
            len(stack_ms),
            percentile(stack_ms, q),
            None if baseline_ms is None else percentile(baseline_ms, q),
        )
        for q in (50, 99)
    ]


def segments(marks: dict[str, float], order: Sequence[tuple[str, str, str]]) -> dict[str, float]:
    """Milliseconds between named marks of one turn: ``order`` holds (segment name, from mark, to mark);
    a segment whose marks are missing is left out."""
    return {name: (marks[end] - marks[start]) * 1000 for name, start, end in order if start in marks and end in marks}


def breakdown(
    turns: Sequence[dict[str, float]], order: Sequence[tuple[str, str, str]]
) -> list[tuple[str, float, float]]:
    """(segment, p50 ms, p90 ms) over the turns, in ``order``."""
    per_turn = [segments(marks, order) for marks in turns]
    result = []
    for name, _start, _end in order:
        values = [s[name] for s in per_turn if name in s]
        if values:
            result.append((name, percentile(values, 50), percentile(values, 90)))
    return result


def assign_marks(
    sends: Sequence[float], events: Sequence[tuple[float, str]], first_only: bool = True
) -> list[dict[str, float]]:
    """Give each probe event (timestamp, mark) to the turn sent last before it (turns taken one after
    another, N=1); within a turn, a mark's first occurrence counts unless ``first_only`` is False."""
    turns: list[dict[str, float]] = [{} for _ in sends]
    for stamp, mark in sorted(events):
        index = next((i for i in range(len(sends) - 1, -1, -1) if sends[i] <= stamp), None)
        if index is None:
            continue
        if first_only and mark in turns[index]:
            continue
        turns[index][mark] = stamp
    return turns


# --- in-process: the worker pipeline, called directly --------------------------------------------


def echo_registry(token_delay_s: float, words: int = WORDS) -> str:
    from tests.faults.stack import echo_registry as registry

    return registry(token_delay_s, words)


async def build_context(models_file: Path, home: Path):  # -> pipeline.Context
    from worker import pipeline
    from worker.config import WorkerSettings
    from worker.registry import ModelManager, Registry

    settings = WorkerSettings(models_file=models_file, home=home, device="cpu", worker_id="bench-inprocess")
    registry = Registry.from_file(settings.models_file, settings.home, "cpu")
    ctx = pipeline.Context.build(settings, ModelManager(registry, settings.keep_alive_s, settings.memory_budget_gb))
    await asyncio.to_thread(lambda: ctx.safety.matcher)  # as the worker does before its first job
    return ctx


def _job(model: str, content: str, number: int):
    from attune.contract import ChatTurn, GenerateJob

    return GenerateJob(
        session_id=f"bench-{uuid.uuid4().hex[:8]}",
        user_message_id=number,
        model=model,
        history=[ChatTurn(role="user", content=content)],
    )


def message_text(client_id: str) -> str:
    """Every turn's text: ordinary, no crisis, unique (so the response cache never answers)."""
    return f"work was a lot today and I am tired {client_id[:8]}"


@dataclass
class InProcessTurn:
    ttft_ms: float
    total_ms: float


async def inprocess_turn(ctx, model: str, number: int) -> InProcessTurn:
    from attune.contract import TokenEvent
    from worker import pipeline

    first: list[float] = []

    async def emit(event) -> None:
        if isinstance(event, TokenEvent) and not first:
            first.append(time.perf_counter())

    job = _job(model, message_text(uuid.uuid4().hex), number)
    started = time.perf_counter()
    await pipeline.generate(replace(ctx, emit=emit), job)
    ended = time.perf_counter()
    return InProcessTurn((first[0] - started) * 1000, (ended - started) * 1000)


async def inprocess(ctx, n1_turns: int, concurrency: int, rounds: int) -> dict[str, object]:
    for number in range(5):  # warm: first calls pay imports and caches
        await inprocess_turn(ctx, MODEL, number)
    check_user = ctx.safety.check_user
    crisis_ms: list[float] = []

    def timed_check(*args, **kwargs):
        started = time.perf_counter()
        try:
            return check_user(*args, **kwargs)
        finally:
            crisis_ms.append((time.perf_counter() - started) * 1000)

    ctx.safety.check_user = timed_check  # only while N=1 runs: the crisis check's share of the baseline
    single = [await inprocess_turn(ctx, MODEL, i) for i in range(n1_turns)]
    del ctx.safety.check_user
    many: list[InProcessTurn] = []
    walls = []
    for _ in range(rounds):
        started = time.perf_counter()
        many += await asyncio.gather(*(inprocess_turn(ctx, MODEL, i) for i in range(concurrency)))
        walls.append(time.perf_counter() - started)
    return {
        "n1": [t.ttft_ms for t in single],
        "crisis_ms": crisis_ms,
        "many": [t.ttft_ms for t in many],
        "turns_per_s": concurrency * rounds / sum(walls),
    }


async def first_visible(ctx, model: str, turns: int) -> list[float]:
    """Per turn, ms from the model's first non-empty chunk to the first text the pipeline releases."""
    from attune.contract import TokenEvent
    from scripts.bench_batching import QUESTIONS  # the engine benchmark's chat openings
    from worker import pipeline

    chat_model = await ctx.models.get(model)
    original = chat_model.stream
    firsts: list[float] = []

    def stream(request):
        async def timed():
            async for chunk in original(request):
                if chunk.text and not firsts:
                    firsts.append(time.perf_counter())
                yield chunk

        return timed()

    released: list[float] = []

    async def emit(event) -> None:
        if isinstance(event, TokenEvent) and not released:
            released.append(time.perf_counter())

    chat_model.stream = stream  # an instance attribute: only this benchmark's model object
    gaps = []
    try:
        for number in range(turns + 1):
            firsts.clear()
            released.clear()
            text = QUESTIONS[number % len(QUESTIONS)] + ("" if number < len(QUESTIONS) else f" ({number})")
            await pipeline.generate(replace(ctx, emit=emit), _job(model, text, number))
            if number and firsts and released:  # the first turn warms up
                gaps.append((released[0] - firsts[0]) * 1000)
    finally:
        del chat_model.stream
    return gaps


# --- through the stack -----------------------------------------------------------------------------


@dataclass
class StackTurn:
    send: float  # time.time() at send
    send_to_ack_ms: float
    ack_to_first_ms: float
    send_to_first_ms: float
    send_to_done_ms: float
    worker_ttft_ms: float | None  # the worker's own: from the backend's enqueue to its first released text


async def stack_turn(ws, timeout_s: float = 120) -> StackTurn:
    client_id = uuid.uuid4().hex
    payload = json.dumps({"type": "message", "client_id": client_id, "content": message_text(client_id)})
    wall = time.time()
    sent = time.perf_counter()
    await ws.send(payload)
    acked = first = None
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout_s))
        now = time.perf_counter()
        kind = frame["type"]
        if kind == "ack" and frame.get("client_id") == client_id:
            acked = now
        elif kind == "token" and first is None and acked is not None:
            first = now
        elif kind == "done" and acked is not None:
            assert first is not None, "a reply with no token frame"
            ms = lambda t: (t - sent) * 1000  # noqa: E731
            return StackTurn(
                wall, ms(acked), (first - acked) * 1000, ms(first), ms(now), frame["timings"].get("ttft_ms")
            )
        elif kind == "error":
            raise AssertionError(f"the turn failed: {frame}")


async def open_sessions(url: str, count: int, per_account: int = 50) -> list[tuple[object, str]]:
    from tests.faults.load import accounts, sessions_for

    people = await accounts(url, max(1, -(-count // per_account)))
    batches = await asyncio.gather(*(sessions_for(p, per_account) for p in people))
    return [(p, s) for p, ss in zip(people, batches, strict=True) for s in ss][:count]


async def through_stack(url: str, n1_turns: int, concurrency: int, rounds: int) -> dict[str, object]:
    from tests.faults.load import open_socket

    sessions = await open_sessions(url, concurrency)
    person, session = sessions[0]
    ws = await open_socket(url, person, session)
    try:
        for _ in range(5):
            await stack_turn(ws)
        single = [await stack_turn(ws) for _ in range(n1_turns)]
    finally:
        await ws.close()
    sockets = await asyncio.gather(*(open_socket(url, p, s) for p, s in sessions))
    many: list[StackTurn] = []
    walls = []
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            many += await asyncio.gather(*(stack_turn(socket) for socket in sockets))
            walls.append(time.perf_counter() - started)
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
    return {"n1": single, "many": many, "turns_per_s": concurrency * rounds / sum(walls)}


async def profiled_turns(url: str, turns: int) -> list[StackTurn]:
    from tests.faults.load import open_socket

    ((person, session),) = await open_sessions(url, 1)
    ws = await open_socket(url, person, session)
    try:
        for _ in range(5):
            await stack_turn(ws)
        result = []
        for _ in range(turns):
            result.append(await stack_turn(ws))
            await asyncio.sleep(0.05)  # let the turn's tail (persist, ack) finish before the next send
        return result
    finally:
        await ws.close()


# The marks scripts/stack_probe.py writes, in the order a turn passes them.
PROFILE = [
    ("client send → API has the frame", "client.send", "api.frame"),
    ("frame rate limit (Redis)", "api.frame", "api.limited"),
    ("queue → turn starts", "api.limited", "api.turn"),
    ("live models (Redis) + pool check-out + session row + default model", "api.turn", "api.model"),
    ("store user message (SELECT, INSERT, UPDATE, COMMIT)", "api.model", "api.stored"),
    ("history window with crisis history (1 SELECT)", "api.stored", "api.history"),
    ("cache lookup (Redis GET)", "api.history", "api.cache"),
    ("turn lease (Redis SET NX)", "api.cache", "api.leased"),
    ("job id on the message (UPDATE + COMMIT)", "api.leased", "api.job_id"),
    ("XADD the job", "api.job_id", "api.enqueued"),
    ("lease release + ack frame sent", "api.enqueued", "api.ack"),
    ("XADD sent → worker's XREADGROUP returns", "api.job_id", "worker.claimed"),
    ("worker: claim → job body starts", "worker.claimed", "worker.job"),
    ("pipeline: emotion read", "worker.job", "worker.emotion"),
    ("pipeline: crisis check (thread)", "worker.emotion", "worker.checked"),
    ("pipeline: check → first released text", "worker.checked", "worker.first_text"),
    ("first text published (MULTI XADD+EXPIRE, worker side)", "worker.first_text", "worker.published"),
    ("first text → API's event reader has it", "worker.first_text", "api.dispatched"),
    ("reader → token frame sent", "api.dispatched", "api.token_sent"),
    ("token frame sent → client has it", "api.token_sent", "client.first"),
    ("total: client send → first token", "client.send", "client.first"),
]


def read_probe(path: Path) -> list[tuple[float, str]]:
    events = []
    for line in path.read_text().splitlines():
        try:
            stamp, mark = json.loads(line)
        except ValueError:
            continue
        events.append((float(stamp), str(mark)))
    return events


# --- the run ---------------------------------------------------------------------------------------


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def run_stack(args: argparse.Namespace, work: Path, measure: Callable[[str], object], command=None, env=None) -> object:
    from tests.faults.stack import fresh_database, running_stack

    extra = {"command": command} if command else {}
    with (
        fresh_database(prefix="attune_bench") as dsn,
        running_stack(
            dsn,
            work,
            redis_url=BENCH_REDIS,
            output=OUTPUT,
            api_names=[f"api-{i}" for i in range(args.apis)],
            worker_names=[f"worker-{i}" for i in range(args.workers)],
            token_delay_s=0.0,
            env_overrides={"ATTUNE_WORKER_MAX_CONCURRENT_JOBS": str(args.max_jobs), **(env or {})},
            **extra,
        ) as stack,
    ):
        return asyncio.run(measure(stack.url()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=200, help="concurrent sessions (N)")
    parser.add_argument("--rounds", type=int, default=3, help="turns per session at N")
    parser.add_argument("--n1-turns", type=int, default=100, help="turns one after another at N=1")
    parser.add_argument("--apis", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--max-jobs", type=int, default=256, help="ATTUNE_WORKER_MAX_CONCURRENT_JOBS")
    parser.add_argument("--visible-model", help="a chat model of models.toml for part 3 (default: echo)")
    parser.add_argument("--visible-delay", type=float, default=0.03, help="echo's token_delay_s for part 3")
    parser.add_argument("--visible-turns", type=int, default=40)
    parser.add_argument("--profile", action="store_true", help="also the per-step breakdown at N=1")
    parser.add_argument("--profile-turns", type=int, default=60)
    parser.add_argument("--skip-stack", action="store_true", help="in-process parts only")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # as the stack's worker runs (tests/faults/stack.py)

    load_before = uptime()
    print(f"load before: {load_before}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        work = Path(tmp)
        registry = work / "models.toml"
        registry.write_text(echo_registry(0.0))
        ctx = asyncio.run(build_context(registry, work / "home"))
        base = asyncio.run(inprocess(ctx, args.n1_turns, args.concurrency, args.rounds))
        print(f"in-process done: {percentile(base['n1'], 50):.2f} ms p50 at N=1", flush=True)

        if args.visible_model:
            visible_ctx = asyncio.run(build_context(REPO / "models.toml", Path(os.environ.get("ATTUNE_HOME", "var"))))
            visible_name = args.visible_model
        else:
            delayed = work / "delayed.toml"
            delayed.write_text(echo_registry(args.visible_delay))
            visible_ctx, visible_name = asyncio.run(build_context(delayed, work / "home")), MODEL
        gaps = asyncio.run(first_visible(visible_ctx, visible_name, args.visible_turns))
        del ctx, visible_ctx

        stack = None
        if not args.skip_stack:
            stack_dir = work / "stack"
            stack_dir.mkdir()

            async def measure(url: str) -> dict[str, object]:
                return await through_stack(url, args.n1_turns, args.concurrency, args.rounds)

            stack = run_stack(args, stack_dir, measure)

        profile = None
        if args.profile and not args.skip_stack:
            profile_dir = work / "profile"
            profile_dir.mkdir()
            probe_file = profile_dir / "probe.jsonl"

            async def measure_profiled(url: str) -> list[StackTurn]:
                return await profiled_turns(url, args.profile_turns)

            profiled = run_stack(
                args,
                profile_dir,
                measure_profiled,
                command=lambda *a: [sys.executable, str(PROBE), *a],
                env={"ATTUNE_PROBE_FILE": str(probe_file)},
            )
            events = read_probe(probe_file)
            sends = [t.send for t in profiled]
            events += [(t.send, "client.send") for t in profiled]
            events += [(t.send + t.send_to_first_ms / 1000, "client.first") for t in profiled]
            first_only = assign_marks(sends, events)
            profile = (breakdown(first_only, PROFILE), len(profiled))
    load_after = uptime()

    rows = []
    if stack is not None:
        n = args.concurrency
        for label, key, pick in (
            ("TTFT send → first delta", "n1", lambda t: t.send_to_first_ms),
            ("TTFT send → first delta", "many", lambda t: t.send_to_first_ms),
        ):
            rows += ttft_rows(label, 1 if key == "n1" else n, [pick(t) for t in stack[key]], base[key])
        for key, count in (("n1", 1), ("many", n)):
            rows += ttft_rows("ack → first delta", count, [t.ack_to_first_ms for t in stack[key]], base[key])
            rows += ttft_rows("send → ack", count, [t.send_to_ack_ms for t in stack[key]], None)
            worker = [t.worker_ttft_ms for t in stack[key] if t.worker_ttft_ms is not None]
            rows += ttft_rows("worker's ttft_ms (enqueue → first text)", count, worker, None)
        rows.append(
            Row("turns per second", n, len(stack["many"]), stack["turns_per_s"], base["turns_per_s"], "turns/s")
        )
    else:
        for key, count in (("n1", 1), ("many", args.concurrency)):
            rows += ttft_rows("in-process TTFT", count, base[key], None)
    print()
    print(f"load before: {load_before}")
    print(f"load after:  {load_after}")
    print()
    print(render_table(rows))
    print()
    which = visible_name if args.visible_model else f"echo, token_delay_s={args.visible_delay}"
    stats = summary(gaps, (50, 95))
    print(
        f"first generated token → first visible text, in-process ({which}), {len(gaps)} turns: "
        f"p50 {stats['p50']:.1f} ms, p95 {stats['p95']:.1f} ms"
    )
    if profile is not None:
        steps, turns = profile
        print()
        print(f"where the N=1 stack TTFT goes ({turns} turns, ms):")
        print("| step | p50 | p90 |")
        print("|---|---:|---:|")
        for name, p50, p90 in steps:
            print(f"| {name} | {p50:.2f} | {p90:.2f} |")
        print(
            f"in-process, for comparison (N=1): crisis check p50 {percentile(base['crisis_ms'], 50):.2f} ms, "
            f"p90 {percentile(base['crisis_ms'], 90):.2f} ms; whole TTFT p50 {percentile(base['n1'], 50):.2f} ms"
        )


if __name__ == "__main__":
    main()
