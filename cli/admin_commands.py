"""``risk apikey create|list|revoke``, ``risk areas load`` and ``risk db upgrade``: the queue
database's keys, its area table and its schema. Heavy imports happen inside the commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

apikey_app = typer.Typer(
    help="API keys for the scoring API (shown once, stored hashed).", no_args_is_help=True
)
areas_app = typer.Typer(help="The area table (统计用区划代码) the server routes by.", no_args_is_help=True)
db_app = typer.Typer(help="The queue database's schema.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to ``app``."""
    app.add_typer(apikey_app, name="apikey")
    app.add_typer(areas_app, name="areas")
    app.add_typer(db_app, name="db")


def settings() -> Any:
    """The settings, or a clear message naming the bad setting (before anything starts)."""
    from pydantic import ValidationError

    from serving.settings import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        for err in exc.errors():
            typer.echo(f"error: setting {'.'.join(map(str, err['loc']))}: {err['msg']}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def queue_session() -> Iterator[Any]:
    """A session on the queue database, migrated to the newest schema first; a DisputeRiskError
    inside becomes one line on stderr and exit code 2."""
    from features.errors import DisputeRiskError
    from serving.db import make_engine, make_sessionmaker, upgrade

    s = settings()
    engine = make_engine(
        s.database_url,
        sqlite_synchronous=s.sqlite_synchronous,
        connect_timeout=s.pg_connect_timeout_seconds,
        statement_timeout_ms=s.pg_statement_timeout_ms,
    )
    try:
        upgrade(engine)
        with make_sessionmaker(engine)() as session:
            yield session
    except DisputeRiskError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()


@apikey_app.command("create")
def apikey_create(
    role: Annotated[str, typer.Option("--role", help="intake, supervisor, analyst or admin")],
    area: Annotated[
        str | None, typer.Option("--area", help="12-digit area code the key is limited to")
    ] = None,
    all_areas: Annotated[bool, typer.Option("--all-areas", help="the key covers every area")] = False,
    expires: Annotated[
        str | None, typer.Option("--expires", help="date or date-time it stops working (Shanghai time)")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="who holds the key (shown in the audit log)")
    ] = None,
) -> None:
    """Create an API key and print it once; only its hash is stored. Say its scope: --area or --all-areas."""
    from serving import keys

    with queue_session() as session:
        scope = keys.scope_from(area, all_areas)
        made = keys.new_key(
            session, role=role, area=scope, name=name, now=datetime.now(UTC), expires_at=_expiry(expires)
        )
        session.commit()
    for warning in made.warnings:
        typer.echo(f"warning: {warning}", err=True)
    until = f", valid until {made.row.expires_at.isoformat()}" if made.row.expires_at else ""
    typer.echo(
        f"created {role} key {made.row.id} for area {scope or 'all'}{until}; it is shown only now:", err=True
    )
    typer.echo(made.key)


def _expiry(text: str | None) -> datetime | None:
    """--expires as an aware time: a date alone means the start of that day, Shanghai time."""
    if text is None:
        return None
    from features.fields import parse_datetime
    from serving.queue import SHANGHAI

    value = f"{text}T00:00:00" if len(text) == 10 else text
    return parse_datetime(value, "expires").replace(tzinfo=SHANGHAI)


@apikey_app.command("list")
def apikey_list() -> None:
    """Every key: id, role, scope, name, prefix, created, expires, status (never the key itself)."""
    from serving import keys
    from serving.schemas import KeyOut

    with queue_session() as session:
        now = datetime.now(UTC)
        rows = [KeyOut.of(row, now) for row in keys.list_keys(session)]
    typer.echo("id\trole\tarea\tname\tprefix\tcreated\texpires\tstatus")
    for k in rows:
        when = [v.isoformat(timespec="seconds") if v else "-" for v in (k.created_at, k.expires_at)]
        typer.echo(
            f"{k.id}\t{k.role}\t{k.area_code or 'all'}\t{k.name}\t{k.key_prefix}\t{when[0]}\t{when[1]}\t{k.status}"
        )


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[int, typer.Argument(help="the key's id (risk apikey list)")]) -> None:
    """Revoke a key: every server refuses it (401) from its next request on."""
    from serving import keys

    with queue_session() as session:
        keys.revoke(session, key_id, datetime.now(UTC))
        session.commit()
    typer.echo(f"revoked API key {key_id}", err=True)


@areas_app.command("load")
def areas_load(
    file: Annotated[Path, typer.Argument(help="area-code file, contract- or NBS-shaped, CSV or Parquet")],
) -> None:
    """Replace the area table with FILE's areas; servers route by it from their next start."""
    from serving import areas

    with queue_session() as session:
        n = areas.load_file(session, file)
        session.commit()
    typer.echo(f"loaded {n} areas into the area table", err=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the queue database to the newest schema (once, whoever runs it first)."""
    with queue_session():
        pass
    typer.echo("the queue database is at the newest schema", err=True)
