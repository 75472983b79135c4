from django.urls import include, path

from .views import desk, portal

portal_patterns = [
    path("", portal.home, name="home"),
    path("search/", portal.search, name="search"),
    path("categories/<int:category_id>/", portal.category, name="category"),
    path(
        "categories/<int:category_id>/manual.<str:fmt>",
        portal.export_category,
        name="export_category",
    ),
    path("articles/<int:article_id>/", portal.article, name="article"),
    path("articles/<int:article_id>/feedback/", portal.feedback, name="feedback"),
    path("articles/<int:article_id>/export.<str:fmt>", portal.export_article, name="export"),
    path("faq/", portal.faq, name="faq"),
    path("faq/<int:entry_id>/viewed/", portal.faq_viewed, name="faq_viewed"),
    path("faq/<int:entry_id>/feedback/", portal.faq_feedback, name="faq_feedback"),
    path("suggest/", portal.suggest, name="suggest"),
    path("deflections/<int:deflection_id>/solved/", portal.solved, name="solved"),
    path("deflections/left/", portal.left, name="left"),
]

desk_patterns = [
    path("", desk.article_list, name="articles"),
    path("new/", desk.article_new, name="new"),
    path("preview/", desk.preview, name="preview"),
    path("faq/", desk.faq_list, name="faq"),
    path("faq/<int:entry_id>/", desk.faq_edit, name="faq_entry"),
    path("categories/", desk.categories, name="categories"),
    path("<int:article_id>/", desk.article_edit, name="article"),
    path("<int:article_id>/status/", desk.transition, name="transition"),
    path("<int:article_id>/reviewed/", desk.reviewed, name="reviewed"),
    path("<int:article_id>/translate/", desk.translate, name="translate"),
    path("<int:article_id>/versions/", desk.versions, name="versions"),
    path("<int:article_id>/versions/<int:number>/", desk.version, name="version"),
    path("<int:article_id>/versions/<int:number>/restore/", desk.restore, name="restore"),
    path("tickets/<int:number>/", desk.ticket_panel, name="ticket_panel"),
    path("tickets/<int:number>/article/", desk.from_ticket, name="from_ticket"),
    path("tickets/<int:number>/solved/", desk.solved_with, name="solved_with"),
    path("tickets/<int:number>/solved/<int:article_id>/remove/", desk.unsolve, name="unsolve"),
]

urlpatterns = [
    path("help/", include((portal_patterns, "kb"))),
    path("desk/kb/", include((desk_patterns, "kbdesk"))),
]
