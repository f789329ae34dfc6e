import email
import email.policy
import re
from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.shortcuts import render

_NAME = re.compile(r"^[0-9A-Za-z-]+\.eml\Z")


def _directory() -> Path:
    if not settings.DEBUG or not getattr(settings, "EMAIL_FILE_PATH", None):
        raise Http404
    return Path(settings.EMAIL_FILE_PATH)


def _read(path: Path):
    with path.open("rb") as handle:
        return email.message_from_binary_file(handle, policy=email.policy.default)


def mailbox(request):
    directory = _directory()
    paths = sorted(directory.glob("*.eml"), reverse=True)[:200] if directory.exists() else []
    messages = []
    for path in paths:
        parsed = _read(path)
        messages.append(
            {
                "name": path.name,
                "subject": parsed["subject"],
                "to": parsed["to"],
                "date": parsed["date"],
            }
        )
    return render(
        request,
        "mailings/mailbox.html",
        {"messages_list": messages, "title": "Boîte de développement"},
    )


def message(request, name):
    if not _NAME.match(name):
        raise Http404
    path = _directory() / name
    if not path.is_file():
        raise Http404
    parsed = _read(path)
    body = parsed.get_body(preferencelist=("plain",))
    context = {
        "message": parsed,
        "name": name,
        "text": body.get_content() if body is not None else "",
        "title": parsed["subject"],
    }
    return render(request, "mailings/message.html", context)
