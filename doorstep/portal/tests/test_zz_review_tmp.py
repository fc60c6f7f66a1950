import datetime as dt
import re
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from doorstep.core import sms
from doorstep.portal.models import PhoneCode, Submission
from doorstep.portal.tests.test_slots import make_slot, otp, booking, PHONE
from doorstep.portal.tests.test_submissions import business

@pytest.fixture(autouse=True)
def _clean(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SMS_GATEWAY = "memory"
    cache.clear(); sms.outbox.clear()
    yield

def C(user=None):
    c = Client(raise_request_exception=False)
    if user: c.force_login(user)
    return c

def show(label, r):
    print(f"{label}: {r.status_code}")
    return r.status_code

def test_staff_probes(world):
    c = C(world.users["leader"])
    for q in ["date_to=9999-12-31", "date_from=9999-12-31", "station=99999999999999999999", "community=%C2%B2",
              "community=%EF%BC%91%EF%BC%92", "grid=99999999999999999999", "survey=%00", "page=99999999999999999999999"]:
        show("responses " + q, c.get("/online/surveys/responses/?" + q))
    for q in ["community=99999999999999999999", "status=x", "page=-1"]:
        show("queue " + q, c.get("/online/?" + q))
    show("item big", c.get("/online/items/99999999999999999999/"))
    show("survey big", c.get("/online/surveys/99999999999999999999/"))
    d = C(world.users["director"])
    show("slots post bad", d.post("/online/slots/", {"room": "99999999999999999999", "start": "9999-12-31", "end": "9999-12-31", "weekdays": ["0"], "start_times": "09:00", "minutes": "60", "capacity": "2"}))
    show("slots post huge date", d.post("/online/slots/", {"room": world.room_c1.pk, "start": str(dt.date.today()), "end": "9999-12-31", "weekdays": ["0"], "start_times": "09:00", "minutes": "60", "capacity": "2"}))
    show("survey new huge", d.post("/online/surveys/new/", {"title": "x", "station": world.s1.pk, "opens_on": "9999-12-31", "closes_on": "9999-12-31", "target_per_grid": "99999999999999999999", "grids": [world.grid_a.pk]}))
    show("survey new grids big", d.post("/online/surveys/new/", {"title": "x", "station": world.s1.pk, "opens_on": "2026-01-01", "closes_on": "2026-02-01", "target_per_grid": "3", "grids": ["99999999999999999999", "²"]}))

def test_public_probes(world):
    c = C()
    show("s nul", c.get("/portal/s/%00/"))
    show("s code nul", c.post("/portal/s/%00abc/code/", {"phone": "13912345678"}))
    show("a nul", c.get("/portal/a/%00/"))
    show("book room big", c.get("/portal/book/?room=99999999999999999999"))
    show("book room sup", c.get("/portal/book/?room=%C2%B2"))
    show("book post no room", c.post("/portal/book/", {}))
    show("book code json", c.post("/portal/book/code/", data="{bad", content_type="application/json"))
    show("book code get", c.get("/portal/book/code/"))
    show("receipt no code", c.post("/portal/receipt/", {}))
    show("receipt cancel no code", c.post("/portal/receipt/", {"action": "cancel"}))
    show("receipt cancel nul", c.post("/portal/receipt/", {"action": "cancel", "code": "\x00", "phone": "\x00"}))
    show("tip nonimage", c.post("/portal/report/tip/", {"content": "abc", "anonymous": "on", "photo": SimpleUploadedFile("a.jpg", b"notanimage", "image/jpeg")}))
    show("tip multipart nofile", c.post("/portal/report/tip/", {"content": "abc", "anonymous": "on"}))
    show("tip nul", c.post("/portal/report/tip/", {"content": "a\x00b", "anonymous": "on"}))
    show("tip bad date", c.post("/portal/report/tip/", {"content": "abc", "anonymous": "on", "occurred_at": "0001-01-01"}))
    show("tip address code junk", c.post("/portal/report/tip/", {"content": "abc", "anonymous": "on", "address_code": "zz.zz"}))
    show("tip prefill a", c.get("/portal/report/tip/?a=%00"))
    show("suggest", c.post("/portal/officer/suggest/", {"q": "\x00\x00\x00"}))
    show("officer post", c.post("/portal/officer/", {"q": "\x00\x00\x00"}))
    show("put", c.put("/portal/report/tip/"))

def test_booking_code_attempts(world):
    c = C()
    slot = make_slot(world, capacity=2)
    bt = business()
    code = otp(c)
    for i in range(7):
        r = c.post("/portal/book/", booking(world, slot, bt, "000001" if code != "000001" else "000002"))
    row = PhoneCode.objects.latest("created_at")
    print("attempts after 7 wrong:", row.attempts, "used", row.used_at, [r.status_code])
    cache.clear()
    r = c.post("/portal/book/", booking(world, slot, bt, code))
    print("right code after 7 wrong:", r.status_code, Submission.objects.count())
