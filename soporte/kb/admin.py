"""Categories, sections and the FAQ may be edited here too; articles are read-only (their
changes go through the services, which keep versions and check who may publish)."""

from django.contrib import admin

from .models import Article, Category, Deflection, FaqEntry, Feedback, Section


class SectionInline(admin.TabularInline):
    model = Section
    extra = 0


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "position"]
    search_fields = ["name"]
    inlines = [SectionInline]


@admin.register(FaqEntry)
class FaqEntryAdmin(admin.ModelAdmin):
    list_display = ["question", "category", "language", "visibility", "published", "views"]
    list_filter = ["published", "language", "visibility", "category"]
    search_fields = ["question"]
    filter_horizontal = ["organizations"]
    readonly_fields = ["views", "helpful_yes", "helpful_no", "created_by"]

    def save_model(self, request, obj, form, change):
        from . import markdown

        obj.answer_html = markdown.render(obj.answer)
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "language", "status", "visibility", "owner", "review_by", "views"]
    list_filter = ["status", "language", "visibility"]
    search_fields = ["title"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["article", "faq", "user", "helpful", "created_at"]
    list_filter = ["helpful"]

    def has_add_permission(self, request):
        return False


@admin.register(Deflection)
class DeflectionAdmin(admin.ModelAdmin):
    list_display = ["article", "user", "outcome", "created_at"]
    list_filter = ["outcome"]

    def has_add_permission(self, request):
        return False
