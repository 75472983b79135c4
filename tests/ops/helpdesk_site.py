"""Makes a django-helpdesk 2.6.1 site's database for the import test. Runs under the
peer's own virtualenv (bench/.peer, Django and django-helpdesk from PyPI), never ours.

    python helpdesk_site.py DB_PATH MEDIA_ROOT   -> prints a JSON summary of what it made
"""

import json
import sys
from datetime import timedelta

import django
from django.conf import settings

db_path, media_root = sys.argv[1], sys.argv[2]
settings.configure(
    SECRET_KEY="peer-fixture",
    USE_TZ=True,
    SITE_ID=1,
    MEDIA_ROOT=media_root,
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": db_path}},
    INSTALLED_APPS=[
        "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
        "django.contrib.sites", "django.contrib.messages", "django.contrib.humanize",
        "rest_framework", "helpdesk",
    ],
    HELPDESK_TEAMS_MODE_ENABLED=False,
    EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
)  # fmt: skip
django.setup()
from django.contrib.auth.models import User  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402
from helpdesk.models import (  # noqa: E402
    FollowUp,
    FollowUpAttachment,
    KBCategory,
    KBItem,
    Queue,
    Ticket,
)  # fmt: skip

call_command("migrate", verbosity=0)
boss = User.objects.create_superuser("boss", "boss@hd.example", "pw-boss-123")
agent = User.objects.create_user("tech", "tech@hd.example", "pw-tech-123", is_staff=True)
client = User.objects.create_user("ana", "ana@customer.example", "pw-ana-123", first_name="Ana")
queues = [
    Queue.objects.create(title="Hardware", slug="hw", email_address="hw@hd.example"),
    Queue.objects.create(title="Accounts", slug="acc"),
]
start = timezone.now() - timedelta(days=30)
made = {"tickets": 0, "followups": 0, "files": 0, "public_followups": 0}
for i in range(12):
    status = [1, 2, 3, 4, 5, 1][i % 6]
    ticket = Ticket.objects.create(
        title=f"Printer {i} jams" if i % 2 else f"Password reset {i}",
        queue=queues[i % 2],
        submitter_email="ana@customer.example" if i % 3 == 0 else f"walkin{i % 4}@outside.example",
        assigned_to=agent if i % 2 else None,
        status=status,
        priority=1 + i % 5,
        description=f"Description of problem {i}.",
        resolution="Replaced the roller." if status in (3, 4) else "",
    )
    Ticket.objects.filter(pk=ticket.pk).update(
        created=start + timedelta(days=i), modified=start + timedelta(days=i, hours=5)
    )
    made["tickets"] += 1
    for j in range(3):
        public = j != 1
        followup = FollowUp.objects.create(
            ticket=ticket, title=f"Comment {j}", comment=f"Follow-up {j} on {i}.",
            public=public, user=agent if j else None,
            date=start + timedelta(days=i, hours=j + 1),
        )  # fmt: skip
        made["followups"] += 1
        made["public_followups"] += public
        if j == 2 and i % 4 == 0:
            attachment = FollowUpAttachment(
                followup=followup, filename=f"log-{i}.txt", mime_type="text/plain", size=20
            )
            attachment.file.save(f"log-{i}.txt", ContentFile(f"log of ticket {i}\n".encode()))
            made["files"] += 1
category = KBCategory.objects.create(
    name="printers", title="Printers", slug="printers", description="Printing", public=True
)
KBItem.objects.create(
    category=category, title="Clearing a jam", question="It jams.", answer="Open tray 2."
)
KBItem.objects.create(
    category=category, title="Old driver", question="Old.", answer="Gone.", enabled=False
)
made["kb_items"] = 2
made["users"] = User.objects.count()
print(json.dumps(made))
