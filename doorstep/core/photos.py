"""Uploaded photos and how they are served: one place for both, so every app treats photos alike.

`normalise_photo` accepts only a real image under the size limit, and re-encodes it as a JPEG (orientation
applied, at most MAX_SIDE px on the long side) without its metadata: EXIF can carry GPS positions, the
camera owner's name and a thumbnail of the original, none of which may leave the page that took it.
`private_file_response` serves a stored file to a user the caller has already scoped, never to a cache.
"""

from __future__ import annotations

import io
import mimetypes
import uuid
from typing import Any

from django.core.files.base import ContentFile
from django.http import FileResponse
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from doorstep.core.errors import ServiceError

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # a phone camera's JPEG is 2–6 MB
MAX_PIXELS = 50_000_000  # refuses decompression bombs long before they are decoded
MAX_SIDE = 2048
QUALITY = 85


def normalise_photo(upload: Any, *, max_bytes: int = MAX_PHOTO_BYTES, code: str = "photo") -> ContentFile:
    """A validated, re-encoded JPEG of the upload (named <uuid>.jpg), or ServiceError in Chinese."""
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise ServiceError(
            _("照片不能超过%(mb)sMB") % {"mb": max_bytes // (1024 * 1024)},
            code=code,
        )
    try:
        upload.seek(0)
        data = upload.read(max_bytes + 1)
    except (OSError, ValueError) as exc:
        raise ServiceError(_("照片读取失败，请重新上传"), code=code) from exc
    if len(data) > max_bytes:
        raise ServiceError(_("照片不能超过%(mb)sMB") % {"mb": max_bytes // (1024 * 1024)}, code=code)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.width * probe.height > MAX_PIXELS:
                raise ServiceError(_("照片像素过大，请压缩后上传"), code=code)
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode not in ("RGB", "L"):
                background = Image.new("RGB", image.size, (255, 255, 255))
                rgba = image.convert("RGBA")
                background.paste(rgba, mask=rgba.getchannel("A"))
                image = background
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            image.convert("RGB").save(out, format="JPEG", quality=QUALITY, optimize=True)
    except ServiceError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ServiceError(_("上传的文件不是有效的图片"), code=code) from exc
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.jpg")


def private_file_response(field_file: Any) -> FileResponse:
    """Serve a stored photo to an already-scoped user: private, never stored by a browser or proxy."""
    content_type = mimetypes.guess_type(field_file.name)[0] or "application/octet-stream"
    response = FileResponse(field_file.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
