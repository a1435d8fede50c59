"""The ``risk`` command. Each subcommand lives in its own module under ``cli/`` and imports
its heavy dependencies (pandas, LightGBM, MLflow, FastAPI) inside the function, so that
``risk --help`` answers at once."""

from __future__ import annotations

import typer

from cli import (
    admin_commands,
    demo_command,
    index_command,
    model_commands,
    report_command,
    retrain_commands,
    serve_commands,
    user_commands,
    validate_command,
)

app = typer.Typer(
    name="risk",
    help="dispute-risk: 民转刑 early warning for 矛盾纠纷 (data, model, scoring API, 督办 queue).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (
    validate_command,
    demo_command,
    model_commands,
    index_command,
    report_command,
    retrain_commands,
    serve_commands,
    admin_commands,
    user_commands,
):
    module.register(app)


if __name__ == "__main__":
    app()
