"""Rendering the console's pages: one Jinja2 environment over ``templates/``, the context every
page shares (the user, its CSRF token, the menu), and the formats of times, risks and areas.

Every value a template prints goes through ``features.personal_data.mask_personal`` (the
environment's ``finalize``), then Jinja2's autoescape: whatever free text reaches a page (a
note, a reason, a closing note, an escalation reason) leaves it masked, without each template
having to remember. Only markup the code built itself (the SVG charts) is passed as ``Markup``
and printed as it is.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Final

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from features.areas import AreaTree
from features.personal_data import mask_personal
from serving.auth import ADMIN, ANALYST, INTAKE, SUPERVISOR, Principal
from serving.deps import Runtime
from serving.notice import area_path
from serving.queue import SHANGHAI

TEMPLATES: Final = Path(__file__).with_name("templates")
ROLE_NAMES: Final = {INTAKE: "受理登记", SUPERVISOR: "督办人员", ANALYST: "研判分析", ADMIN: "系统管理员"}
# The menu: (route name, label, roles that see it). A route checks the role itself as well.
QUEUE_ROLES: Final = (SUPERVISOR, ANALYST, ADMIN)
ACT_ROLES: Final = (SUPERVISOR, ADMIN)
MODEL_ROLES: Final = (ANALYST, ADMIN)
ASSESS_ROLES: Final = (INTAKE, ADMIN)
# Colours are classes (console.css), never inline styles: the CSP allows none.
LEVEL_CLASS: Final = {"红": "red", "橙": "orange", "黄": "yellow", "蓝": "blue", "无": "none"}
LIGHT_CLASS: Final = {"红": "overdue", "黄": "amber", "绿": "green"}
MENU: Final = (
    ("queue", "督办队列", QUEUE_ROLES),
    ("index_ranking", "风险指数", QUEUE_ROLES),
    ("reports", "周研判报告", QUEUE_ROLES),
    ("model_status", "模型状态", MODEL_ROLES),
    ("assess", "个案评估", ASSESS_ROLES),
)


def _finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    return mask_personal(str(value))


def when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware time in Shanghai time; a naive one is already Shanghai wall time (registered_at)."""
    if value is None:
        return "—"
    return (value.astimezone(SHANGHAI) if value.tzinfo else value).strftime(fmt)


def percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, percent=percent)
    env.globals.update(level_class=LEVEL_CLASS, light_class=LIGHT_CLASS)
    return env


def base_path(request: Request) -> str:
    """Where the console is mounted (``/console``): every link starts with it."""
    return str(request.scope.get("root_path", "")).rstrip("/")


class Areas:
    """Area names from the area table the server loaded (codes where it has none)."""

    def __init__(self, tree: AreaTree | None) -> None:
        self.tree = tree

    def name(self, code: str | None) -> str:
        if code is None:
            return "全部辖区"
        return self.tree.name(code) if self.tree is not None and code in self.tree else code

    def path(self, code: str) -> str:
        """The area with its ancestors from the county down: 西堡区 柳陵街道 兴滩社区居委会."""
        return area_path(code, self.tree) or code

    def centre(self, code: str) -> str:
        return f"{self.name(code)}综治中心"


def areas_of(rt: Runtime) -> Areas:
    return Areas(rt.policy.areas)


def render(
    request: Request,
    template: str,
    who: Principal | None,
    csrf: str = "",
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` with the shared context: the user, its CSRF token, the menu."""
    rt: Runtime = request.app.state.runtime
    base = base_path(request)
    here = getattr(request.scope.get("route"), "name", None)
    menu = [
        {"href": f"{base}{request.app.url_path_for(name)}", "label": label, "current": here == name}
        for name, label, roles in MENU
        if who is not None and who.role in roles
    ]
    html = (
        environment()
        .get_template(template)
        .render(
            base=base,
            static=f"{base}/static",
            who=who,
            role_name=ROLE_NAMES.get(who.role, who.role) if who else "",
            csrf=csrf,
            menu=menu,
            areas=areas_of(rt),
            path=request.url.path,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status, headers=headers)
