"""``linde users …``: people and their passwords, tokens, roles and municipalities.

A password is never an argument (it would sit in the shell's history and in ``ps``):
it is asked for twice at the terminal, or read as one line from standard input with
``--password-stdin`` for scripts.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cli.common import actor, err, fail, out, ready_engine
from geo.errors import InvalidInput, LindeError, Problem
from geo.roles import Role

users_app = typer.Typer(
    help="Users: passwords, tokens, roles, municipalities.", no_args_is_help=True
)


DaysOption = Annotated[
    int | None,
    typer.Option(
        help="Days the token is valid (0: never expires). Default: LINDE_TOKEN_DAYS (365).",
        min=0,
        max=3650,
    ),
]


def _token_days(days: int | None) -> int:
    from layers.settings import get_settings  # here: ``linde --help`` needs no pydantic

    return get_settings().token_days if days is None else days


def _validity(days: int) -> str:
    return f"valid {days} days" if days else "never expires"


PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password as one line from standard input (scripts)."
    ),
]
MunicipalityOption = Annotated[
    str | None,
    typer.Option(
        "--municipality",
        help="INEGI cvegeo of the municipality the user acts for (e.g. 20157); "
        "without it, the state.",
    ),
]


def read_password(from_stdin: bool) -> str:
    """A new password: one line of standard input, or asked twice at the terminal.

    Raises:
        InvalidInput: the two typed passwords differ, or standard input is empty.
    """
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise InvalidInput(
                "no password on standard input",
                problems=[Problem("password", "one line on standard input")],
            )
        return line
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Repeat the password", hide_input=True) != first:
        raise InvalidInput(
            "the two passwords differ", problems=[Problem("password", "type it twice alike")]
        )
    return str(first)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ - @).")],
    role: Annotated[Role, typer.Option(help="What the user may do.")],
    days: DaysOption = None,
    municipality: MunicipalityOption = None,
    password_stdin: PasswordStdin = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Tokens only: the user cannot sign in.")
    ] = False,
) -> None:
    """Create a user with a password to sign in (asked for, or --password-stdin) and
    print its bearer token for scripts (shown only this once)."""
    from layers.users import add_user

    engine = ready_engine()
    valid = _token_days(days)
    try:
        # no terminal to ask at and no --password-stdin (an old script): tokens only
        asked = password_stdin or sys.stdin.isatty()
        no_password = no_password or not asked
        password = None if no_password else read_password(password_stdin)
        user, token = add_user(
            engine,
            name,
            role.value,
            actor=actor(),
            days=valid,
            password=password,
            cvegeo=municipality,
        )
    except LindeError as exc:
        fail(exc)
    scope = f", municipality {user.cvegeo}" if user.cvegeo else ""
    err.print(
        f"user {user.name} ({user.role.value}{scope}) created"
        + (
            f"; no password (set one: linde users password {user.name})"
            if no_password
            else "; sign in at /entrar"
        )
        + f"; its token ({_validity(valid)}), shown only now:"
    )
    print(token)


@users_app.command("password")
def users_password(
    name: Annotated[str, typer.Argument()], password_stdin: PasswordStdin = False
) -> None:
    """Set a user's password; every browser session of theirs ends."""
    from layers.accounts import set_password

    engine = ready_engine()
    try:
        ended = set_password(engine, name, read_password(password_stdin), actor=actor())
    except LindeError as exc:
        fail(exc)
    err.print(f"password of {name} set; {ended} session(s) ended")


@users_app.command("set")
def users_set(
    name: Annotated[str, typer.Argument()],
    role: Annotated[Role | None, typer.Option(help="A new role.")] = None,
    municipality: Annotated[
        str | None,
        typer.Option("--municipality", help='A cvegeo, or "" for the state.'),
    ] = None,
    disabled: Annotated[
        bool | None, typer.Option("--disable/--enable", help="Stop or allow the user.")
    ] = None,
) -> None:
    """Change a user's role, municipality or whether it is disabled; its sessions and
    tokens end at once (its records and audit entries stay)."""
    from layers.accounts import change_user

    engine = ready_engine()
    try:
        changed = change_user(
            engine,
            name,
            actor=actor(),
            role=role.value if role else None,
            cvegeo=municipality,
            disabled=disabled,
        )
    except LindeError as exc:
        fail(exc)
    ended = changed["ended"]
    err.print(
        f"{name}: changed {', '.join(changed['changed']) or 'nothing'}; "
        f"{ended['sessions']} session(s) and {ended['tokens']} token(s) ended"
    )


@users_app.command("token")
def users_token(name: Annotated[str, typer.Argument()], days: DaysOption = None) -> None:
    """Issue another token for an existing user."""
    from layers.users import new_token

    engine = ready_engine()
    valid = _token_days(days)
    try:
        token = new_token(engine, name, actor=actor(), days=valid)
    except LindeError as exc:
        fail(exc)
    err.print(f"new token for {name} ({_validity(valid)}), shown only now:")
    print(token)


@users_app.command("revoke")
def users_revoke(name: Annotated[str, typer.Argument()]) -> None:
    """Revoke every token of a user."""
    from layers.users import revoke_tokens

    engine = ready_engine()
    try:
        out.print(f"{revoke_tokens(engine, name, actor=actor())} token(s) revoked")
    except LindeError as exc:
        fail(exc)


@users_app.command("list")
def users_list() -> None:
    """List users and roles."""
    from layers.users import list_users

    engine = ready_engine()
    with engine.connect() as conn:
        for row in list_users(conn):
            state = " (disabled)" if row["disabled_at"] else ""
            scope = row["cvegeo"] or "state"
            out.print(f"{row['name']}\t{row['role']}\t{scope}{state}", highlight=False)
