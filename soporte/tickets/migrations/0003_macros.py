# Macros: canned responses that also change the ticket's fields.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('tickets', '0002_event_kinds_sla_macro'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='cannedresponse',
            options={'ordering': ['title', 'id']},
        ),
        migrations.AddField(
            model_name='cannedresponse',
            name='add_tags',
            field=models.JSONField(blank=True, default=list, verbose_name='add tags'),
        ),
        migrations.AddField(
            model_name='cannedresponse',
            name='assign',
            field=models.CharField(blank=True, choices=[('', 'Keep the assignee'), ('me', 'The agent applying it'), ('agent', 'A specific agent')], max_length=8, verbose_name='assign to'),
        ),
        migrations.AddField(
            model_name='cannedresponse',
            name='assignee',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='agent'),
        ),
        migrations.AddField(
            model_name='cannedresponse',
            name='impact',
            field=models.CharField(blank=True, choices=[('high', 'High'), ('medium', 'Medium'), ('low', 'Low')], max_length=8, verbose_name='set impact'),
        ),
        migrations.AddField(
            model_name='cannedresponse',
            name='kind',
            field=models.CharField(choices=[('reply', 'Public reply'), ('note', 'Internal note')], default='reply', max_length=8, verbose_name='post the text as'),
        ),
        migrations.AddField(
            model_name='cannedresponse',
            name='status',
            field=models.CharField(blank=True, choices=[('open', 'Open'), ('pending_customer', 'Pending customer'), ('pending_third_party', 'Pending third party'), ('resolved', 'Resolved')], max_length=24, verbose_name='set status'),
        ),
        migrations.AddField(
            model_name='cannedresponse',
            name='team',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.team', verbose_name='move to team'),
        ),
        migrations.AddField(
            model_name='cannedresponse',
            name='urgency',
            field=models.CharField(blank=True, choices=[('high', 'High'), ('medium', 'Medium'), ('low', 'Low')], max_length=8, verbose_name='set urgency'),
        ),
        migrations.AlterField(
            model_name='cannedresponse',
            name='body',
            field=models.TextField(blank=True, verbose_name='text'),
        ),
    ]
