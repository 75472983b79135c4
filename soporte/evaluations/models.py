"""Evaluations of a hardware or software product before it is adopted.

An evaluation names what is evaluated (an asset type with its manufacturer and model, or
a software product), and records its test plan (a checklist of steps, each passed,
failed or not applicable, by whom and when), its compatibility with the systems already
in the inventory (asset types, software products, operating systems), the testers'
ease-of-use scores, the issues found (each may become a problem for development), the
recommendation (planned -> testing -> decided), and the feedback sent to the vendor.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from soporte.assets.models import AssetType, SoftwareProduct


class ProductKind(models.TextChoices):
    HARDWARE = "hardware", _("Hardware")
    SOFTWARE = "software", _("Software")


class EvaluationStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    TESTING = "testing", _("Testing")
    DECIDED = "decided", _("Decided")


class Recommendation(models.TextChoices):
    ADOPT = "adopt", _("Adopt")
    ADOPT_WITH_CONDITIONS = "conditions", _("Adopt with conditions")
    REJECT = "reject", _("Reject")


class Evaluation(models.Model):
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=ProductKind.choices)
    asset_type = models.ForeignKey(
        AssetType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="evaluations",
        verbose_name=_("asset type"),
    )
    manufacturer = models.CharField(_("manufacturer"), max_length=100, blank=True)
    model = models.CharField(_("model"), max_length=100, blank=True)
    software_product = models.ForeignKey(
        SoftwareProduct,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="evaluations",
        verbose_name=_("software product"),
    )
    product_version = models.CharField(_("version"), max_length=100, blank=True)
    vendor = models.CharField(_("vendor"), max_length=200, blank=True)
    vendor_contact = models.CharField(_("vendor contact"), max_length=200, blank=True)
    vendor_email = models.EmailField(_("vendor e-mail"), blank=True)
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=EvaluationStatus.choices,
        default=EvaluationStatus.PLANNED,
    )
    recommendation = models.CharField(
        _("recommendation"), max_length=12, choices=Recommendation.choices, blank=True
    )
    conditions = models.TextField(_("conditions"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        indexes = [
            models.Index(fields=["status", "recommendation"], name="evaluation_outcome"),
            models.Index(fields=["-updated_at", "-id"], name="evaluation_updated"),
        ]

    def __str__(self) -> str:
        return self.title

    def product_label(self) -> str:
        """What is evaluated, in one line (reads the asset type or software product)."""
        if self.kind == ProductKind.SOFTWARE:
            parts = [str(self.software_product or ""), self.product_version]
        else:
            parts = [str(self.asset_type or ""), self.manufacturer, self.model]
        return " ".join(part for part in parts if part)


class StepResult(models.TextChoices):
    PENDING = "pending", _("Not run")
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")
    NOT_APPLICABLE = "na", _("Not applicable")


class Step(models.Model):
    """One step of the test plan."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(_("position"), default=0)
    text = models.CharField(_("step"), max_length=500)
    result = models.CharField(
        _("result"), max_length=8, choices=StepResult.choices, default=StepResult.PENDING
    )
    note = models.TextField(_("note"), blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("checked by"),
    )
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)

    class Meta:
        ordering = ["evaluation", "position", "id"]
        verbose_name = _("test step")
        verbose_name_plural = _("test steps")

    def __str__(self) -> str:
        return self.text


class SystemKind(models.TextChoices):
    ASSET_TYPE = "asset_type", _("Asset type")
    SOFTWARE = "software", _("Software product")
    OS = "os", _("Operating system")


class Compatibility(models.TextChoices):
    COMPATIBLE = "compatible", _("Compatible")
    ISSUES = "issues", _("Compatible with issues")
    INCOMPATIBLE = "incompatible", _("Incompatible")


class CompatibilityResult(models.Model):
    """One cell of the compatibility matrix: the product against one existing system."""

    evaluation = models.ForeignKey(
        Evaluation, on_delete=models.CASCADE, related_name="compatibility"
    )
    system_kind = models.CharField(_("system kind"), max_length=12, choices=SystemKind.choices)
    asset_type = models.ForeignKey(
        AssetType, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    software_product = models.ForeignKey(
        SoftwareProduct, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    os_name = models.CharField(_("operating system"), max_length=100, blank=True)
    # The system's identity within its kind (an id, or the OS name folded): one row each.
    system_key = models.CharField(max_length=100, editable=False)
    result = models.CharField(_("result"), max_length=12, choices=Compatibility.choices)
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["evaluation", "system_kind", "system_key"]
        verbose_name = _("compatibility result")
        verbose_name_plural = _("compatibility results")
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "system_kind", "system_key"],
                name="evaluation_one_result_per_system",
            )
        ]

    def __str__(self) -> str:
        return f"{self.system_label()}: {self.get_result_display()}"

    def system_label(self) -> str:
        if self.system_kind == SystemKind.ASSET_TYPE:
            return str(self.asset_type)
        if self.system_kind == SystemKind.SOFTWARE:
            return str(self.software_product)
        return self.os_name


class Score(models.Model):
    """One tester's ease-of-use score, 1 (hard) to 5 (easy); a tester scores once."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="scores")
    tester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField(_("ease of use"))
    note = models.TextField(_("note"), blank=True)
    scored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["evaluation", "scored_at", "id"]
        verbose_name = _("ease-of-use score")
        verbose_name_plural = _("ease-of-use scores")
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "tester"], name="evaluation_one_score"),
            models.CheckConstraint(
                condition=models.Q(score__gte=1, score__lte=5), name="evaluation_score_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tester}: {self.score}"


class FeedbackMethod(models.TextChoices):
    MAIL = "mail", _("Sent by mail")
    BY_HAND = "by_hand", _("Recorded as sent by hand")


class FeedbackStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Feedback(models.Model):
    """What was told to the vendor: mailed by a job, or recorded as sent by hand."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="feedback")
    method = models.CharField(_("method"), max_length=8, choices=FeedbackMethod.choices)
    contact = models.CharField(_("vendor contact"), max_length=200, blank=True)
    to = models.EmailField(_("to"), blank=True)
    subject = models.CharField(_("subject"), max_length=250)
    body = models.TextField(_("text sent"))
    status = models.CharField(
        _("status"), max_length=8, choices=FeedbackStatus.choices, default=FeedbackStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["evaluation", "-created_at", "-id"]
        verbose_name = _("vendor feedback")
        verbose_name_plural = _("vendor feedback")

    def __str__(self) -> str:
        return self.subject


class Finding(models.Model):
    """An issue found while testing; it may be told to the vendor (in a feedback) and
    become a problem reported to development."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="findings")
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    found_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    found_at = models.DateTimeField(default=timezone.now)
    feedback = models.ForeignKey(
        Feedback,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="findings",
        verbose_name=_("told to the vendor in"),
    )
    problem = models.ForeignKey(
        "problems.Problem",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("problem"),
    )

    class Meta:
        ordering = ["evaluation", "found_at", "id"]
        verbose_name = _("issue found")
        verbose_name_plural = _("issues found")

    def __str__(self) -> str:
        return self.title
