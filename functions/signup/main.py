"""signup: the caller (already signed in with Firebase) creates their Realm profile."""

from werkzeug.datastructures import FileStorage

from realm import errors
from realm.edge.api_models import SignupForm, UserOut
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.media import photos
from realm.people import profile


@endpoint(
    "POST",
    summary="Create the caller's profile (multipart form)",
    form=SignupForm,
    files=("photo",),
    response=UserOut,
    status=201,
    idempotent=True,
    errors=(
        errors.AlreadySignedUp,
        errors.EmailTaken,
        errors.HandleTaken,
        errors.RateLimited,
        *photos.DOOR_ERRORS,
    ),
    # The photo is held to REALM_MAX_UPLOAD_BYTES; the body may carry the form around it.
    max_bytes=photos.body_limit(),
)
def signup(caller: Caller, form: SignupForm, files: dict[str, FileStorage]) -> Reply:
    # The photo is checked at the door, before anything is stored.
    photo = photos.accept(photos.from_file(files["photo"].stream)) if "photo" in files else None
    user = profile.sign_up(
        caller.uid, form.display_name, form.email, form.phone, photo, handle=form.handle
    )
    return Reply(201, UserOut.model_validate(user))
