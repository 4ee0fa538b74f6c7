"""The guideline catalogue (decisions/guidelines.py) replaces the five coarse choices, and a
recommendation records the version of the guideline it cites (NCCN).

Old values map without guessing:
- "esmo_euracan" named a society, not a guideline. ESMO–EURACAN's three sarcoma guidelines
  cover disjoint sets of tumours (soft tissue and visceral sarcomas excluding GIST, which has
  its own, and excluding Ewing and Ewing-like sarcomas, which the bone guideline covers), so
  the case's diagnosis decides which one was meant: a GIST → the GIST guideline (2022); a
  bone sarcoma, an intermediate bone tumour or a small round cell sarcoma → the bone
  guideline (2021); every other case → the soft tissue and visceral sarcoma guideline (2021).
  The diagnosis is the WHO entity (cases 0008); where a case has none, its histotype as
  recorded before WHO coding (bone histotypes, GIST) decides; a case with neither is a soft
  tissue case, the guideline's own default population.
- "nccn" likewise: a bone diagnosis → NCCN Bone Cancer, otherwise NCCN Soft Tissue Sarcoma.
  The version was never recorded; the recommendation says "version not recorded".
- "national", "institutional", "none" keep their keys.

Signed consensus versions are write-once (decisions 0004): their guard is lifted around this
migration and installed again after it. SQLite rebuilds cases_consensus to widen the column
(a copy and DROP TABLE, which takes the triggers with it), and the re-coding of a signed
version's guideline is an UPDATE the guard would refuse. Only the code changes, not what was
signed: the key is re-written to the guideline the old label stood for; reports already
rendered keep their bytes.
"""

from django.db import migrations, models

from board.write_once import Guard, write_once_drop, write_once_install

CONSENSUS_GUARD = [
    Guard(
        name="decisions_consensus_signed_is_final",
        table="cases_consensus",
        condition="OLD.signed_at IS NOT NULL",
        message="a signed consensus never changes",
    ),
]

# cases.clinical.data.who_2020 categories, and the histotypes recorded before WHO coding.
GIST_CATEGORIES = {"gist"}
BONE_CATEGORIES = {"bone", "bone_intermediate", "round_cell"}
GIST_HISTOTYPES = {"gist"}
BONE_HISTOTYPES = {"osteosarcoma", "ewing", "chondrosarcoma", "chordoma", "gctb"}

ESMO = {"gist": "esmo_gist_2022", "bone": "esmo_bone_2021", "soft_tissue": "esmo_sts_2021"}
NCCN = {"gist": "nccn_sts", "bone": "nccn_bone", "soft_tissue": "nccn_sts"}
BACK = {
    "esmo_sts_2021": "esmo_euracan",
    "esmo_gist_2022": "esmo_euracan",
    "esmo_bone_2021": "esmo_euracan",
    "nccn_sts": "nccn",
    "nccn_bone": "nccn",
}
OLD_KEYS = {"esmo_euracan", "nccn", "national", "institutional", "none"}


def tumour_family(entity: str, histotype: str) -> str:
    # The WHO table of the code base, read when the migration runs: an entity key is never
    # removed from it (cases/clinical/data/who_2020.py).
    from cases.clinical import ENTITIES

    known = ENTITIES.get(entity) if entity else None
    if known is not None:
        if known.category in GIST_CATEGORIES:
            return "gist"
        if known.category in BONE_CATEGORIES:
            return "bone"
        return "soft_tissue"
    if histotype in GIST_HISTOTYPES:
        return "gist"
    if histotype in BONE_HISTOTYPES:
        return "bone"
    return "soft_tissue"


def lift_guard(apps, schema_editor):
    write_once_drop(schema_editor, CONSENSUS_GUARD)


def install_guard(apps, schema_editor):
    write_once_install(schema_editor, CONSENSUS_GUARD)


def recode(apps, schema_editor):
    for name in ("Proposal", "Consensus"):
        model = apps.get_model("decisions", name)
        rows = model._base_manager.filter(guideline__in=["esmo_euracan", "nccn"]).values_list(
            "pk", "guideline", "case__entity", "case__histotype"
        )
        for pk, old, entity, histotype in rows:
            table = ESMO if old == "esmo_euracan" else NCCN
            new = table[tumour_family(entity, histotype)]
            model._base_manager.filter(pk=pk).update(guideline=new)


def recode_back(apps, schema_editor):
    """Back to the five old keys: a catalogue row the old list lacks becomes "none", its
    title kept in the reference so that nothing cited is lost."""
    for name in ("Proposal", "Consensus"):
        model = apps.get_model("decisions", name)
        rows = model._base_manager.exclude(guideline__in=OLD_KEYS).values_list(
            "pk", "guideline", "guideline_version", "guideline_reference"
        )
        for pk, new, version, reference in rows:
            if new in BACK:
                old = BACK[new]
                if version:
                    reference = f"{reference} (version {version})".strip()
            else:
                from decisions.guidelines import BY_KEY

                old = "none"
                title = BY_KEY[new].name if new in BY_KEY else new
                reference = f"{title} — {reference}" if reference else title
            model._base_manager.filter(pk=pk).update(guideline=old, guideline_reference=reference[:200])


class Migration(migrations.Migration):

    dependencies = [
        ("decisions", "0005_report_audiences"),
        ("cases", "0008_clinical_record"),
    ]

    operations = [
        migrations.RunPython(lift_guard, install_guard),
        migrations.AddField(
            model_name='consensus',
            name='guideline_version',
            field=models.CharField(blank=True, help_text='NCCN guidelines only: the version followed, e.g. “2.2025”.', max_length=32, verbose_name='guideline version'),
        ),
        migrations.AddField(
            model_name='proposal',
            name='guideline_version',
            field=models.CharField(blank=True, help_text='NCCN guidelines only: the version followed, e.g. “2.2025”.', max_length=32, verbose_name='guideline version'),
        ),
        migrations.AlterField(
            model_name='consensus',
            name='guideline',
            field=models.CharField(choices=[('esmo_sts_2021', 'ESMO–EURACAN–GENTURIS soft tissue and visceral sarcomas (2021)'), ('esmo_gist_2022', 'ESMO–EURACAN–GENTURIS gastrointestinal stromal tumours (2022)'), ('esmo_bone_2021', 'ESMO–EURACAN–GENTURIS–ERN PaedCan bone sarcomas (2021)'), ('nccn_sts', 'NCCN Guidelines: Soft Tissue Sarcoma (version required)'), ('nccn_bone', 'NCCN Guidelines: Bone Cancer (version required)'), ('tarpswg_rps_2015', 'TARPSWG consensus on primary retroperitoneal sarcoma (2015)'), ('tarpswg_rps_2021', 'TARPSWG updated consensus on primary retroperitoneal sarcoma (2021)'), ('desmoid_dtwg_2020', 'Desmoid Tumor Working Group global consensus (2020)'), ('institutional', 'Institutional protocol (reference required)'), ('national', 'National guideline (name and reference required)'), ('none', 'None')], default='none', max_length=32, verbose_name='guideline'),
        ),
        migrations.AlterField(
            model_name='consensus',
            name='guideline_reference',
            field=models.CharField(blank=True, help_text='The section followed, e.g. “4.2”; for an institutional protocol or a national guideline, its name and reference.', max_length=200, verbose_name='guideline reference'),
        ),
        migrations.AlterField(
            model_name='proposal',
            name='guideline',
            field=models.CharField(choices=[('esmo_sts_2021', 'ESMO–EURACAN–GENTURIS soft tissue and visceral sarcomas (2021)'), ('esmo_gist_2022', 'ESMO–EURACAN–GENTURIS gastrointestinal stromal tumours (2022)'), ('esmo_bone_2021', 'ESMO–EURACAN–GENTURIS–ERN PaedCan bone sarcomas (2021)'), ('nccn_sts', 'NCCN Guidelines: Soft Tissue Sarcoma (version required)'), ('nccn_bone', 'NCCN Guidelines: Bone Cancer (version required)'), ('tarpswg_rps_2015', 'TARPSWG consensus on primary retroperitoneal sarcoma (2015)'), ('tarpswg_rps_2021', 'TARPSWG updated consensus on primary retroperitoneal sarcoma (2021)'), ('desmoid_dtwg_2020', 'Desmoid Tumor Working Group global consensus (2020)'), ('institutional', 'Institutional protocol (reference required)'), ('national', 'National guideline (name and reference required)'), ('none', 'None')], default='none', max_length=32, verbose_name='guideline'),
        ),
        migrations.AlterField(
            model_name='proposal',
            name='guideline_reference',
            field=models.CharField(blank=True, help_text='The section followed, e.g. “4.2”; for an institutional protocol or a national guideline, its name and reference.', max_length=200, verbose_name='guideline reference'),
        ),
        migrations.RunPython(recode, recode_back),
        migrations.RunPython(install_guard, lift_guard),
    ]
