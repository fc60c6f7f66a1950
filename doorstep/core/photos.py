"""Uploaded photos and how they are served: one place for both, so every app treats photos alike.

`normalise_photo` accepts only a real image under the size limit, and re-encodes it as a JPEG (orientation
applied, at most MAX_SIDE px on the long side) without its metadata: EXIF can carry GPS positions, the
camera owner's name and a thumbnail of the original, none of which may leave the page that took it.
`files_removed_on_rollback` deletes the photos a service wrote when its transaction rolls back.
`private_file_response` serves a stored file to a user the caller has already scoped, never to a cache.
"""

from __future__ import annotations

import io
import logging
import mimetypes
import struct
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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

logger = logging.getLogger(__name__)


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
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
        EOFError,  # a frame or segment missing at the end of the data (truncated file)
        struct.error,  # a header, EXIF or chunk field cut short
        IndexError,
        KeyError,
        TypeError,
        ZeroDivisionError,
        MemoryError,
    ) as exc:
        # The bytes come from anyone with a camera: whatever Pillow's decoders raise on a truncated or
        # garbage file (which differs between formats and Pillow versions) is a refused upload, never a 500.
        raise ServiceError(_("上传的文件不是有效的图片"), code=code) from exc
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.jpg")


@contextmanager
def files_removed_on_rollback() -> Iterator[Callable[[Any, ContentFile], None]]:
    """Yield `store(field_file, content)`, which writes a file into a FileField (the model is not saved).

    Storage is not transactional: a file written inside `transaction.atomic()` stays on disk when the
    transaction rolls back, pointing at no row. Put this block around the service's atomic block; when the
    block raises (the transaction rolled back) the files stored in it are deleted again; when it ends normally
    the transaction has committed (services run their own outermost transaction, no ATOMIC_REQUESTS) and the
    files stay."""
    written: list[tuple[Any, str]] = []

    def store(field_file: Any, content: ContentFile) -> None:
        field_file.save(content.name, content, save=False)
        written.append((field_file.storage, field_file.name))

    try:
        yield store
    except BaseException:
        for storage, name in written:
            try:
                storage.delete(name)
            except OSError:  # the refusal that rolled back matters more than a leftover file
                logger.warning("could not delete %s after a rollback", name)
        raise


def private_file_response(field_file: Any) -> FileResponse:
    """Serve a stored photo to an already-scoped user: private, never stored by a browser or proxy."""
    content_type = mimetypes.guess_type(field_file.name)[0] or "application/octet-stream"
    response = FileResponse(field_file.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
