"""Import and export pages: upload → dry run → table of bad rows → confirm → real run, with a progress bar.

An import runs in a background thread of the process that received the upload, so a page request never
waits for 600,000 rows. Its state lives in the cache (Redis in production, the local-memory cache in the
embedded one-process server), never in module globals, so any process can show its progress; the uploaded
file and the bad-row reports live under VAR_DIR/imports/. A job belongs to the user who uploaded it:
anyone else gets a 404.
"""

from __future__ import annotations

import contextvars
import io
import json
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from doorstep.accounts.models import User
from doorstep.core.errors import ServiceError
from doorstep.registry import exporters, importers, services
from doorstep.registry.choices import CoordinateSystem
from doorstep.registry.filtersets import (
    AddressFilterSet,
    HouseFilterSet,
    HouseholdFilterSet,
    PersonFilterSet,
    UnitFilterSet,
)

JOB_TTL = 2 * 24 * 3600  # seconds a job (and its files) is kept
STALE_AFTER = 15 * 60  # a running job without a heartbeat for this long died with its process
MAX_UPLOAD = 300 << 20  # bytes; 600,000 persons in CSV are about 120 MB
SHOWN_BAD_ROWS = 500
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
FILTERSETS = {
    "persons": PersonFilterSet,
    "houses": HouseFilterSet,
    "households": HouseholdFilterSet,
    "units": UnitFilterSet,
    "addresses": AddressFilterSet,
}


# --- jobs ---------------------------------------------------------------------------------------------------
def _key(job_id: str) -> str:
    return f"registry:import:{job_id}"


def _dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def get_job(job_id: str) -> dict[str, Any] | None:
    return cache.get(_key(job_id)) if JOB_ID.match(job_id or "") else None


def _save(job: dict[str, Any]) -> None:
    job["heartbeat"] = time.time()
    cache.set(_key(job["id"]), job, JOB_TTL)


def _job_for(user: Any, job_id: str) -> dict[str, Any]:
    job = get_job(job_id)
    if job is None or job["user_id"] != user.pk:
        raise Http404
    if job["state"] == "running" and time.time() - job.get("heartbeat", 0) > STALE_AFTER:
        job.update(state="failed", error=_("导入进程已中断，请重新上传文件"))
    return job


def _remember(user: Any, job_id: str) -> None:
    key = f"registry:import:user:{user.pk}"
    ids = [job_id, *[j for j in cache.get(key, []) if j != job_id]][:10]
    cache.set(key, ids, JOB_TTL)


def _recent(user: Any) -> list[dict[str, Any]]:
    jobs = [get_job(j) for j in cache.get(f"registry:import:user:{user.pk}", [])]
    return [j for j in jobs if j]


def _sweep() -> None:
    """Remove uploads and reports older than the job lifetime."""
    cutoff = time.time() - JOB_TTL
    for path in _dir().iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            continue


def run_job(job_id: str, phase: str) -> None:
    """Run the dry run or the real run of a job and record progress and results in the cache."""
    job = get_job(job_id)
    if job is None:
        return
    try:
        user = User.objects.get(pk=job["user_id"], is_active=True)
        job.update(state="running", phase=phase, done=0, total=None, error="")
        _save(job)
        last = [0.0]

        def progress(done: int, total: int | None) -> None:
            if time.monotonic() - last[0] < 0.5 and done != total:
                return
            last[0] = time.monotonic()
            job.update(done=done, total=total)
            _save(job)

        result = importers.import_file(
            job["entity"],
            job["path"],
            by=user,
            dry_run=phase == "dry",
            filename=job["filename"],
            progress=progress,
            crs=job.get("crs", CoordinateSystem.WGS84),  # jobs queued before the option existed
        )
        report = _dir() / f"{job_id}.{phase}.json"
        report.write_text(json.dumps([b.as_dict() for b in result.bad], ensure_ascii=False), encoding="utf-8")
        job.update(state="done", done=result.total, total=result.total, **{phase: result.as_dict()})
        if phase == "real":
            Path(job["path"]).unlink(missing_ok=True)
    except ServiceError as exc:
        job.update(state="failed", error=str(exc))
    except Exception as exc:  # the page must say the job failed, not spin forever
        job.update(state="failed", error=_("导入出错：%(error)s") % {"error": type(exc).__name__})
        raise
    finally:
        _save(job)
        connection.close()


def launch(job_id: str, phase: str) -> None:
    """Start a job in a background thread (tests replace this to run it inline)."""
    context = contextvars.copy_context()  # keeps the request's IP and channel for the audit entries
    threading.Thread(
        target=context.run, args=(run_job, job_id, phase), name=f"import-{job_id}", daemon=True
    ).start()


# --- pages --------------------------------------------------------------------------------------------------
class ImportForm(forms.Form):
    entity = forms.ChoiceField(label=gettext_lazy("数据类型"), choices=list(importers.ENTITY_LABELS.items()))
    file = forms.FileField(label=gettext_lazy("文件（.xlsx 或 .csv）"))
    crs = forms.ChoiceField(
        label=gettext_lazy("坐标系"),
        choices=CoordinateSystem.choices,
        initial=CoordinateSystem.WGS84,
        required=False,  # a form posted without it (a script, an old page) means WGS-84
        error_messages={"invalid_choice": gettext_lazy("坐标系应为 WGS-84、GCJ-02 或 BD-09")},
    )

    def clean_crs(self):
        return self.cleaned_data["crs"] or CoordinateSystem.WGS84

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = Path(upload.name or "").name
        if not name.lower().endswith((".xlsx", ".csv")):
            raise forms.ValidationError(_("只支持 .xlsx 或 .csv 文件"))
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(_("文件超过 %(mb)d MB") % {"mb": MAX_UPLOAD >> 20})
        if upload.size == 0:
            raise forms.ValidationError(_("文件是空的"))
        return upload


def _require_writer(user: Any) -> None:
    if user.role not in services.WRITER_ROLES:
        raise PermissionDenied(_("只有社区民警、协勤员和所长可以导入登记信息"))


@login_required
def import_index(request):
    _require_writer(request.user)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        _sweep()
        upload = form.cleaned_data["file"]
        job_id = uuid.uuid4().hex
        name = Path(upload.name).name[-100:]
        path = _dir() / f"{job_id}{Path(name).suffix.lower()}"
        with path.open("wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
        job = {
            "id": job_id,
            "user_id": request.user.pk,
            "entity": form.cleaned_data["entity"],
            "entity_label": importers.ENTITY_LABELS[form.cleaned_data["entity"]],
            "filename": name,
            "crs": form.cleaned_data["crs"],  # the real run converts the file exactly as the dry run did
            "size": upload.size,
            "path": str(path),
            "created": timezone.now().isoformat(),
            "state": "queued",
            "phase": "dry",
            "done": 0,
            "total": None,
            "dry": None,
            "real": None,
            "error": "",
        }
        _save(job)
        _remember(request.user, job_id)
        launch(job_id, "dry")
        return redirect("registry:import_job", job_id=job_id)
    return render(
        request,
        "registry/import_index.html",
        {
            "form": form,
            "entities": list(importers.ENTITY_LABELS.items()),
            "recent": _recent(request.user),
            "exports": [(k, v.label) for k, v in exporters.ENTITIES.items()],
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def import_template(request, entity: str):
    _require_writer(request.user)
    if entity not in importers.IMPORTERS:
        raise Http404
    label = importers.ENTITY_LABELS[entity]
    if request.GET.get("format") == "csv":
        body, ctype, ext = importers.template_csv(entity), "text/csv; charset=utf-8", "csv"
    else:
        body = importers.template_workbook(entity)
        ctype, ext = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"
    response = HttpResponse(body, content_type=ctype)
    response["Content-Disposition"] = content_disposition_header(True, f"{label}导入模板.{ext}")
    return response


def _bad_rows(job_id: str, phase: str) -> list[dict[str, Any]]:
    path = _dir() / f"{job_id}.{phase}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []


def _progress_context(job: dict[str, Any]) -> dict[str, Any]:
    total, done = job.get("total"), job.get("done") or 0
    percent = min(100, done * 100 // total) if total else (100 if job["state"] == "done" else 0)
    return {"job": job, "percent": percent, "running": job["state"] in ("queued", "running")}


@login_required
def import_job(request, job_id: str):
    _require_writer(request.user)
    job = _job_for(request.user, job_id)
    context = _progress_context(job)
    phase = "real" if job.get("real") else "dry"
    context["crs_label"] = CoordinateSystem(job.get("crs", CoordinateSystem.WGS84)).label
    if not context["running"] and job.get(phase):
        bad = _bad_rows(job_id, phase)
        context.update(result=job[phase], bad=bad[:SHOWN_BAD_ROWS], bad_total=len(bad), phase=phase)
    return render(request, "registry/import_job.html", context)


@login_required
def import_progress(request, job_id: str):
    _require_writer(request.user)
    job = _job_for(request.user, job_id)
    context = _progress_context(job)
    if request.headers.get("HX-Request"):
        response = render(request, "registry/import_progress.html", context)
        if not context["running"]:
            response["HX-Refresh"] = "true"  # the job page shows the results
        return response
    return JsonResponse(
        {
            "state": job["state"],
            "phase": job["phase"],
            "done": job.get("done") or 0,
            "total": job.get("total"),
            "percent": context["percent"],
            "error": job.get("error", ""),
            "result": job.get(job["phase"]),
        }
    )


@login_required
@require_POST
def import_confirm(request, job_id: str):
    _require_writer(request.user)
    job = _job_for(request.user, job_id)
    dry = job.get("dry")
    if job["state"] != "done" or job["phase"] != "dry" or not dry or not dry["created"] + dry["updated"]:
        return redirect("registry:import_job", job_id=job_id)
    if not cache.add(f"{_key(job_id)}:real", 1, JOB_TTL):  # a double click starts one run, not two
        return redirect("registry:import_job", job_id=job_id)
    job.update(state="queued", phase="real", done=0, total=None)
    _save(job)
    launch(job_id, "real")
    return redirect("registry:import_job", job_id=job_id)


@login_required
def import_report(request, job_id: str):
    """Every bad row of the job's last run as .xlsx (row number, masked key, name, reasons)."""
    from openpyxl import Workbook

    _require_writer(request.user)
    job = _job_for(request.user, job_id)
    phase = "real" if job.get("real") else "dry"
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("有误的行")
    ws.append(["行号", "标识", "姓名/名称", "原因"])
    for bad in _bad_rows(job_id, phase):
        ws.append([bad["row"], bad["key"], bad["label"], "；".join(bad["reasons"])])
    buffer = io.BytesIO()
    wb.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    stem = Path(job["filename"]).stem
    response["Content-Disposition"] = content_disposition_header(True, f"{stem}-有误的行.xlsx")
    response["Cache-Control"] = "no-store"
    return response


# --- export -------------------------------------------------------------------------------------------------
@login_required
def export(request, entity: str):
    """The list of `entity` the user may see, filtered like its list page (same query string), as .xlsx."""
    if entity not in exporters.ENTITIES:
        raise Http404
    spec = exporters.ENTITIES[entity]
    filterset = FILTERSETS[entity](request.GET or None, queryset=spec.scoped(request.user), request=request)
    if filterset.is_bound and not filterset.is_valid():
        problems = "；".join(f"{k}：{' '.join(v)}" for k, v in filterset.errors.items())
        return HttpResponseBadRequest(_("筛选条件有误：%(problems)s") % {"problems": problems})
    try:
        return exporters.export_response(
            request.user, entity, filterset.qs, purpose=(request.GET.get("purpose") or "")[:200]
        )
    except ServiceError as exc:
        return HttpResponseBadRequest(str(exc))
