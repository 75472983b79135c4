from django.urls import include, path

from .views import desk, portal

desk_patterns = [
    path("", desk.asset_list, name="list"),
    path("new/", desk.asset_new, name="new"),
    path("export.csv", desk.export, name="export"),
    path("import/", desk.import_page, name="import"),
    path("import/<int:run_id>/", desk.import_run, name="import_run"),
    path("cabling/", desk.cabling_report, name="cabling"),
    path("licences/", desk.licences, name="licences"),
    path("maintenance/", desk.maintenance_page, name="maintenance"),
    path("maintenance/<int:task_id>/", desk.task_page, name="task"),
    path("tokens/", desk.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", desk.token_revoke, name="token_revoke"),
    path("tickets/<int:number>/link/", desk.ticket_link, name="ticket_link"),
    path("tickets/<int:number>/unlink/<int:asset_id>/", desk.ticket_unlink, name="ticket_unlink"),
    path("<int:asset_id>/", desk.asset_page, name="asset"),
    path("<int:asset_id>/edit/", desk.asset_edit, name="edit"),
    path("<int:asset_id>/software/", desk.install, name="install"),
    path("<int:asset_id>/software/<int:product_id>/remove/", desk.uninstall, name="uninstall"),
    path("<int:asset_id>/patch/", desk.patch, name="patch"),
    path("<int:asset_id>/ports/<int:port_id>/unpatch/", desk.unpatch, name="unpatch"),
    path("<int:asset_id>/tickets/", desk.link_ticket, name="link_ticket"),
]

portal_patterns = [
    path("", portal.my_assets, name="list"),
    path("offer/", portal.offer, name="offer"),
    path("new-ticket/", portal.new_ticket, name="new_ticket"),
    path("<int:asset_id>/", portal.my_asset, name="asset"),
]

urlpatterns = [
    path("desk/assets/", include((desk_patterns, "assets"))),
    path("portal/assets/", include((portal_patterns, "myassets"))),
]
