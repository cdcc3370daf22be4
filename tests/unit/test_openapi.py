from realm.devstack import openapi


def test_the_committed_openapi_document_matches_the_code() -> None:
    assert not openapi.is_stale(), "shared/realm/openapi.json is stale: run `make openapi`"


def test_the_document_describes_every_http_function_of_the_app() -> None:
    paths = openapi.document()["paths"]
    for name, method in [
        ("/signup", "post"),
        ("/me", "get"),
        ("/create-party", "post"),
        ("/create-invite", "post"),
        ("/respond-invite", "post"),
        ("/list-parties", "get"),
    ]:
        assert method in paths[name], name
        assert "401" in paths[name][method]["responses"]
