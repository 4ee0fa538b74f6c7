"""The decision models move here from ``cases`` with no data copied: the tables keep their
names (``db_table``) and their constraints theirs, so this migration only tells Django's state
where the models now live (``cases`` 0003 forgets them there). Content types move with them,
so admin log entries and permissions keep pointing at the same rows."""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models

import decisions.models

MOVED = ["proposal", "voteround", "vote", "votechoice", "consensus", "consensuscosignature", "report"]


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MOVED:
        if ContentType.objects.using(db).filter(app_label="decisions", model=model).exists():
            continue
        ContentType.objects.using(db).filter(app_label="cases", model=model).update(
            app_label="decisions"
        )


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MOVED:
        if ContentType.objects.using(db).filter(app_label="cases", model=model).exists():
            continue
        ContentType.objects.using(db).filter(app_label="decisions", model=model).update(
            app_label="cases"
        )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('cases', '0002_decisions'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('meetings', '0002_live_session'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
            migrations.CreateModel(
                name='Proposal',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('category', models.CharField(choices=[('surgery', 'Surgery'), ('radiotherapy', 'Radiotherapy'), ('systemic_therapy', 'Systemic therapy'), ('multimodal', 'Multimodal treatment'), ('further_diagnostics', 'Further diagnostics / re-biopsy'), ('pathology_review', 'Expert pathology review'), ('clinical_trial', 'Clinical trial referral'), ('surveillance', 'Surveillance'), ('best_supportive_care', 'Best supportive care'), ('other', 'Other')], max_length=32, verbose_name='category')),
                    ('text', models.TextField(help_text='Markdown.', verbose_name='recommendation')),
                    ('guideline', models.CharField(choices=[('esmo_euracan', 'ESMO–EURACAN'), ('nccn', 'NCCN'), ('national', 'National guideline'), ('institutional', 'Institutional protocol'), ('none', 'None')], default='none', max_length=16, verbose_name='guideline')),
                    ('guideline_reference', models.CharField(blank=True, help_text='Edition and section, e.g. “ESMO–EURACAN 2021, 4.2”.', max_length=200, verbose_name='guideline reference')),
                    ('evidence_level', models.CharField(choices=[('I', 'I — large RCTs or meta-analyses'), ('II', 'II — small or biased RCTs'), ('III', 'III — prospective cohort studies'), ('IV', 'IV — retrospective or case–control studies'), ('V', 'V — no control group, case reports, expert opinion'), ('not_graded', 'Not graded')], default='not_graded', max_length=16, verbose_name='level of evidence')),
                    ('grade', models.CharField(choices=[('A', 'A — strongly recommended'), ('B', 'B — generally recommended'), ('C', 'C — optional'), ('D', 'D — generally not recommended'), ('E', 'E — never recommended'), ('not_graded', 'Not graded')], default='not_graded', max_length=16, verbose_name='grade of recommendation')),
                    ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                    ('number', models.PositiveSmallIntegerField()),
                    ('author_specialty', models.CharField(choices=[('pathology', 'Pathology'), ('radiology', 'Radiology'), ('medical_oncology', 'Medical oncology'), ('surgical_oncology', 'Surgical oncology'), ('radiation_oncology', 'Radiation oncology'), ('other', 'Other')], max_length=32)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('withdrawn_at', models.DateTimeField(blank=True, null=True)),
                    ('author', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('case', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='proposals', to='cases.case')),
                ],
                options={
                    'db_table': 'cases_proposal',
                    'ordering': ['case', 'number'],
                },
            ),
            migrations.CreateModel(
                name='Consensus',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('category', models.CharField(choices=[('surgery', 'Surgery'), ('radiotherapy', 'Radiotherapy'), ('systemic_therapy', 'Systemic therapy'), ('multimodal', 'Multimodal treatment'), ('further_diagnostics', 'Further diagnostics / re-biopsy'), ('pathology_review', 'Expert pathology review'), ('clinical_trial', 'Clinical trial referral'), ('surveillance', 'Surveillance'), ('best_supportive_care', 'Best supportive care'), ('other', 'Other')], max_length=32, verbose_name='category')),
                    ('text', models.TextField(help_text='Markdown.', verbose_name='recommendation')),
                    ('guideline', models.CharField(choices=[('esmo_euracan', 'ESMO–EURACAN'), ('nccn', 'NCCN'), ('national', 'National guideline'), ('institutional', 'Institutional protocol'), ('none', 'None')], default='none', max_length=16, verbose_name='guideline')),
                    ('guideline_reference', models.CharField(blank=True, help_text='Edition and section, e.g. “ESMO–EURACAN 2021, 4.2”.', max_length=200, verbose_name='guideline reference')),
                    ('evidence_level', models.CharField(choices=[('I', 'I — large RCTs or meta-analyses'), ('II', 'II — small or biased RCTs'), ('III', 'III — prospective cohort studies'), ('IV', 'IV — retrospective or case–control studies'), ('V', 'V — no control group, case reports, expert opinion'), ('not_graded', 'Not graded')], default='not_graded', max_length=16, verbose_name='level of evidence')),
                    ('grade', models.CharField(choices=[('A', 'A — strongly recommended'), ('B', 'B — generally recommended'), ('C', 'C — optional'), ('D', 'D — generally not recommended'), ('E', 'E — never recommended'), ('not_graded', 'Not graded')], default='not_graded', max_length=16, verbose_name='grade of recommendation')),
                    ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                    ('version', models.PositiveSmallIntegerField(default=1)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('signed_at', models.DateTimeField(blank=True, null=True)),
                    ('case', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='consensus_versions', to='cases.case')),
                    ('drafted_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('signed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('supersedes', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='superseded_by', to='decisions.consensus')),
                    ('proposal', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='decisions.proposal')),
                ],
                options={
                    'db_table': 'cases_consensus',
                    'verbose_name_plural': 'consensus versions',
                    'ordering': ['case', 'version'],
                },
            ),
            migrations.CreateModel(
                name='Report',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                    ('file', models.FileField(max_length=255, upload_to=decisions.models.report_path)),
                    ('sha256', models.CharField(max_length=64)),
                    ('size', models.PositiveBigIntegerField()),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('consensus', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='report', to='decisions.consensus')),
                ],
                options={
                    'db_table': 'cases_report',
                },
            ),
            migrations.CreateModel(
                name='Vote',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                    ('voter_specialty', models.CharField(choices=[('pathology', 'Pathology'), ('radiology', 'Radiology'), ('medical_oncology', 'Medical oncology'), ('surgical_oncology', 'Surgical oncology'), ('radiation_oncology', 'Radiation oncology'), ('other', 'Other')], max_length=32)),
                    ('comment', models.TextField(blank=True, verbose_name='comment')),
                    ('cast_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('choice', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='decisions.proposal')),
                    ('voter', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'cases_vote',
                    'ordering': ['cast_at'],
                },
            ),
            migrations.CreateModel(
                name='VoteChoice',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('position', models.CharField(choices=[('agree', 'Agree'), ('disagree', 'Disagree'), ('abstain', 'Abstain')], max_length=8)),
                    ('proposal', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='decisions.proposal')),
                    ('vote', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='positions', to='decisions.vote')),
                ],
                options={
                    'db_table': 'cases_votechoice',
                },
            ),
            migrations.CreateModel(
                name='VoteRound',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                    ('number', models.PositiveSmallIntegerField()),
                    ('vote_mode', models.CharField(choices=[('per_proposal', 'Agree / disagree / abstain on each proposal'), ('single_choice', 'Choose one proposal')], max_length=16)),
                    ('consensus_rule', models.CharField(choices=[('unanimity', 'Unanimity of the votes cast'), ('qualified_majority', 'Qualified majority of the votes cast'), ('majority', 'Simple majority (more than half) of the votes cast')], max_length=20)),
                    ('qualified_majority', models.CharField(choices=[('3/5', 'At least three fifths (60%)'), ('2/3', 'At least two thirds (66.7%)'), ('3/4', 'At least three quarters (75%)'), ('4/5', 'At least four fifths (80%)')], max_length=4)),
                    ('tally_visibility', models.CharField(choices=[('hidden', 'Hidden until the vote closes'), ('live', 'Live while voting')], max_length=8)),
                    ('opened_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('deadline', models.DateTimeField(blank=True, null=True, verbose_name='deadline')),
                    ('status', models.CharField(choices=[('open', 'Open'), ('closed', 'Closed')], default='open', max_length=8)),
                    ('closed_at', models.DateTimeField(blank=True, null=True)),
                    ('result', models.CharField(blank=True, choices=[('adopted', 'Proposal adopted'), ('no_consensus', 'No consensus'), ('no_quorum', 'No quorum')], max_length=16)),
                    ('tally', models.JSONField(blank=True, default=dict)),
                    ('case', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='vote_rounds', to='cases.case')),
                    ('closed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('meeting', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='vote_rounds', to='meetings.meeting')),
                    ('opened_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('proposals', models.ManyToManyField(db_table='cases_voteround_proposals', related_name='vote_rounds', to='decisions.proposal')),
                    ('winner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='decisions.proposal')),
                ],
                options={
                    'db_table': 'cases_voteround',
                    'ordering': ['case', 'number'],
                },
            ),
            migrations.AddField(
                model_name='vote',
                name='round',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='votes', to='decisions.voteround'),
            ),
            migrations.AddField(
                model_name='consensus',
                name='round',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='decisions.voteround'),
            ),
            migrations.CreateModel(
                name='ConsensusCosignature',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('signed_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('consensus', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='cosignatures', to='decisions.consensus')),
                    ('signer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'cases_consensuscosignature',
                    'ordering': ['signed_at'],
                    'constraints': [models.UniqueConstraint(fields=('consensus', 'signer'), name='cases_cosign_once')],
                },
            ),
            migrations.AddConstraint(
                model_name='proposal',
                constraint=models.UniqueConstraint(fields=('case', 'number'), name='cases_proposal_number_unique'),
            ),
            migrations.AddConstraint(
                model_name='votechoice',
                constraint=models.UniqueConstraint(fields=('vote', 'proposal'), name='cases_votechoice_one_per_proposal'),
            ),
            migrations.AddConstraint(
                model_name='voteround',
                constraint=models.UniqueConstraint(fields=('case', 'number'), name='cases_voteround_number_unique'),
            ),
            migrations.AddConstraint(
                model_name='voteround',
                constraint=models.UniqueConstraint(condition=models.Q(('status', 'open')), fields=('case',), name='cases_voteround_one_open'),
            ),
            migrations.AddConstraint(
                model_name='voteround',
                constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'open'), ('closed_at__isnull', True), ('result', '')), models.Q(('status', 'closed'), ('closed_at__isnull', False), models.Q(('result', ''), _negated=True)), _connector='OR'), name='cases_voteround_closed_with_result'),
            ),
            migrations.AddConstraint(
                model_name='vote',
                constraint=models.UniqueConstraint(fields=('round', 'voter'), name='cases_vote_one_per_member'),
            ),
            migrations.AddConstraint(
                model_name='consensus',
                constraint=models.UniqueConstraint(fields=('case', 'version'), name='cases_consensus_version_unique'),
            ),
            migrations.AddConstraint(
                model_name='consensus',
                constraint=models.UniqueConstraint(condition=models.Q(('signed_at__isnull', True)), fields=('case',), name='cases_consensus_one_draft'),
            ),
            migrations.AddConstraint(
                model_name='consensus',
                constraint=models.CheckConstraint(condition=models.Q(models.Q(('signed_at__isnull', True), ('signed_by__isnull', True)), models.Q(('signed_at__isnull', False), ('signed_by__isnull', False)), _connector='OR'), name='cases_consensus_signature_complete'),
            ),
            migrations.AddConstraint(
                model_name='consensus',
                constraint=models.CheckConstraint(condition=models.Q(('version__gte', 1)), name='cases_consensus_version_1'),
            ),
                ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
