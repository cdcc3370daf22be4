"""signup: the caller (already signed in with Firebase) creates their Realm profile."""

from werkzeug.datastructures import FileStorage

from realm import db, users
from realm.auth import Caller
from realm.config import settings
from realm.http import Reply, endpoint
from realm.schemas import SignupForm, UserOut


@endpoint(
    "POST",
    summary="Create the caller's profile (multipart form)",
    form=SignupForm,
    files=("photo",),
    response=UserOut,
    status=201,
    errors=(400, 401, 405, 409, 413, 415, 422),
    max_bytes=settings.max_upload_bytes,
)
def signup(caller: Caller, form: SignupForm, files: dict[str, FileStorage]) -> Reply:
    with db.transaction() as tx:
        user = users.sign_up(tx, caller.uid, form.display_name, form.email, form.phone)
    return Reply(201, UserOut.model_validate(user))
