from django.db import models


class ImportedRecord(models.Model):
    """What a record of another system became here, so an import run again skips it."""

    source = models.CharField(max_length=60)  # e.g. "django-helpdesk"
    kind = models.CharField(max_length=30)  # "user", "queue", "ticket", "followup", ...
    source_id = models.CharField(max_length=100)
    target_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "kind", "source_id"], name="ops_imported_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.kind} {self.source_id} -> {self.target_id}"
