"""photo-upload: a new profile photo for the caller, as base64 JSON or a multipart file.

The image is checked at the door (size, type by content, declared pixel count, integrity),
stored, and answered with 202: make-thumbnail makes it ready shortly after.
"""

from werkzeug.datastructures import FileStorage

from realm import errors
from realm.edge.api_models import PhotoAcceptedOut, PhotoUploadForm, PhotoUploadRequest
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.media import photos
from realm.people import profile


@endpoint(
    "POST",
    summary="Upload the caller's profile photo (JSON with base64, or multipart 'photo')",
    body=PhotoUploadRequest,
    form=PhotoUploadForm,
    files=("photo",),
    required_files=("photo",),
    response=PhotoAcceptedOut,
    status=202,
    idempotent=True,
    errors=(errors.SignupRequired, errors.RateLimited, *photos.DOOR_ERRORS),
    max_bytes=photos.body_limit(),
)
def photo_upload(
    caller: Caller,
    body: PhotoUploadRequest | None = None,
    form: PhotoUploadForm | None = None,
    files: dict[str, FileStorage] | None = None,
) -> Reply:
    if body is not None:
        data = photos.from_base64(body.image_base64)
    else:
        data = photos.from_file(photos.required_file(files, "photo"))
    accepted = profile.set_photo(caller.uid, photos.accept(data))
    return Reply(202, PhotoAcceptedOut.model_validate(accepted))
