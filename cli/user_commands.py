"""``risk user create|list|disable|reset-password|demo``: the people who log in to the web console.

A password is typed at a prompt (hidden, twice) or, when standard input is not a terminal, read
from its first line (``printf '%s\\n' "$PW" | risk user create ...``); never from an argument,
where it would land in the shell history and the process list. Heavy imports happen inside."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.admin_commands import queue_session
from cli.serve_commands import _project_root, _write_private

user_app = typer.Typer(
    help="Console users (web console logins; passwords stored as argon2 hashes).", no_args_is_help=True
)
DEMO_ROLES = ("intake", "supervisor", "analyst", "admin")


def register(app: typer.Typer) -> None:
    """Attach this module's commands to ``app``."""
    app.add_typer(user_app, name="user")


def _password() -> str:
    if sys.stdin.isatty():
        return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


@user_app.command("create")
def user_create(
    username: Annotated[
        str, typer.Option("--username", help="the login name (also the name in the audit log)")
    ],
    role: Annotated[str, typer.Option("--role", help="intake, supervisor, analyst or admin")],
    area: Annotated[
        str | None, typer.Option("--area", help="12-digit area code the user is limited to")
    ] = None,
    all_areas: Annotated[bool, typer.Option("--all-areas", help="the user covers every area")] = False,
) -> None:
    """Create a console user; the password is prompted for (or read from standard input)."""
    from serving import keys, users

    with queue_session() as session:
        scope = keys.scope_from(area, all_areas)
        _, warnings = users.create_user(
            session, username=username, password=_password(), role=role, area=scope, now=datetime.now(UTC)
        )
        session.commit()
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"created {role} user {username} for area {scope or 'all'}", err=True)


@user_app.command("list")
def user_list() -> None:
    """Every user: id, username, role, area, status, failed logins, last login (never a password)."""
    from serving import users

    with queue_session() as session:
        now = datetime.now(UTC)
        rows = users.list_users(session)
        typer.echo("id\tusername\trole\tarea\tstatus\tfailed_logins\tlast_login")
        for u in rows:
            status = (
                "disabled"
                if u.disabled_at
                else "locked"
                if u.locked_until and u.locked_until > now
                else "active"
            )
            last = u.last_login_at.isoformat(timespec="seconds") if u.last_login_at else "-"
            typer.echo(
                f"{u.id}\t{u.username}\t{u.role}\t{u.area_code or 'all'}\t{status}\t{u.failed_logins}\t{last}"
            )


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="the user's username")]) -> None:
    """Refuse the user's logins from now on; its open sessions end at once."""
    from serving import users

    with queue_session() as session:
        users.disable(session, username, datetime.now(UTC))
        session.commit()
    typer.echo(f"disabled console user {username}", err=True)


@user_app.command("reset-password")
def user_reset_password(username: Annotated[str, typer.Argument(help="the user's username")]) -> None:
    """Set a new password (prompted, or read from standard input); lifts a lock-out, ends sessions."""
    from serving import users

    with queue_session() as session:
        users.reset_password(session, username, _password(), datetime.now(UTC))
        session.commit()
    typer.echo(f"new password set for console user {username}", err=True)


@user_app.command("demo")
def user_demo(
    file: Annotated[
        Path | None,
        typer.Option("--file", help="where the passwords go, owner-only [models/demo-users.json]"),
    ] = None,
    url: Annotated[
        str, typer.Option("--url", help="the console's address, printed")
    ] = "http://127.0.0.1:8000",
) -> None:
    """One demo user per role (demo-intake, demo-supervisor, ...), made once and reused: their
    passwords go to FILE (mode 0600), never to the terminal. The supervisor covers the first
    county of the area table (every area without one); the others every area."""
    path = file or Path(_project_root()) / "models" / "demo-users.json"
    demo_users(path)
    typer.echo(f"\nweb console: {url.rstrip('/')}/console/", err=True)
    typer.echo(
        f"demo users ({', '.join(f'demo-{r}' for r in DEMO_ROLES)}) in {path} (readable by you only)",
        err=True,
    )


def demo_users(path: Path) -> dict[str, Any]:
    """The demo users in ``path``: a user whose stored password still works is kept, a missing
    one made, one whose password does not work (the file was lost) gets a new one."""
    import secrets

    from serving import users
    from serving.errors import NotFound

    try:
        stored: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:  # damaged: new passwords
        stored = {}
    with queue_session() as session:
        now = datetime.now(UTC)
        area = _first_county(session)
        for role in DEMO_ROLES:
            name = f"demo-{role}"
            password = stored.get(role, {}).get("password") or secrets.token_urlsafe(12)
            try:
                users.get_user(session, name)
            except NotFound:
                scope = area if role == "supervisor" else None
                users.create_user(session, username=name, password=password, role=role, area=scope, now=now)
            else:
                if not users.verify_password(session, name, password)[1]:
                    users.reset_password(session, name, password, now)
            stored[role] = {"username": name, "password": password}
        session.commit()
    _write_private(path, json.dumps(stored, indent=1, ensure_ascii=False) + "\n")
    return stored


def _first_county(session: Any) -> str | None:
    from sqlalchemy import select

    from serving.tables import Area

    return session.scalar(
        select(Area.area_code).where(Area.level == "county").order_by(Area.area_code).limit(1)
    )
