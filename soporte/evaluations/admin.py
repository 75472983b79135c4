"""Evaluations may be read and corrected here; the pages and API are where they run."""

from django.contrib import admin

from .models import CompatibilityResult, Evaluation, Feedback, Finding, Score, Step


class StepInline(admin.TabularInline):
    model = Step
    extra = 0
    raw_id_fields = ["checked_by"]


class CompatibilityInline(admin.TabularInline):
    model = CompatibilityResult
    extra = 0
    raw_id_fields = ["recorded_by"]
    readonly_fields = ["system_key"]


class ScoreInline(admin.TabularInline):
    model = Score
    extra = 0
    raw_id_fields = ["tester"]


class FindingInline(admin.TabularInline):
    model = Finding
    extra = 0
    raw_id_fields = ["found_by", "problem", "feedback"]


class FeedbackInline(admin.StackedInline):
    model = Feedback
    extra = 0
    raw_id_fields = ["recorded_by"]
    readonly_fields = ["attempts", "last_error"]


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "status", "recommendation", "updated_at"]
    list_filter = ["kind", "status", "recommendation"]
    search_fields = ["title", "vendor", "model"]
    raw_id_fields = ["created_by", "decided_by"]
    inlines = [StepInline, CompatibilityInline, ScoreInline, FindingInline, FeedbackInline]
