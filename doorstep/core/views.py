from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from doorstep.accounts.choices import Role, Scope
from doorstep.core.qr import qr_svg
from doorstep.evaluation import reviews as evaluation_reviews
from doorstep.evaluation import stars as evaluation_stars
from doorstep.mediation import access as mediation_access
from doorstep.mobile import access as mobile_access
from doorstep.org import selectors
from doorstep.org.choices import RequestStatus
from doorstep.org.models import GridAssignment
from doorstep.org.territory import Territory
from doorstep.registry.display import shown_reasons
from doorstep.registry.todo import visit_todo, visit_todo_counts


@login_required
def home(request):
    """The role's home dashboard: its territory at a glance and what waits for the user."""
    user = request.user
    territory = Territory.for_user(user)
    today = timezone.localdate()
    board = selectors.staffing_board(user, on=today)
    grid_rows = [g for s in board for g in s.grids]
    context = {
        "territory": territory,
        "today": today,
        "counts": {
            "stations": selectors.stations_for(user).count(),
            "communities": selectors.communities_for(user).count(),
            "grids": len(grid_rows),
            "police_rooms": selectors.police_rooms_for(user).count(),
        },
        "board": board,
        "compliant": sum(1 for g in grid_rows if g.compliant),
        "problem_grids": [g for g in grid_rows if not g.compliant][:12],
        "pending_departures": selectors.departure_requests_for(user)
        .filter(status=RequestStatus.PENDING)
        .count(),
        "pending_secondments": selectors.secondments_for(user).filter(status=RequestStatus.PENDING).count(),
        "is_director": user.role == Role.DIRECTOR,
    }
    if territory.scope == Scope.GRID and user.staff_id:
        posts = (
            GridAssignment.objects.current()
            .filter(staff_id=user.staff_id)
            .select_related("grid__community__station", "grid__community__police_room")
        )
        context["my_posts"] = [
            {
                "post": post,
                "team": GridAssignment.objects.current()
                .filter(grid_id=post.grid_id)
                .exclude(pk=post.pk)
                .select_related("staff"),
                "tenure_days": post.tenure_days(today),
            }
            for post in posts
        ]
    if user.role in {Role.OFFICER, Role.AUXILIARY}:
        rows = list(visit_todo(user, today)[:5])
        for row in rows:
            row.reasons = shown_reasons(user, row.colour_reasons)
            row.overdue_days = (today - row.next_visit_due).days
        context["visit_todo"] = {"counts": visit_todo_counts(user, today), "rows": rows}
    if mobile_access.may_use(user):
        # Open the workspace on the phone by scanning the code shown on the desk computer.
        url = request.build_absolute_uri(reverse("mobile:app"))
        context["mobile_workspace"] = {"url": url, "qr": qr_svg(url, size_mm=30)}
    if len(board) > 1:
        context["chart"] = json.dumps(
            {
                "stations": [s.station.name for s in board],
                "compliant": [s.compliant_count for s in board],
                "gaps": [s.grid_count - s.compliant_count for s in board],
            },
            ensure_ascii=False,
        )
    context["mediation_todo"] = mediation_access.todo_counts(user, timezone.now())
    context["stars"] = evaluation_stars.current_stars(today)
    # Tiered evaluations to score or sign (weekly: officers; 旬: directors; monthly: the evaluation office).
    context["review_reminders"] = evaluation_reviews.reminders(user, today)
    return render(request, "core/home.html", context)


def favicon(request):
    """/favicon.ico, which browsers ask for on pages that are not HTML (a PDF, an image): the site icon.
    Resolved per request, not at import, so the static manifest is read only once it exists."""
    from django.shortcuts import redirect
    from django.templatetags.static import static

    return redirect(static("doorstep/favicon.svg"), permanent=True)


def not_found(request, exception=None):
    """The 404 page in Chinese (Django's own is English): the portal's for /portal/ (no staff navigation, its
    CSP), a JSON `detail` for the API, the staff layout otherwise."""
    from django.http import JsonResponse
    from django.utils.translation import gettext as _

    from doorstep.portal.middleware import is_portal

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("未找到。")}, status=404)
    template = "portal/404.html" if is_portal(request.path) else "404.html"
    return render(request, template, status=404)
