"""The floor: a hello-world function under functions-framework, the platform's own server."""

import functions_framework
from flask import Request


@functions_framework.http
def hello(request: Request) -> str:
    return "hello"
