"""The presales director's page at `/`, and the scenario files on the server it offers to run.

The page is one Jinja2 template with its script and styles under `ui/static` and Apache ECharts vendored
under `ui/static/vendor`: no CDN and no front-end build. It reads everything through the public API
(`/v1/plans`, `/v1/scenarios`) with the API key the user typed, like any other client.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

import service
from service.api.deps import SettingsDep, TenantDep
from service.api.errors import NotFound

UI = Path(__file__).resolve().parents[1] / "ui"
STATIC_PATH = "/ui/static"
templates = Jinja2Templates(directory=UI / "templates")
router = APIRouter(include_in_schema=False)

_SCENARIO_FILE = re.compile(r"^whatif-[A-Za-z0-9_-]{1,80}\.json$")


def static_files() -> StaticFiles:
    return StaticFiles(directory=UI / "static")


@router.get("/", response_class=HTMLResponse)
def director_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "index.html",
        {"auth_enabled": settings.auth_enabled, "version": service.__version__, "static": STATIC_PATH},
    )


@lru_cache(maxsize=64)
def _summary(path: Path, modified_ns: int) -> dict[str, Any] | None:
    """What the page lists about a scenario file; None if it is not a scenario (cached per file version)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        base = document["base"]
        return {
            "file": path.name,
            "name": str(document["name"]),
            "variants": [str(v["name"]) for v in document["variants"]],
            "staff": len(base["staff"]),
            "opportunities": len(base["opportunities"]),
            "weeks": int(base["horizon"]["weeks"]),
            "time_limit_s": (base.get("options") or {}).get("time_limit_s"),
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _scenario_path(settings_dir: Path | None, file: str) -> Path | None:
    if settings_dir is None or not _SCENARIO_FILE.match(file):
        return None
    path = settings_dir / file
    return path if path.is_file() else None


@router.get("/ui/scenario-files")
def scenario_files(settings: SettingsDep, _tenant: TenantDep) -> list[dict[str, Any]]:
    """The what-if files (`whatif-*.json`) of the server's scenario folder, with their names and sizes."""
    folder = settings.scenario_dir
    if folder is None or not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("whatif-*.json")):
        if _SCENARIO_FILE.match(path.name):
            summary = _summary(path, path.stat().st_mtime_ns)
            if summary is not None:
                found.append(summary)
    return found


@router.get("/ui/scenario-files/{file}")
def scenario_file(file: str, settings: SettingsDep, _tenant: TenantDep) -> Response:
    path = _scenario_path(settings.scenario_dir, file)
    if path is None:
        raise NotFound(f"no scenario file {file!r}")
    return Response(path.read_bytes(), media_type="application/json")
