"""Runs, their conversation turns, agent sessions and applied files, in SQLite.

One database per workspace under the user's state directory
(``$XDG_STATE_HOME/agentls/workspaces/<hash>/history.sqlite``), so conversations survive an
editor restart. Turn 0 is the run itself; follow-ups are turns 1, 2, ...

Opening a workspace's history also finishes an apply or undo a killed process left half-done
(its journal is in the same folder; see ``journal``), and says so in one line on stderr.
"""

from __future__ import annotations

import sqlite3
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from agentls.domain.errors import TaskInputError
from agentls.domain.locations import workspace_state_dir
from agentls.domain.proposals import Review
from agentls.domain.results import LineRange, TaskKind, WorkflowResult
from agentls.orchestration.journal import Journal, journal_path, locked, recover
from agentls.redaction import Redactor, redact
from agentls.state import private_dir, private_file

_SCHEMA = """
create table if not exists runs (
    run_id text primary key,
    workflow text not null,
    path text not null,
    selection text,
    instruction text,
    created real not null
);
create table if not exists turns (
    run_id text not null references runs(run_id),
    turn integer not null,
    message text,
    status text not null,
    summary text not null,
    result text not null,
    created real not null,
    primary key (run_id, turn)
);
create table if not exists applied (
    run_id text not null,
    turn integer not null,
    path text not null,
    backup text,
    written_sha256 text,
    applied real not null,
    undone real
);
create table if not exists reviews (
    run_id text not null,
    turn integer not null,
    review text not null,
    primary key (run_id, turn)
);
create table if not exists shared_findings (
    run_id text not null,
    turn integer not null,
    steps text not null,
    primary key (run_id, turn)
);
create table if not exists interrupted (
    run_id text not null,
    turn integer not null,
    kind text not null,
    message text not null,
    recovered real not null
);
"""
# Columns added since the first version of the schema, added to older databases as they open.
_ADDED_COLUMNS = {
    "applied": {"apply_id": "text", "mode": "integer", "written_copy": "text"},
    "runs": {"task": "text", "agent": "text"},
}


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    workflow: str
    path: str
    selection: LineRange | None
    instruction: str | None
    created: float
    turns: int
    status: str
    summary: str
    state: str | None = None
    """What became of the run's edits, or of the run: "applied" (written, not undone),
    "undone", "apply interrupted" (an apply killed part-way, rolled back), "interrupted" (its
    latest turn was cancelled: in the editor, by Ctrl-C or a signal), or None."""
    task: TaskKind | None = None
    """For a quick task (one task for one agent, not a workflow of the configuration), the
    task; a follow-up reruns it with ``agent``."""
    agent: str | None = None


@dataclass(frozen=True)
class AppliedFile:
    path: str
    backup: Path | None
    """None: the file did not exist before, so undo deletes it."""
    written_sha256: str
    """Of the bytes written ("" for a deleted file)."""
    mode: int | None = None
    """The file's permission bits before the apply (to restore a deleted file with)."""
    written_copy: Path | None = None
    """A copy of the bytes written, for undo to merge onto a file changed since (None: the
    file was deleted, or applied before agentls kept copies)."""


class History:
    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace.resolve()
        self.folder = private_dir(workspace_state_dir(self.workspace))
        self.path = private_file(self.folder / "history.sqlite")
        with self._db() as db:
            db.executescript(_SCHEMA)
            for table, columns in _ADDED_COLUMNS.items():
                have = {row[1] for row in db.execute(f"pragma table_info({table})")}
                for column, kind in columns.items():
                    if column not in have:
                        db.execute(f"alter table {table} add column {column} {kind}")
        if journal_path(self.folder).exists():  # one stat when nothing was interrupted
            with locked(self.folder, wait=False) as held:
                if held:  # else another process is applying: its journal is live
                    self._recover()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the workspace's apply lock (one apply or undo at a time), after finishing
        whatever an interrupted one left."""
        with locked(self.folder):
            self._recover()
            yield

    def _recover(self) -> None:
        recovered = recover(self.folder, self.committed)
        if recovered is None:
            return
        if recovered.rolled_back and recovered.journal is not None:
            journal = recovered.journal
            with self._db() as db:
                db.execute(
                    "insert into interrupted values (?, ?, ?, ?, ?)",
                    (journal.run_id, journal.turn, journal.kind, recovered.message, time.time()),
                )
        print(f"agentls: {recovered.message}", file=sys.stderr, flush=True)

    def committed(self, journal: Journal) -> bool:
        """Whether the apply or undo ``journal`` describes was recorded here."""
        with self._db() as db:
            if journal.kind == "apply":
                query = "select 1 from applied where apply_id = ?"
                return db.execute(query, (journal.id,)).fetchone() is not None
            query = "select 1 from applied where run_id = ? and undone is null"
            return db.execute(query, (journal.run_id,)).fetchone() is None

    def rolled_back(self, run_id: str) -> str | None:
        """What was said when this run's latest apply or undo was interrupted and rolled back
        (None when it was not: nothing was interrupted since the last apply)."""
        with self._db() as db:
            row = db.execute(
                """select message from interrupted where run_id = ? and recovered >
                       coalesce((select max(applied) from applied where run_id = ?), 0)
                   order by recovered desc limit 1""",
                (run_id, run_id),
            ).fetchone()
        return None if row is None else str(row[0])

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=10)
        try:
            with connection:
                yield connection
        finally:
            connection.close()

    def record_run(
        self,
        result: WorkflowResult,
        path: str,
        selection: LineRange | None,
        instruction: str | None,
        task: tuple[TaskKind, str] | None = None,
    ) -> None:
        """``task``: (task, agent) of a quick task, which ran as the one-step workflow
        ``result.workflow`` names."""
        instruction = redact(instruction) if instruction is not None else None
        with self._db() as db:
            db.execute(
                """insert into runs (run_id, workflow, path, selection, instruction, created,
                                     task, agent)
                   values (?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    result.run_id,
                    result.workflow,
                    path,
                    str(selection) if selection else None,
                    instruction,
                    time.time(),
                    task[0].value if task else None,
                    task[1] if task else None,
                ),
            )
            _insert_turn(db, result.run_id, None, result)

    def record_turn(self, run_id: str, message: str | None, result: WorkflowResult) -> int:
        with self._db() as db:
            return _insert_turn(db, run_id, message, result)

    def runs(self, limit: int = 20, prefix: str = "") -> list[RunInfo]:
        """The latest runs, newest first; ``prefix`` narrows them to ids starting with it."""
        with self._db() as db:
            rows = db.execute(
                """select r.run_id, r.workflow, r.path, r.selection, r.instruction, r.created,
                          count(t.turn), (select status from turns where run_id = r.run_id
                                          order by turn desc limit 1),
                          (select summary from turns where run_id = r.run_id
                           order by turn desc limit 1),
                          (select count(*) from applied where run_id = r.run_id
                                                          and undone is null),
                          (select max(undone) from applied where run_id = r.run_id),
                          (select max(applied) from applied where run_id = r.run_id),
                          (select max(recovered) from interrupted where run_id = r.run_id
                                                                   and kind = 'apply'),
                          r.task, r.agent
                   from runs r join turns t on t.run_id = r.run_id
                   where r.run_id like ? escape '\\'
                   group by r.run_id order by r.created desc limit ?""",
                (_like_prefix(prefix), limit),
            ).fetchall()
        return [_run_info(row) for row in rows]

    def run(self, run_id: str) -> RunInfo:
        """A run by its id or an unambiguous prefix of it."""
        found = self.runs(limit=2, prefix=run_id) if run_id else []
        if len(found) == 1:
            return found[0]
        exact = [info for info in found if info.run_id == run_id]
        if exact:
            return exact[0]
        if found:
            raise TaskInputError(f"{run_id!r} matches several runs; give more of the id")
        raise TaskInputError(f"no run {run_id!r} in this workspace; `agentls history` lists them")

    def turns(self, run_id: str) -> list[tuple[str | None, WorkflowResult]]:
        with self._db() as db:
            rows = db.execute(
                """select t.message, t.result, s.steps from turns t
                   left join shared_findings s on s.run_id = t.run_id and s.turn = t.turn
                   where t.run_id = ? order by t.turn""",
                (run_id,),
            ).fetchall()
        return [(message, _result(run_id, raw, steps)) for message, raw, steps in rows]

    def record_applied(
        self, run_id: str, turn: int, files: list[AppliedFile], apply_id: str | None = None
    ) -> None:
        """``apply_id``: the journal's, so an interrupted apply knows it was recorded."""
        now = time.time()
        with self._db() as db:
            db.executemany(
                """insert into applied (run_id, turn, path, backup, written_sha256, applied,
                                        undone, apply_id, mode, written_copy)
                   values (?, ?, ?, ?, ?, ?, null, ?, ?, ?)""",
                [
                    (run_id, turn, f.path, str(f.backup) if f.backup else None,
                     f.written_sha256, now, apply_id, f.mode,
                     str(f.written_copy) if f.written_copy else None)
                    for f in files
                ],
            )  # fmt: skip

    def applied(self, run_id: str) -> list[AppliedFile]:
        """Files written for a run and not undone, the most recent first."""
        with self._db() as db:
            rows = db.execute(
                """select path, backup, written_sha256, mode, written_copy from applied
                   where run_id = ? and undone is null order by applied desc, rowid desc""",
                (run_id,),
            ).fetchall()
        return [
            AppliedFile(p, Path(b) if b else None, h, m, Path(c) if c else None)
            for p, b, h, m, c in rows
        ]

    def applied_turns(self, run_id: str) -> set[int]:
        """The turns of a run whose edits are written and not undone."""
        with self._db() as db:
            rows = db.execute(
                "select distinct turn from applied where run_id = ? and undone is null", (run_id,)
            ).fetchall()
        return {int(turn) for (turn,) in rows}

    def record_review(self, run_id: str, turn: int, review: Review) -> None:
        """What the user decided, so far, about the hunks of a turn's proposal (replaces what
        was recorded before for that turn)."""
        with self._db() as db:
            db.execute(
                "insert or replace into reviews values (?, ?, ?)",
                (run_id, turn, Redactor.current().model(review).model_dump_json()),
            )

    def review(self, run_id: str, turn: int) -> Review | None:
        """The user's decisions about a turn's proposal, None when they made none."""
        with self._db() as db:
            row = db.execute(
                "select review from reviews where run_id = ? and turn = ?", (run_id, turn)
            ).fetchone()
        return None if row is None else Review.model_validate_json(row[0])

    def mark_undone(self, run_id: str) -> None:
        with self._db() as db:
            db.execute(
                "update applied set undone = ? where run_id = ? and undone is null",
                (time.time(), run_id),
            )


def _insert_turn(
    db: sqlite3.Connection, run_id: str, message: str | None, result: WorkflowResult
) -> int:
    """A run's next turn, redacted; its number."""
    redactor = Redactor.current()
    (turn,) = db.execute(
        "select coalesce(max(turn) + 1, 0) from turns where run_id = ?", (run_id,)
    ).fetchone()
    # A step that found exactly the run's findings (one reviewer) keeps them once, the run's.
    same = [
        number
        for number, record in enumerate(result.steps)
        if record.result is not None
        and record.result.findings
        and record.result.findings == result.findings
    ]
    unshared = {"steps": {number: {"result": {"findings"}} for number in same}}
    db.execute(
        "insert into turns values (?, ?, ?, ?, ?, ?, ?)",
        (
            run_id,
            turn,
            redactor.text(message) if message is not None else None,
            result.status,
            redactor.text(result.summary),
            zlib.compress(redactor.model_json(result, exclude=unshared).encode(), 1),
            time.time(),
        ),
    )
    if same:  # in a table of its own: an older agentls writes its turns as it did
        db.execute(
            "insert into shared_findings values (?, ?, ?)",
            (run_id, turn, ",".join(map(str, same))),
        )
    return int(turn)


def _result(run_id: str, stored: str | bytes, steps: str | None) -> WorkflowResult:
    """A turn's result as ``_insert_turn`` stored it: its JSON, compressed (a run's findings
    and edits repeat themselves: about a fiftieth of the size), or as text where it was
    recorded before results were compressed; ``steps``: those that found the run's findings,
    which were stored once."""
    try:
        text = zlib.decompress(stored) if isinstance(stored, bytes) else stored
        result = WorkflowResult.model_validate_json(text)
        for number in map(int, steps.split(",") if steps else ()):
            found = result.steps[number].result
            if found is not None:
                found.findings = list(result.findings)
    except (zlib.error, ValueError, IndexError):  # pydantic's ValidationError is a ValueError
        raise TaskInputError(
            f"run {run_id} is damaged in this workspace's history; run it again"
        ) from None
    return result


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _run_info(row: tuple[object, ...]) -> RunInfo:
    run_id, workflow, path, selection, instruction, created, turns, status, summary = row[:9]
    live, undone, applied, apply_interrupted, task, agent = row[9:15]
    state = None
    if live:
        state = "applied"
    elif isinstance(apply_interrupted, float) and apply_interrupted > max(
        x if isinstance(x, float) else 0.0 for x in (undone, applied)
    ):
        state = "apply interrupted"
    elif undone is not None:
        state = "undone"
    elif status == "cancelled":
        state = "interrupted"
    parsed = None
    if isinstance(selection, str):
        start, _, end = selection.partition("-")
        parsed = LineRange(start=int(start), end=int(end))
    return RunInfo(
        run_id=str(run_id),
        workflow=str(workflow),
        path=str(path),
        selection=parsed,
        instruction=instruction if isinstance(instruction, str) else None,
        created=float(created),  # type: ignore[arg-type]
        turns=int(turns),  # type: ignore[call-overload]
        status=str(status),
        summary=str(summary),
        state=state,
        task=TaskKind(task) if isinstance(task, str) and task else None,
        agent=agent if isinstance(agent, str) else None,
    )
