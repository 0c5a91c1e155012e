"""List and re-drive the dead-letter topic.

``python -m jobs.dead_letters list [--kind KIND] [--video-id ID] [--limit N]``
    Reads the dead-letter topic from its beginning to its current end (no consumer group, nothing is
    committed) and prints one line per dead letter: its own position ``dead-letter:PARTITION:OFFSET``,
    when it failed, the error kind, the video id (none for events too malformed to decode), where the
    original event was (``topic[partition]@offset``) and the reason; then the count per error kind.

``python -m jobs.dead_letters redrive (--kind KIND | --video-id ID | --at PARTITION:OFFSET ... | --all) [--dry-run]``
    Re-publishes the selected events' ORIGINAL bytes and key, exactly as they were consumed, to their
    original topic and partition (normally ``publish-video``), with the header
    ``redriven-from: dead-letter:PARTITION:OFFSET``; waits for the broker's delivery reports. Fix the
    cause first (e.g. put the missing media file in place). Several dead letters of the same original
    event (it failed again after an earlier re-drive) are re-published once. Re-driving is safe to repeat:
    the worker's sinks are idempotent and a replayed event re-emits the same verdict (README, "Delivery
    guarantees"); an event that fails again gets a new dead letter.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from confluent_kafka import KafkaError, Producer

from jobs.topic_reader import read_topic
from schemas.codec import SchemaError, decode
from settings import Settings

REDRIVEN_FROM = "redriven-from"  # header naming the dead letter an event was re-published from


@dataclass(frozen=True)
class DeadLetter:
    """One record of the dead-letter topic, with its own position there."""

    partition: int  # in the dead-letter topic
    offset: int
    record: dict[str, Any]  # the decoded DeadLetter (original_value, original_key, topic, ..., failed_at)

    @property
    def position(self) -> str:
        return f"dead-letter:{self.partition}:{self.offset}"

    @property
    def kind(self) -> str:
        return self.record["error_kind"]

    @property
    def video_id(self) -> str | None:
        return self.record["video_id"]

    @property
    def origin(self) -> str:
        return f"{self.record['topic']}[{self.record['partition']}]@{self.record['offset']}"


def read_dead_letters(cfg: Settings, timeout_s: float = 30) -> list[DeadLetter]:
    """Every dead letter from the beginning of ``cfg.topic_dead_letter`` to its end as of now, oldest first
    (raises TimeoutError if nothing arrives for ``timeout_s`` before the end).

    Records that are not DeadLetter messages are skipped with a warning on stderr.
    """
    letters: list[DeadLetter] = []
    for message in read_topic(cfg, cfg.topic_dead_letter, timeout_s=timeout_s):
        try:
            record = decode("DeadLetter", message.value())
        except SchemaError as exc:
            print(f"warning: {cfg.topic_dead_letter}:{message.partition()}:{message.offset()} skipped: {exc}",
                  file=sys.stderr)
            continue
        letters.append(DeadLetter(message.partition(), message.offset(), record))
    return sorted(letters, key=lambda d: (d.record["failed_at"], d.partition, d.offset))


def parse_position(text: str) -> tuple[int, int]:
    """``"2:15"`` (or ``"dead-letter:2:15"``, as ``list`` prints it) -> (2, 15)."""
    parts = text.rsplit(":", 2)[-2:]
    try:
        partition, offset = int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        raise ValueError(f"not PARTITION:OFFSET: {text!r}") from None
    return partition, offset


def select(letters: Iterable[DeadLetter], kinds: Iterable[str] = (), video_ids: Iterable[str] = (),
           positions: Iterable[tuple[int, int]] = ()) -> list[DeadLetter]:
    """Dead letters matching every given filter (kind, video id, own position); no filters = all."""
    kinds, video_ids, positions = set(kinds), set(video_ids), set(positions)
    return [d for d in letters
            if (not kinds or d.kind in kinds) and (not video_ids or d.video_id in video_ids)
            and (not positions or (d.partition, d.offset) in positions)]


def redrive(cfg: Settings, letters: Iterable[DeadLetter], timeout_s: float = 30) -> list[DeadLetter]:
    """Re-publish each dead letter's original key and bytes, unchanged, to its original topic and partition,
    with the header ``redriven-from``; waits for the delivery reports (raises if any failed).

    Returns the dead letters re-published: several dead letters of one identical original (topic, key,
    bytes) are sent once, as the first of them.
    """
    unique: dict[tuple[str, bytes | None, bytes], DeadLetter] = {}
    for letter in letters:
        unique.setdefault((letter.record["topic"], letter.record["original_key"], letter.record["original_value"]),
                          letter)
    if not unique:
        return []
    producer = Producer({**cfg.kafka_client_config(), "enable.idempotence": True, "linger.ms": 5})
    failures: list[str] = []

    def report(letter: DeadLetter) -> Any:
        def on_delivery(error: KafkaError | None, _message: Any) -> None:
            if error is not None:
                failures.append(f"{letter.position}: {error}")
        return on_delivery

    for letter in unique.values():
        record = letter.record
        producer.produce(record["topic"], key=record["original_key"], value=record["original_value"],
                         partition=record["partition"], headers=[(REDRIVEN_FROM, letter.position.encode())],
                         on_delivery=report(letter))
        producer.poll(0)
    remaining = producer.flush(timeout_s)
    if remaining or failures:
        raise RuntimeError(f"re-drive incomplete: {remaining} not delivered within {timeout_s:.0f}s, "
                           f"{len(failures)} failed: {failures[:5]}")
    return list(unique.values())


def describe(letter: DeadLetter, width: int = 100) -> str:
    """One line: own position, failed_at, kind, video id, original position, reason (truncated)."""
    failed_at = letter.record["failed_at"]
    when = failed_at.strftime("%Y-%m-%d %H:%M:%S") if isinstance(failed_at, datetime) else str(failed_at)
    message = " ".join(letter.record["message"].split())
    if len(message) > width:
        message = message[: width - 3] + "..."
    return (f"{letter.position:18s} {when} {letter.kind:22s} {letter.video_id or '-':28s} "
            f"{letter.origin:24s} {message}")


def count_line(letters: Iterable[DeadLetter]) -> str:
    counts = Counter(d.kind for d in letters)
    return ", ".join(f"{kind} {n}" for kind, n in counts.most_common()) or "none"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.dead_letters", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="print the dead letters and the count per error kind")
    listing.add_argument("--kind", action="append", default=[], help="only this error kind (repeatable)")
    listing.add_argument("--video-id", action="append", default=[], help="only this video (repeatable)")
    listing.add_argument("--limit", type=int, help="print at most the N most recent (counts cover all matches)")
    again = commands.add_parser(
        "redrive", help="re-publish the original events (safe to repeat: the sinks are idempotent)",
        description="Re-publish the selected dead letters' original key and bytes to their original topic, with "
                    "the header redriven-from. Safe to repeat: the worker's sinks are idempotent and a replayed "
                    "event re-emits the same verdict (README, 'Delivery guarantees'). Fix the cause first.")
    selector = again.add_mutually_exclusive_group(required=True)
    selector.add_argument("--kind", action="append", help="every dead letter of this error kind (repeatable)")
    selector.add_argument("--video-id", action="append", help="every dead letter of this video (repeatable)")
    selector.add_argument("--at", nargs="+", metavar="PARTITION:OFFSET",
                          help="dead letters at these positions of the dead-letter topic, as `list` prints them")
    selector.add_argument("--all", action="store_true", help="every dead letter")
    again.add_argument("--dry-run", action="store_true", help="print what would be re-published, publish nothing")
    args = parser.parse_args(argv)
    cfg = Settings.from_env()

    if args.command == "list":
        if args.limit is not None and args.limit < 0:
            parser.error("--limit must be >= 0")
        letters = select(read_dead_letters(cfg), args.kind, args.video_id)
        shown = letters if args.limit is None else letters[max(0, len(letters) - args.limit):]
        for letter in shown:
            print(describe(letter))
        print(f"{len(letters)} dead letters on {cfg.topic_dead_letter}"
              f"{f' (showing the last {len(shown)})' if len(shown) < len(letters) else ''}: {count_line(letters)}")
        return 0

    try:
        positions = [parse_position(text) for text in args.at or []]
    except ValueError as exc:
        again.error(str(exc))
    if not (args.all or args.kind or args.video_id or positions):
        again.error("give a selector: --kind, --video-id, --at or --all")
    chosen = select(read_dead_letters(cfg), args.kind or (), args.video_id or (), positions)
    if not chosen:
        print("no dead letter matches; nothing re-driven", file=sys.stderr)
        return 1
    if args.dry_run:
        for letter in chosen:
            print(f"would re-drive {describe(letter)}")
        print(f"dry run: {len(chosen)} dead letters selected ({count_line(chosen)}); nothing published")
        return 0
    sent = redrive(cfg, chosen)
    for letter in sent:
        print(f"re-driven to {letter.origin.split('@')[0]}: {describe(letter)}")
    skipped = len(chosen) - len(sent)
    print(f"re-drove {len(sent)} events ({count_line(sent)})"
          f"{f'; {skipped} dead letters repeated an event already sent' if skipped else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
