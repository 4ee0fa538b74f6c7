"""The clinical record: WHO 2020 entity and ICD-O-3 topography, AJCC site families, grade as
reported, yp staging, GIST inputs, margins, workup, question type, treatment and molecular
rows, and the history of edits.

Existing cases are migrated without guessing: a histotype that names one WHO entity maps to
it; one that names several (well-/dedifferentiated liposarcoma, rhabdomyosarcoma,
osteosarcoma, chondrosarcoma), "other" and "unknown" leave the entity empty and set
`coding_review` with the reason, shown in the admin and on the case page. The site "bone"
(appendicular, pelvis or spine?) and a GIST recorded as "visceral" (which organ?) are flagged
the same way. Margins R0/R1/R2 become the R class; "not resected" the resection status.
"""

import uuid
from decimal import Decimal

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import cases.models

SITE_RENAMED = {"extremity_trunk": "trunk_extremity"}
SITE_REVIEW = {
    "bone": "Site: “bone” was recorded; choose appendicular skeleton/trunk/skull, pelvis or "
    "spine, which AJCC 8 stages differently (ch. 38).",
}
GIST_ORGAN_REVIEW = (
    "Site: this GIST was recorded as “visceral”; choose its organ, which picks the AJCC 8 "
    "table (ch. 43) and the risk classification."
)


def forwards(apps, schema_editor):
    from cases.clinical import map_histotype

    Case = apps.get_model("cases", "Case")
    for case in Case.objects.all().iterator():
        review = []
        if case.histotype:
            mapping = map_histotype(case.histotype)
            if mapping.entity is not None:
                case.entity = mapping.entity.key
            else:
                label = dict(cases.models.Histotype.choices).get(case.histotype, case.histotype)
                review.append(f"Diagnosis: “{label}” was recorded. {mapping.reason}")
        site = SITE_RENAMED.get(case.primary_site, case.primary_site)
        if site in SITE_REVIEW:
            review.append(SITE_REVIEW[site])
            site = ""
        if case.entity == "gist" and site == "visceral":
            review.append(GIST_ORGAN_REVIEW)
            site = ""
        case.primary_site = site
        if case.margins in ("R0", "R1", "R2"):
            case.r_class = case.margins
        elif case.margins == "none":
            case.resection = "not_resected"
        case.coding_review = " ".join(review)
        case.save(
            update_fields=["entity", "primary_site", "r_class", "resection", "coding_review"]
        )


def backwards(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    for case in Case.objects.all().iterator():
        case.primary_site = {v: k for k, v in SITE_RENAMED.items()}.get(
            case.primary_site, case.primary_site
        )
        if case.primary_site not in ("extremity_trunk", "retroperitoneum", "head_neck",
                                     "visceral"):
            case.primary_site = "bone" if case.primary_site.startswith("bone") else ""
        case.margins = case.r_class if case.r_class in ("R0", "R1", "R2") else (
            "none" if case.resection == "not_resected" else ""
        )
        case.save(update_fields=["primary_site", "margins"])


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0007_audit_read_window"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField("case", "histotype_other", "diagnosis_other"),
        migrations.AlterField(
            model_name="case",
            name="diagnosis_other",
            field=models.CharField(
                blank=True, max_length=200, verbose_name="diagnosis, if not in the WHO list"
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="histotype",
            field=models.CharField(
                blank=True,
                choices=cases.models.Histotype.choices,
                editable=False,
                max_length=32,
                verbose_name="histotype recorded before WHO coding",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="entity",
            field=models.CharField(
                blank=True,
                max_length=64,
                validators=[cases.models.validate_entity],
                verbose_name="diagnosis (WHO 2020)",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="coding_review",
            field=models.CharField(
                blank=True,
                help_text=(
                    "Set by migration 0008 where a value recorded before WHO coding named "
                    "more than one entity or site: a person chooses, then clears this."
                ),
                max_length=500,
                verbose_name="coding to review",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="topography",
            field=models.CharField(
                blank=True,
                max_length=8,
                validators=[cases.models.validate_topography],
                verbose_name="primary site (ICD-O-3)",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="laterality",
            field=models.CharField(
                blank=True,
                choices=cases.models.Laterality.choices,
                max_length=16,
                verbose_name="laterality",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="primary_site",
            field=models.CharField(
                blank=True,
                choices=cases.models.PrimarySite.choices,
                max_length=32,
                verbose_name="site family for staging",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="question_type",
            field=models.CharField(
                blank=True,
                choices=cases.models.QuestionType.choices,
                max_length=24,
                verbose_name="type of question",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="disease_setting",
            field=models.CharField(
                blank=True,
                choices=cases.models.Case.Setting.choices,
                max_length=24,
                verbose_name="disease setting",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="radiation_associated",
            field=models.BooleanField(default=False, verbose_name="radiation-associated sarcoma"),
        ),
        migrations.AddField(
            model_name="case",
            name="first_diagnosis_date",
            field=models.DateField(blank=True, null=True, verbose_name="date of first diagnosis"),
        ),
        migrations.AddField(
            model_name="case",
            name="recurrence_date",
            field=models.DateField(blank=True, null=True, verbose_name="date of recurrence"),
        ),
        migrations.AddField(
            model_name="case",
            name="staging_extent",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="What decides T where size does not: cases.clinical.Extent's fields.",
                verbose_name="extent for T",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="nodes",
            field=models.CharField(
                blank=True,
                choices=cases.models.Case.Nodes.choices,
                max_length=16,
                verbose_name="regional nodes (N)",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="metastasis",
            field=models.CharField(
                blank=True,
                choices=cases.models.Case.Metastasis.choices,
                max_length=3,
                verbose_name="distant metastasis (M)",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="neoadjuvant",
            field=models.BooleanField(
                default=False, verbose_name="staged after neoadjuvant treatment (yp)"
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="reported_grade",
            field=models.CharField(
                blank=True,
                choices=cases.models.Case.ReportedGrade.choices,
                max_length=16,
                verbose_name="grade as reported",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="grade_specimen",
            field=models.CharField(
                blank=True,
                choices=cases.models.Case.Specimen.choices,
                max_length=16,
                verbose_name="graded specimen",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="grade_after_neoadjuvant",
            field=models.BooleanField(
                default=False, verbose_name="graded specimen taken after neoadjuvant treatment"
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="viable_tumour_percent",
            field=models.PositiveSmallIntegerField(
                blank=True,
                null=True,
                validators=[django.core.validators.MaxValueValidator(100)],
                verbose_name="viable tumour after neoadjuvant treatment (%)",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="mitoses_per_5mm2",
            field=models.PositiveSmallIntegerField(
                blank=True,
                null=True,
                validators=[django.core.validators.MaxValueValidator(999)],
                verbose_name="mitoses per 5 mm²",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="tumour_rupture",
            field=models.BooleanField(blank=True, null=True, verbose_name="tumour rupture"),
        ),
        migrations.AddField(
            model_name="case",
            name="resection",
            field=models.CharField(
                blank=True,
                choices=cases.models.Case.Resection.choices,
                max_length=16,
                verbose_name="resection",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="r_class",
            field=models.CharField(
                blank=True,
                choices=cases.models.Case.RClass.choices,
                max_length=2,
                verbose_name="residual tumour (R)",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="closest_margin_mm",
            field=models.DecimalField(
                blank=True,
                decimal_places=1,
                max_digits=5,
                null=True,
                validators=[django.core.validators.MinValueValidator(Decimal("0"))],
                verbose_name="closest margin (mm)",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="margin_barrier",
            field=models.CharField(
                blank=True, max_length=200, verbose_name="anatomical barrier at the closest margin"
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="primary_imaging_modality",
            field=models.CharField(
                blank=True,
                choices=cases.models.Case.ImagingModality.choices,
                max_length=2,
                verbose_name="imaging of the primary",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="primary_imaging_date",
            field=models.DateField(blank=True, null=True, verbose_name="date of primary imaging"),
        ),
        migrations.AddField(
            model_name="case",
            name="chest_staging",
            field=models.CharField(
                blank=True,
                choices=cases.models.Case.ChestStaging.choices,
                max_length=16,
                verbose_name="chest staging CT",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="chest_staging_date",
            field=models.DateField(blank=True, null=True, verbose_name="date of chest CT"),
        ),
        migrations.AddField(
            model_name="case",
            name="metastatic_sites",
            field=models.CharField(
                blank=True,
                help_text="e.g. lung, liver, bone",
                max_length=200,
                verbose_name="metastatic sites",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="metastasis_count",
            field=models.PositiveSmallIntegerField(
                blank=True, null=True, verbose_name="number of metastases"
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="molecular_findings",
            field=models.TextField(
                blank=True,
                help_text="Each test is best recorded as its own result below.",
                verbose_name="molecular findings (free text)",
            ),
        ),
        migrations.AddField(
            model_name="case",
            name="slides",
            field=models.CharField(
                blank=True,
                choices=cases.models.Case.Slides.choices,
                max_length=16,
                verbose_name="pathology slides",
            ),
        ),
        migrations.AddConstraint(
            model_name="case",
            constraint=models.CheckConstraint(
                condition=models.Q(viable_tumour_percent__isnull=True)
                | models.Q(viable_tumour_percent__lte=100),
                name="cases_case_viable_0_100",
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="case", name="margins"),
        migrations.CreateModel(
            name="Treatment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("uuid", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ("kind", models.CharField(choices=cases.models.Treatment.Kind.choices, max_length=16, verbose_name="treatment")),
                ("started_on", models.DateField(blank=True, null=True, verbose_name="start date")),
                ("ended_on", models.DateField(blank=True, null=True, verbose_name="end date")),
                ("ongoing", models.BooleanField(default=False, verbose_name="ongoing")),
                ("timing", models.CharField(blank=True, choices=cases.models.Treatment.Timing.choices, max_length=16, verbose_name="timing")),
                ("procedure", models.CharField(blank=True, help_text="e.g. wide local excision", max_length=200, verbose_name="procedure")),
                ("margin", models.CharField(blank=True, choices=cases.models.Case.RClass.choices, max_length=2, verbose_name="margin")),
                ("dose_gy", models.DecimalField(blank=True, decimal_places=1, max_digits=5, null=True, validators=[django.core.validators.MinValueValidator(Decimal("0.1"))], verbose_name="total dose (Gy)")),
                ("fractions", models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="fractions")),
                ("regimen", models.CharField(blank=True, help_text="e.g. doxorubicin + ifosfamide", max_length=200, verbose_name="regimen")),
                ("cycles", models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="cycles")),
                ("response", models.CharField(blank=True, choices=cases.models.Treatment.Response.choices, max_length=2, verbose_name="response")),
                ("notes", models.CharField(blank=True, max_length=300, verbose_name="notes")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("case", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="treatments", to="cases.case")),
            ],
            options={
                "ordering": [models.OrderBy(models.F("started_on"), descending=True, nulls_last=True), "-created_at"],
            },
        ),
        migrations.CreateModel(
            name="MolecularResult",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("uuid", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ("method", models.CharField(choices=cases.models.MolecularResult.Method.choices, max_length=16, verbose_name="test")),
                ("target", models.CharField(help_text="e.g. MDM2 amplification, SS18::SSX, KIT exon 11", max_length=64, verbose_name="target")),
                ("result", models.CharField(choices=cases.models.MolecularResult.Result.choices, max_length=16, verbose_name="result")),
                ("detail", models.CharField(blank=True, max_length=200, verbose_name="detail")),
                ("germline", models.BooleanField(default=False, verbose_name="hereditary (germline)")),
                ("laboratory", models.CharField(blank=True, max_length=200, verbose_name="laboratory")),
                ("reported_on", models.DateField(blank=True, null=True, verbose_name="date")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("case", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="molecular_results", to="cases.case")),
            ],
            options={"ordering": ["germline", "created_at"]},
        ),
        migrations.CreateModel(
            name="ClinicalRevision",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("edited_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("changes", models.JSONField(default=list)),
                ("case", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="clinical_revisions", to="cases.case")),
                ("edited_by", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={"ordering": ["-edited_at", "-pk"]},
        ),
    ]
