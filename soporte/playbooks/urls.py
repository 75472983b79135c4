from django.urls import include, path

from . import views

patterns = [
    path("playbooks/", views.template_list, name="templates"),
    path("playbooks/new/", views.template_edit, name="template_new"),
    path("playbooks/<int:template_id>/", views.template_edit, name="template"),
    path("playbooks/<int:template_id>/delete/", views.template_delete, name="template_delete"),
    path("tasks/", views.my_tasks, name="tasks"),
    path("tasks/<int:task_id>/done/", views.task_done, name="task_done"),
    path("remote-sessions/<int:session_id>/end/", views.session_end, name="session_end"),
    path("playbooks/tickets/<int:number>/", views.ticket_panel, name="panel"),
    path("playbooks/tickets/<int:number>/checklists/", views.attach, name="attach"),
    path("playbooks/tickets/<int:number>/steps/<int:step_id>/", views.step, name="step"),
    path("playbooks/tickets/<int:number>/tasks/", views.task_new, name="task_new"),
    path("playbooks/tickets/<int:number>/sessions/", views.session_new, name="session_new"),
]

urlpatterns = [path("desk/", include((patterns, "playbooks")))]
